/*
 * kafka_mock: a Kafka cluster for the tests, librdkafka's mock cluster
 * (rdkafka_mock.h) serving the real protocol on loopback sockets.
 *
 *   kafka_mock BOOTSTRAP_FILE [TOPIC[:PARTITIONS]]...
 *
 * Starts 3 brokers (ids 1..3), creates the topics (default 4 partitions,
 * replication factor 3), then writes the bootstrap list ("127.0.0.1:N,...")
 * to BOOTSTRAP_FILE (written to a temporary name and renamed, so a reader
 * polling for the file never sees half of it).  The ports are random in
 * librdkafka 2.0.2, hence the file.
 *
 * Control channel: one command per line on stdin, each answered by one line
 * on stdout ("ok" or "error: ..."):
 *   down N          rd_kafka_mock_broker_set_down(N)
 *   up N            rd_kafka_mock_broker_set_up(N)
 *   topic NAME P    create a topic with P partitions
 *   leader T P N    make broker N the leader of partition P of topic T
 * It exits on SIGTERM/SIGINT or when stdin reaches its end (so a test that
 * dies does not leave a cluster behind).  Data lives in memory only.
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

static volatile sig_atomic_t stop;

static void on_signal(int sig) {
  (void)sig;
  stop = 1;
}

static int create_topic(rd_kafka_mock_cluster_t *mc, const char *spec) {
  char name[256];
  int parts = 4;
  const char *colon = strchr(spec, ':');
  size_t n = colon ? (size_t)(colon - spec) : strlen(spec);
  if (n == 0 || n >= sizeof name) return -1;
  memcpy(name, spec, n);
  name[n] = '\0';
  if (colon) parts = atoi(colon + 1);
  if (parts <= 0) return -1;
  rd_kafka_resp_err_t err = rd_kafka_mock_topic_create(mc, name, parts, 3);
  if (err) {
    fprintf(stderr, "kafka_mock: topic %s: %s\n", name, rd_kafka_err2str(err));
    return -1;
  }
  return 0;
}

static void command(rd_kafka_mock_cluster_t *mc, char *line) {
  char a[256] = "", b[300] = "";
  int n = 0, p = 0;
  rd_kafka_resp_err_t err = RD_KAFKA_RESP_ERR_NO_ERROR;
  if (sscanf(line, "down %d", &n) == 1) {
    err = rd_kafka_mock_broker_set_down(mc, n);
  } else if (sscanf(line, "up %d", &n) == 1) {
    err = rd_kafka_mock_broker_set_up(mc, n);
  } else if (sscanf(line, "topic %255s %d", a, &p) == 2) {
    snprintf(b, sizeof b, "%s:%d", a, p);
    if (create_topic(mc, b) != 0) {
      printf("error: cannot create topic %s\n", a);
      return;
    }
  } else if (sscanf(line, "leader %255s %d %d", a, &p, &n) == 3) {
    err = rd_kafka_mock_partition_set_leader(mc, a, p, n);
  } else {
    printf("error: unknown command\n");
    return;
  }
  if (err)
    printf("error: %s\n", rd_kafka_err2str(err));
  else
    printf("ok\n");
}

int main(int argc, char **argv) {
  if (argc < 2) {
    fprintf(stderr, "usage: kafka_mock BOOTSTRAP_FILE [TOPIC[:PARTITIONS]]...\n");
    return 2;
  }
  setvbuf(stdout, NULL, _IOLBF, 0);
  char errstr[512];
  rd_kafka_conf_t *conf = rd_kafka_conf_new();
  rd_kafka_conf_set(conf, "log_level", "3", errstr, sizeof errstr);
  rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof errstr);
  if (!rk) {
    fprintf(stderr, "kafka_mock: rd_kafka_new: %s\n", errstr);
    return 1;
  }
  rd_kafka_mock_cluster_t *mc = rd_kafka_mock_cluster_new(rk, 3);
  if (!mc) {
    fprintf(stderr, "kafka_mock: cannot create the mock cluster\n");
    return 1;
  }
  for (int i = 2; i < argc; i++)
    if (create_topic(mc, argv[i]) != 0) return 1;
  const char *bs = rd_kafka_mock_cluster_bootstraps(mc);
  char tmp[4096];
  snprintf(tmp, sizeof tmp, "%s.tmp", argv[1]);
  FILE *f = fopen(tmp, "w");
  if (!f || fprintf(f, "%s\n", bs) < 0 || fclose(f) != 0 ||
      rename(tmp, argv[1]) != 0) {
    fprintf(stderr, "kafka_mock: write %s: %s\n", argv[1], strerror(errno));
    return 1;
  }
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_signal;
  sigaction(SIGTERM, &sa, NULL);
  sigaction(SIGINT, &sa, NULL);
  signal(SIGPIPE, SIG_IGN);
  char line[1024];
  size_t len = 0;
  while (!stop) {
    struct pollfd pfd = {.fd = 0, .events = POLLIN};
    int r = poll(&pfd, 1, 200);
    if (r < 0 && errno != EINTR) break;
    if (r <= 0) continue;
    ssize_t k = read(0, line + len, sizeof line - 1 - len);
    if (k <= 0) break; /* the test is gone */
    len += (size_t)k;
    line[len] = '\0';
    char *nl;
    while ((nl = strchr(line, '\n'))) {
      *nl = '\0';
      command(mc, line);
      size_t used = (size_t)(nl + 1 - line);
      memmove(line, nl + 1, len - used + 1);
      len -= used;
    }
    if (len == sizeof line - 1) len = 0; /* overlong garbage */
  }
  rd_kafka_mock_cluster_destroy(mc);
  rd_kafka_destroy(rk);
  return 0;
}
