/*
 * sync_write: how long a durable 4 KiB log write takes on this disk, in the
 * patterns that matter for libwire's commit latency (bench/README.md).
 *
 *   sync_write [-d DIR] [-n WRITES] [-w WRITERS]
 *
 * Each of WRITERS threads (default: 1, then 3, the nodes of a local
 * cluster sharing one disk) writes WRITES (default 2000) consecutive 4 KiB
 * blocks into a file of its own in DIR (default /tmp), in three modes:
 *
 *   fallocated   O_DIRECT|O_DSYNC into space reserved with posix_fallocate:
 *                what libraft 0.15's uv backend does with its segments.
 *                Each first write into a block converts an unwritten extent,
 *                which costs a journal commit on ext4/xfs.
 *   overwrite    O_DIRECT|O_DSYNC into blocks written (zeroed) beforehand:
 *                what a log that recycles or pre-zeroes segments does.
 *   append       buffered write() at the end of the file + fdatasync():
 *                what redis-server's appendfsync always does.
 *
 * and prints per mode the writes/s of all writers together and the p50/p99
 * latency of one write.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define BLOCK 4096
#define MAX_WRITERS 16

enum mode { FALLOCATED, OVERWRITE, APPEND };
static const char *const mode_names[] = {"fallocated", "overwrite", "append"};

typedef struct job {
  const char *dir;
  int id;
  enum mode mode;
  int n;
  double *lat; /* n latencies, microseconds */
  char err[4200];
} job;

static double now_us(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

/* Create the writer's file and bring it to the state its mode starts from. */
static int prepare(job *j, const char *path) {
  unlink(path);
  int fd = open(path, O_RDWR | O_CREAT | O_EXCL, 0600);
  if (fd < 0) return -1;
  int rc = 0;
  if (j->mode == FALLOCATED) {
    rc = posix_fallocate(fd, 0, (off_t)j->n * BLOCK);
    if (rc) errno = rc;
  } else if (j->mode == OVERWRITE) {
    static const char zero[1 << 16];
    for (off_t off = 0; !rc && off < (off_t)j->n * BLOCK; off += sizeof zero)
      rc = pwrite(fd, zero, sizeof zero, off) == (ssize_t)sizeof zero ? 0 : -1;
  }
  if (!rc) rc = fsync(fd);
  int e = errno;
  close(fd);
  errno = e;
  return rc ? -1 : 0;
}

static void *writer(void *arg) {
  job *j = arg;
  char path[4096];
  snprintf(path, sizeof path, "%s/sync_write.%d.%d", j->dir, (int)getpid(),
           j->id);
  void *buf = NULL;
  int fd = -1;
  if (prepare(j, path)) {
    snprintf(j->err, sizeof j->err, "prepare %s: %s", path, strerror(errno));
    goto out;
  }
  int flags = j->mode == APPEND ? O_WRONLY | O_APPEND
                                : O_WRONLY | O_DIRECT | O_DSYNC;
  fd = open(path, flags);
  if (fd < 0) {
    snprintf(j->err, sizeof j->err, "open %s%s: %s", path,
             j->mode == APPEND ? "" : " with O_DIRECT", strerror(errno));
    goto out;
  }
  if (posix_memalign(&buf, BLOCK, BLOCK)) {
    snprintf(j->err, sizeof j->err, "out of memory");
    goto out;
  }
  memset(buf, 'x', BLOCK);
  for (int i = 0; i < j->n; i++) {
    double t0 = now_us();
    ssize_t w = j->mode == APPEND ? write(fd, buf, BLOCK)
                                  : pwrite(fd, buf, BLOCK, (off_t)i * BLOCK);
    if (w != BLOCK || (j->mode == APPEND && fdatasync(fd))) {
      snprintf(j->err, sizeof j->err, "write %s: %s", path,
               w < 0 ? strerror(errno) : "short write");
      goto out;
    }
    j->lat[i] = now_us() - t0;
  }
out:
  if (fd >= 0) close(fd);
  unlink(path);
  free(buf);
  return NULL;
}

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

static int run(const char *dir, enum mode mode, int writers, int n) {
  static job jobs[MAX_WRITERS];
  pthread_t th[MAX_WRITERS];
  double *all = calloc((size_t)writers * (size_t)n, sizeof *all);
  if (!all) return -1;
  for (int i = 0; i < writers; i++) {
    jobs[i] = (job){.dir = dir, .id = i, .mode = mode, .n = n,
                    .lat = all + (size_t)i * (size_t)n};
  }
  double t0 = now_us();
  int started = 0;
  for (; started < writers; started++) {
    int e = pthread_create(&th[started], NULL, writer, &jobs[started]);
    if (e) {
      snprintf(jobs[started].err, sizeof jobs[started].err,
               "pthread_create: %s", strerror(e));
      break;
    }
  }
  for (int i = 0; i < started; i++) pthread_join(th[i], NULL);
  double el = now_us() - t0;
  for (int i = 0; i < writers; i++) {
    if (jobs[i].err[0]) {
      fprintf(stderr, "sync_write: %s: %s\n", mode_names[mode], jobs[i].err);
      free(all);
      return -1;
    }
  }
  size_t total = (size_t)writers * (size_t)n;
  qsort(all, total, sizeof *all, cmp_double);
  printf("| %s | %d | %.0f | %.0f | %.0f |\n", mode_names[mode], writers,
         (double)total / (el / 1e6), all[total / 2], all[total * 99 / 100]);
  free(all);
  return 0;
}

int main(int argc, char **argv) {
  const char *dir = "/tmp";
  int n = 2000, writers = 0, c;
  while ((c = getopt(argc, argv, "d:n:w:h")) != -1) {
    switch (c) {
      case 'd': dir = optarg; break;
      case 'n': n = atoi(optarg); break;
      case 'w': writers = atoi(optarg); break;
      default:
        fprintf(stderr, "usage: %s [-d DIR] [-n WRITES] [-w WRITERS]\n",
                argv[0]);
        return c == 'h' ? 0 : 2;
    }
  }
  if (n < 1 || writers < 0 || writers > MAX_WRITERS) {
    fprintf(stderr, "sync_write: -n must be >= 1, -w between 1 and %d\n",
            MAX_WRITERS);
    return 2;
  }
  printf("4 KiB durable writes in %s, %d per writer\n\n", dir, n);
  printf("| mode | writers | writes/s (all) | p50 us | p99 us |\n");
  printf("|---|---:|---:|---:|---:|\n");
  int counts[2] = {1, 3}, nc = 2;
  if (writers) counts[0] = writers, nc = 1;
  int rc = 0;
  for (int k = 0; k < nc; k++)
    for (int m = FALLOCATED; m <= APPEND; m++)
      if (run(dir, (enum mode)m, counts[k], n)) rc = 1;
  return rc;
}
