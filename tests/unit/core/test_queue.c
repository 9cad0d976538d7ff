/* Unit tests of the bounded blocking queue (lib/core/queue.c): ordering,
 * blocking when full (backpressure), close semantics, and many producers. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <pthread.h>

#include <cmocka.h>

#include "core/core.h"

static void test_fifo_and_timeout(void **state) {
  (void)state;
  core_queue q;
  assert_int_equal(core_queue_init(&q, 4), 0);
  for (uintptr_t i = 1; i <= 4; i++) assert_int_equal(core_queue_push(&q, (void *)i), 0);
  assert_int_equal(core_queue_len(&q), 4);
  void *item;
  for (uintptr_t i = 1; i <= 4; i++) {
    assert_int_equal(core_queue_pop(&q, &item, 0), 0);
    assert_int_equal((uintptr_t)item, i);
  }
  assert_int_equal(core_queue_pop(&q, &item, 20), WIRE_ETIMEDOUT);
  core_queue_destroy(&q);
}

static void test_close_drains(void **state) {
  (void)state;
  core_queue q;
  core_queue_init(&q, 2);
  core_queue_push(&q, (void *)1);
  core_queue_close(&q);
  assert_int_equal(core_queue_push(&q, (void *)2), WIRE_ESHUTDOWN);
  void *item;
  assert_int_equal(core_queue_pop(&q, &item, -1), 0);
  assert_int_equal((uintptr_t)item, 1);
  assert_int_equal(core_queue_pop(&q, &item, -1), WIRE_EOF);
  core_queue_destroy(&q);
}

typedef struct prod {
  core_queue *q;
  uintptr_t base;
} prod;

static void *producer(void *arg) {
  prod *p = arg;
  for (uintptr_t i = 0; i < 10000; i++) core_queue_push(p->q, (void *)(p->base + i + 1));
  return NULL;
}

static void test_backpressure_many_producers(void **state) {
  (void)state;
  core_queue q;
  core_queue_init(&q, 3);
  pthread_t t[4];
  prod args[4];
  for (int i = 0; i < 4; i++) {
    args[i] = (prod){&q, (uintptr_t)i * 1000000};
    pthread_create(&t[i], NULL, producer, &args[i]);
  }
  uintptr_t last[4] = {0};
  size_t got = 0;
  void *item;
  while (got < 40000) {
    assert_int_equal(core_queue_pop(&q, &item, 5000), 0);
    assert_true(core_queue_len(&q) <= 3); /* never above capacity */
    uintptr_t v = (uintptr_t)item;
    int k = (int)((v - 1) / 1000000);
    assert_true(v > last[k]); /* per-producer order kept */
    last[k] = v;
    got++;
  }
  for (int i = 0; i < 4; i++) pthread_join(t[i], NULL);
  assert_true(q.push_waits > 0); /* producers did block on the full queue */
  core_queue_destroy(&q);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_fifo_and_timeout),
      cmocka_unit_test(test_close_drains),
      cmocka_unit_test(test_backpressure_many_producers),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
