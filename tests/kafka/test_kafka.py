"""Kafka source and sink with real processes: `wire-node` against librdkafka's
mock cluster (tests/kafka/kafka_mock.c: 3 brokers speaking the real Kafka
protocol on loopback sockets), read back with Debian's `kcat`.

  python3 tests/kafka/test_kafka.py BUILD/daemon/wire-node BUILD/tests/kafka/kafka_mock

- Kafka -> jq -> Kafka with 500,000 records: `kcat` reads the sink's topic
  and every record is exactly what jq's expression makes of its input
  record (compared as a multiset: no loss, no duplicate, no change);
- `wire-node run` killed with SIGKILL mid-stream and started again resumes
  from the offsets it committed to the consumer group: no record lost;
- the same in a cluster (`wire-node serve`, the offsets in the replicated
  checkpoint): kill -9 of the node mid-stream, restart from its data dir;
- one broker down in the middle of a stream (partitions it leads become
  unreachable) and back: nothing lost on the producing and consuming side;
- a missing topic and unreachable brokers: a clear error, exit status 3,
  no crash; `wire-node validate` reports bad Kafka options with LINE:COL.
"""

import json
import os
import signal
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'integration'))
from cluster import Cluster, CheckFailed, expect, run, wait_until  # noqa: E402

# The mock cluster keeps only the last few MB of each partition (older
# records are deleted as by a retention policy: the log start offset moves
# on), so topics that must hold every record have many partitions and the
# producer keys records by seq to spread them evenly.
KAFKA_MOCK = os.path.abspath(sys.argv[2]) if len(sys.argv) > 2 else None
# A group member that vanished (kill -9) holds its partitions until its
# session times out: keep that short so a restarted consumer gets them soon.
GROUP_PROPS = "properties: {session.timeout.ms: '6000', heartbeat.interval.ms: '500'}"


