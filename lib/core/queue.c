/*
 * Bounded blocking queue between pipeline stages.  Its capacity is what
 * bounds memory: a producer that finds the queue full blocks, which is how a
 * slow sink slows its source down (backpressure).  Items are batches, so a
 * mutex per push/pop costs little per record.
 */
#include <errno.h>
#include <time.h>

#include "core.h"

int core_queue_init(core_queue *q, size_t cap) {
  if (cap == 0) return WIRE_EINVAL;
  q->slots = core_calloc(cap, sizeof *q->slots);
  if (!q->slots) return WIRE_ENOMEM;
  q->cap = cap;
  q->head = q->len = 0;
  q->closed = false;
  q->push_waits = 0;
  pthread_mutex_init(&q->mu, NULL);
  pthread_condattr_t ca;
  pthread_condattr_init(&ca);
  pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
  pthread_cond_init(&q->not_empty, &ca);
  pthread_cond_init(&q->not_full, &ca);
  pthread_condattr_destroy(&ca);
  return WIRE_OK;
}

void core_queue_destroy(core_queue *q) {
  if (!q->slots) return;
  pthread_mutex_destroy(&q->mu);
  pthread_cond_destroy(&q->not_empty);
  pthread_cond_destroy(&q->not_full);
  core_free(q->slots);
  q->slots = NULL;
}

int core_queue_push(core_queue *q, void *item) {
  pthread_mutex_lock(&q->mu);
  if (q->len == q->cap && !q->closed) q->push_waits++;
  while (q->len == q->cap && !q->closed) pthread_cond_wait(&q->not_full, &q->mu);
  if (q->closed) {
    pthread_mutex_unlock(&q->mu);
    return WIRE_ESHUTDOWN;
  }
  q->slots[(q->head + q->len) % q->cap] = item;
  q->len++;
  pthread_cond_signal(&q->not_empty);
  pthread_mutex_unlock(&q->mu);
  return WIRE_OK;
}

static void deadline_after(struct timespec *ts, int ms) {
  clock_gettime(CLOCK_MONOTONIC, ts);
  ts->tv_sec += ms / 1000;
  ts->tv_nsec += (long)(ms % 1000) * 1000000L;
  if (ts->tv_nsec >= 1000000000L) {
    ts->tv_sec++;
    ts->tv_nsec -= 1000000000L;
  }
}

int core_queue_pop(core_queue *q, void **item, int timeout_ms) {
  struct timespec deadline;
  if (timeout_ms >= 0) deadline_after(&deadline, timeout_ms);
  pthread_mutex_lock(&q->mu);
  while (q->len == 0 && !q->closed) {
    if (timeout_ms < 0) {
      pthread_cond_wait(&q->not_empty, &q->mu);
    } else if (pthread_cond_timedwait(&q->not_empty, &q->mu, &deadline) ==
               ETIMEDOUT) {
      if (q->len) break;
      pthread_mutex_unlock(&q->mu);
      return WIRE_ETIMEDOUT;
    }
  }
  if (q->len == 0) { /* closed and drained */
    pthread_mutex_unlock(&q->mu);
    return WIRE_EOF;
  }
  *item = q->slots[q->head];
  q->head = (q->head + 1) % q->cap;
  q->len--;
  pthread_cond_signal(&q->not_full);
  pthread_mutex_unlock(&q->mu);
  return WIRE_OK;
}

void core_queue_close(core_queue *q) {
  pthread_mutex_lock(&q->mu);
  q->closed = true;
  pthread_cond_broadcast(&q->not_empty);
  pthread_cond_broadcast(&q->not_full);
  pthread_mutex_unlock(&q->mu);
}

size_t core_queue_len(core_queue *q) {
  pthread_mutex_lock(&q->mu);
  size_t n = q->len;
  pthread_mutex_unlock(&q->mu);
  return n;
}