class Mock:
    """The mock cluster fixture; commands go to its stdin."""

    def __init__(self, topics):
        self.dir = tempfile.mkdtemp(prefix='wire-kafka-', dir='/tmp')
        bs = os.path.join(self.dir, 'bootstrap')
        self.proc = subprocess.Popen([KAFKA_MOCK, bs] + topics, stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
        wait_until(lambda: os.path.exists(bs), 10, 'the mock cluster to start')
        with open(bs) as f:
            self.bootstrap = f.read().strip()

    def command(self, line):
        self.proc.stdin.write((line + '\n').encode())
        self.proc.stdin.flush()
        answer = self.proc.stdout.readline().decode().strip()
        expect(answer == 'ok', 'mock cluster: %s: %s' % (line, answer))

    def close(self):
        self.proc.stdin.close()
        self.proc.wait(10)
        subprocess.run(['rm', '-rf', self.dir])

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def kcat_values(mock, topic):
    """Every value in the topic, read by kcat (-e: stop at the end)."""
    p = subprocess.run(['kcat', '-b', mock.bootstrap, '-C', '-t', topic, '-o', 'beginning',
                        '-e', '-q', '-f', '%s\n'],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=120)
    expect(p.returncode == 0, 'kcat -C -t %s: rc %d: %s' % (topic, p.returncode, p.stderr[-500:]))
    return p.stdout.splitlines()


def write_yaml(d, name, text):
    path = os.path.join(d, name)
    with open(path, 'w') as f:
        f.write(text)
    return path


def wire_run(wire_node, path, timeout=300, expect_rc=0):
    p = subprocess.run([wire_node, 'run', '--quiet', path], stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, timeout=timeout)
    if expect_rc is not None:
        expect(p.returncode == expect_rc, 'wire-node run %s: rc %d (want %d):\n%s' % (
            os.path.basename(path), p.returncode, expect_rc, p.stderr.decode()[-2000:]))
    return p


def produce(wire_node, d, mock, topic, count, rate=0):
    """generator -> kafka sink: records {"seq":N,...} for N in 0..count-1."""
    path = write_yaml(d, 'produce-%s.yaml' % topic,
                      'name: produce-%s\n'
                      'sources: [{id: gen, type: generator, count: %d, rate: %d}]\n'
                      'sinks: [{id: out, type: kafka, inputs: [gen], brokers: "%s", topic: %s, key: .seq}]\n'
                      % (topic, count, rate, mock.bootstrap, topic))
    return path


def seq_counts(values, count):
    seen = bytearray(count)
    for v in values:
        s = json.loads(v)['seq']
        expect(0 <= s < count, 'unexpected record %r' % v)
        if seen[s] < 255:
            seen[s] += 1
    return seen


def test_kafka_jq_kafka_500k(wire_node):
    n = 500000
    with Mock(['in:32', 'out:32']) as mock:
        wire_run(wire_node, produce(wire_node, mock.dir, mock, 'in', n))
        expr = '{seq, who: .user, level: (.level | ascii_upcase), words: (.msg | split(" ") | length)}'
        path = write_yaml(mock.dir, 'k2k.yaml',
                          'name: k2k\n'
                          'sources: [{id: k, type: kafka, brokers: "%s", topics: [in], exit_at_end: true}]\n'
                          "operations: [{id: j, type: jq, inputs: [k], expr: '%s'}]\n"
                          'sinks: [{id: out, type: kafka, inputs: [j], brokers: "%s", topic: out, key: .seq}]\n'
                          % (mock.bootstrap, expr, mock.bootstrap))
        t0 = time.monotonic()
        wire_run(wire_node, path)
        took = time.monotonic() - t0
        src = kcat_values(mock, 'in')
        out = kcat_values(mock, 'out')
        expect(len(src) == n, 'input topic holds %d records, want %d' % (len(src), n))
        expect(len(out) == n, 'kcat read %d records from the sink topic, want %d' % (len(out), n))
        want = {}
        for v in src:
            r = json.loads(v)
            e = json.dumps({'seq': r['seq'], 'who': r['user'], 'level': r['level'].upper(),
                            'words': len(r['msg'].split(' '))}, sort_keys=True)
            want[e] = want.get(e, 0) + 1
        for v in out:
            e = json.dumps(json.loads(v), sort_keys=True)
            c = want.get(e, 0)
            expect(c > 0, 'the sink wrote a record jq would not: %r' % v)
            want[e] = c - 1
        expect(not any(want.values()), 'records missing from the sink topic')
        print('  %d records Kafka -> jq -> Kafka in %.1f s (group join included), '
              'read back by kcat' % (n, took))


def test_run_killed_resumes_from_group_offsets(wire_node):
    n = 150000
    with Mock(['rin:8']) as mock:
        # the topic fills while the pipeline runs, so it is mid-stream
        prod = subprocess.Popen([wire_node, 'run', '--quiet',
                                 produce(wire_node, mock.dir, mock, 'rin', n, rate=15000)],
                                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        out = os.path.join(mock.dir, 'out.ndjson')
        # the first run follows the topic; the second drains it and exits
        text = ('name: resume\n'
                'sources: [{id: k, type: kafka, brokers: "%s", topics: [rin],\n'
                '           group: rg, exit_at_end: %s, %s}]\n'
                "operations: [{id: j, type: jq, inputs: [k], expr: '.seq'}]\n"
                'sinks: [{id: out, type: file, inputs: [j], path: %s}]\n')
        follow = write_yaml(mock.dir, 'follow.yaml',
                            text % (mock.bootstrap, 'false', GROUP_PROPS, out))
        path = write_yaml(mock.dir, 'drain.yaml', text % (mock.bootstrap, 'true', GROUP_PROPS, out))
        p = subprocess.Popen([wire_node, 'run', '--quiet', follow],
                             stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)

        def lines():
            try:
                with open(out, 'rb') as f:
                    return f.read().count(b'\n')
            except FileNotFoundError:
                return 0
        wait_until(lambda: lines() > 20000 or p.poll() is not None, 60, 'records in the sink file')
        if p.poll() is not None:
            raise CheckFailed('the run stopped before it could be killed: %s'
                                 % p.stderr.read().decode(errors='replace'))
        p.send_signal(signal.SIGKILL)
        p.wait()
        before = lines()
        expect(before < n, 'killed too late: %d of %d records were out' % (before, n))
        expect(prod.wait(60) == 0, 'producer failed: %s' % prod.stderr.read()[-500:])
        t0 = time.monotonic()
        wire_run(wire_node, path, timeout=120)
        with open(out, 'rb') as f:
            vals = [int(x) for x in f.read().splitlines() if x]
        seen = bytearray(n)
        for v in vals:
            expect(0 <= v < n, 'unexpected record %r' % v)
            seen[v] = 1
        missing = n - sum(seen)
        expect(missing == 0, '%d records lost after the kill and restart' % missing)
        # at-least-once: what was consumed but not acknowledged comes again,
        # not the whole topic
        expect(len(vals) - n < before, 'the restarted run replayed from the start (%d lines)'
               % len(vals))
        print('  killed after %d records; the restart read from the group offsets '
              '(%d replayed, %.1f s)' % (before, len(vals) - n, time.monotonic() - t0))


def test_cluster_node_killed_resumes_from_checkpoint(wire_node):
    n = 200000
    with Mock(['cin:8']) as mock:
        # the topic fills while the pipeline runs
        prod = subprocess.Popen([wire_node, 'run', '--quiet',
                                 produce(wire_node, mock.dir, mock, 'cin', n, rate=25000)],
                                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        with Cluster(wire_node, 1, extra=['--election-timeout', '300', '--heartbeat-timeout', '50'],
                     name='kafka') as c:
            nd = c.nodes[0]
            body = ('name: kc\n'
                    'sources: [{id: k, type: kafka, brokers: "%s", topics: [cin], group: cg, %s}]\n'
                    "operations: [{id: j, type: jq, inputs: [k], expr: '.seq'}]\n"
                    'sinks: [{id: out, type: file, inputs: [j], path: out.txt}]\n'
                    % (mock.bootstrap, GROUP_PROPS)).encode()
            st, _, data = nd.request('POST', '/pipelines', body, {'Content-Type': 'application/yaml'})
            expect(st == 201, 'POST /pipelines: %s %s' % (st, data))
            outp = os.path.join(nd.work, 'out.txt')

            def lines():
                try:
                    with open(outp, 'rb') as f:
                        return f.read().count(b'\n')
                except FileNotFoundError:
                    return 0
            wait_until(lambda: lines() > 20000, 60, 'records flowing into the sink')
            # the checkpoint holds Kafka offsets
            st, doc = nd.json('GET', '/pipelines/kc')
            expect(st == 200, 'GET /pipelines/kc: %s' % st)
            text = json.dumps(doc)
            expect('cin/' in text, 'no Kafka offsets in the committed positions: %s' % text[:500])
            nd.kill9()
            killed_at = lines()
            nd.start()
            c.wait_ready()
            prod_rc = prod.wait(120)
            expect(prod_rc == 0, 'producer failed: %s' % prod.stderr.read()[-500:])

            def complete():
                with open(outp, 'rb') as f:
                    got = set(int(x) for x in f.read().splitlines() if x)
                return len(got) == n
            wait_until(complete, 120, 'every record in the sink after the restart', interval=0.5)
            with open(outp, 'rb') as f:
                total = sum(1 for x in f.read().splitlines() if x)
            st, doc = nd.json('GET', '/pipelines/kc')
            expect(doc.get('state') == 'running', 'state after restart: %s' % doc.get('state'))
            print('  killed at %d records; resumed from the checkpoint, all %d delivered '
                  '(%d duplicates)' % (killed_at, n, total - n))


def test_broker_down_and_back(wire_node):
    n = 200000
    with Mock(['bin:16', 'bout:16']) as mock:
        # producing side: broker 1 (leader of some partitions) goes away
        p = subprocess.Popen([wire_node, 'run', '--quiet',
                              produce(wire_node, mock.dir, mock, 'bin', n, rate=50000)],
                             stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        time.sleep(1.0)
        mock.command('down 1')
        time.sleep(2.0)
        mock.command('up 1')
        rc = p.wait(120)
        expect(rc == 0, 'producer with a broker down: rc %d: %s' % (rc, p.stderr.read()[-1000:]))
        seen = seq_counts(kcat_values(mock, 'bin'), n)
        expect(all(seen), '%d records missing after broker 1 was down' % seen.count(0))
        # consuming and producing side
        path = write_yaml(mock.dir, 'bk.yaml',
                          'name: bk\n'
                          'sources: [{id: k, type: kafka, brokers: "%s", topics: [bin], exit_at_end: true}]\n'
                          'sinks: [{id: out, type: kafka, inputs: [k], brokers: "%s", topic: bout, key: .seq}]\n'
                          % (mock.bootstrap, mock.bootstrap))
        p = subprocess.Popen([wire_node, 'run', '--quiet', path],
                             stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        time.sleep(3.5)  # the group is joined and records flow
        mock.command('down 2')
        time.sleep(2.0)
        mock.command('up 2')
        rc = p.wait(120)
        expect(rc == 0, 'pipeline with a broker down: rc %d: %s' % (rc, p.stderr.read()[-1000:]))
        seen = seq_counts(kcat_values(mock, 'bout'), n)
        expect(all(seen), '%d records missing after broker 2 was down' % seen.count(0))
        print('  %d records each way, no loss (%d duplicates on the second leg)' % (
            n, sum(seen) - n))


def test_clear_errors(wire_node):
    with Mock(['there:1']) as mock:
        path = write_yaml(mock.dir, 'missing.yaml',
                          'name: missing\n'
                          'sources: [{id: k, type: kafka, brokers: "%s", topics: [not_there]}]\n'
                          'sinks: [{id: out, type: stdout, inputs: [k]}]\n' % mock.bootstrap)
        p = wire_run(wire_node, path, timeout=60, expect_rc=3)
        err = p.stderr.decode()
        expect("topic 'not_there' does not exist on brokers %s" % mock.bootstrap in err,
               'missing topic: %s' % err)
        path = write_yaml(mock.dir, 'down.yaml',
                          'name: down\n'
                          'sources: [{id: g, type: generator, count: 10}]\n'
                          'sinks: [{id: out, type: kafka, inputs: [g], brokers: "127.0.0.1:1",\n'
                          '         topic: there, connect_timeout_ms: 1000}]\n')
        p = wire_run(wire_node, path, timeout=60, expect_rc=3)
        err = p.stderr.decode()
        expect('brokers 127.0.0.1:1 did not answer within 1000 ms' in err,
               'unreachable brokers: %s' % err)
        path = write_yaml(mock.dir, 'bad.yaml',
                          'name: bad\n'
                          'sources:\n'
                          '  - {id: k, type: kafka, brokers: "%s", topics: ["a b"]}\n'
                          'sinks:\n'
                          '  - {id: out, type: kafka, inputs: [k], brokers: "%s", topic: x,\n'
                          '     properties: {linger.ms: "oops"}}\n' % (mock.bootstrap, mock.bootstrap))
        p = subprocess.run([wire_node, 'validate', path], stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, timeout=30)
        out = p.stdout.decode()
        expect(p.returncode == 1, 'validate: rc %d' % p.returncode)
        expect("bad.yaml:3:" in out and "'a b' is not a valid topic name" in out, 'validate: %s' % out)
        expect("bad.yaml:6:" in out and "librdkafka property 'linger.ms'" in out, 'validate: %s' % out)


if __name__ == '__main__':
    if KAFKA_MOCK is None:
        print('usage: test_kafka.py WIRE_NODE KAFKA_MOCK')
        sys.exit(2)
    run([test_clear_errors, test_kafka_jq_kafka_500k, test_run_killed_resumes_from_group_offsets,
         test_cluster_node_killed_resumes_from_checkpoint, test_broker_down_and_back],
        sys.argv[:2])
