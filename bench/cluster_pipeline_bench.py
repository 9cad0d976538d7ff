#!/usr/bin/env python3
"""Pipelines run by a cluster: checkpoint cost and failover time.

  python3 bench/cluster_pipeline_bench.py --build build-bench
  python3 bench/cluster_pipeline_bench.py --build build --records 1000000 --kills 5

Starts real `wire-node serve` processes on 127.0.0.1 (the integration test
harness, tests/integration/cluster.py) and prints:

1. records/s of generator(N) -> jq '.seq' -> file, run by the leader of a
   3-node cluster, with checkpointing off (checkpoint-interval 0 and
   checkpoint-records 0: positions are committed only at the end), on (the
   defaults: every 1000 ms or 100,000 records) and on with a 100 ms
   interval, and with the exactly_once file sink.  The rate is the sink's
   records over the pipeline's elapsed time (start to last flush), best of
   --runs.
2. the time from kill -9 of the leader to records flowing again (a sink
   file growing on another node), --kills times, and the median.
"""

import argparse
import os
import random
import statistics
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, '..', 'tests', 'integration'))
from cluster import Cluster, wait_until  # noqa: E402

FAST = ['--election-timeout', '300', '--heartbeat-timeout', '50']


def definition(name, count, rate=0, exactly_once=False):
    gen = '{id: gen, type: generator, count: %d%s}' % (
        count, ', rate: %d' % rate if rate else '')
    return ('name: %s\nsources:\n  - %s\n'
            "operations:\n  - {id: j, type: jq, inputs: [gen], expr: '.seq'}\n"
            'sinks:\n  - {id: out, type: file, inputs: [j], path: out-%s.txt, '
            'exactly_once: %s}\n'
            % (name, gen, name, 'true' if exactly_once else 'false')).encode()


def run_once(c, name, count, exactly_once):
    lead = c.leader()
    st, _, data = lead.request('POST', '/pipelines', definition(name, count, 0, exactly_once))
    if st != 201:
        raise SystemExit('submit: %s %s' % (st, data))

    def done():
        st, doc = lead.json('GET', '/pipelines/' + name)
        rt = doc.get('runtime') or {}
        if doc.get('state') == 'failed':
            raise SystemExit('pipeline failed: %s' % doc.get('error'))
        return rt if rt.get('finished') else None
    rt = wait_until(done, 600, 'pipeline %s' % name, interval=0.05)
    sink = next(n for n in rt['nodes'] if n['id'] == 'out')
    if sink['out'] != count:
        raise SystemExit('%s: sink acknowledged %d of %d' % (name, sink['out'], count))
    lead.request('DELETE', '/pipelines/' + name)
    try:
        os.unlink(os.path.join(lead.work, 'out-%s.txt' % name))
    except OSError:
        pass
    return sink['rate'], rt['checkpoints']


def throughput(wire_node, records, runs):
    cases = [
        ('off', ['--checkpoint-interval', '0', '--checkpoint-records', '0'], False),
        ('on (1000 ms / 100k records)', [], False),
        ('on (100 ms)', ['--checkpoint-interval', '100'], False),
        ('on, exactly_once sink', [], True),
    ]
    print('generator(%d) -> jq .seq -> file on the leader of 3 nodes, best of %d'
          % (records, runs))
    print('  %-30s %14s %12s' % ('checkpointing', 'records/s', 'checkpoints'))
    base = None
    for label, extra, eo in cases:
        with Cluster(wire_node, 3, extra=FAST + extra, name='bench-ckpt') as c:
            best, ck = 0, 0
            for i in range(runs):
                rate, n = run_once(c, 'b%d' % i, records, eo)
                if rate > best:
                    best, ck = rate, n
        base = base or best
        print('  %-30s %14.0f %12d   %.2f x off' % (label, best, ck, best / base))


def failover(wire_node, kills):
    print('kill -9 of the leader mid-stream -> records flowing again (3 nodes)')
    times = []
    with Cluster(wire_node, 3, extra=FAST, name='bench-failover') as c:
        lead = c.leader()
        st, _, data = lead.request('POST', '/pipelines',
                                   definition('f', 10**9, 200000))
        if st != 201:
            raise SystemExit('submit: %s %s' % (st, data))
        for k in range(kills):
            lead = c.leader()
            path = lambda nd: os.path.join(nd.work, 'out-f.txt')  # noqa: E731
            size = lambda nd: os.path.getsize(path(nd)) if os.path.exists(path(nd)) else 0  # noqa: E731
            wait_until(lambda: size(lead) > 0, 20, 'the leader to write')
            time.sleep(random.uniform(0.5, 1.5))
            sizes = {nd.id: size(nd) for nd in c.running() if nd is not lead}
            t0 = time.monotonic()
            lead.kill9()

            def flowing():
                for nd in c.running():
                    now = size(nd)
                    grew = now > sizes[nd.id]
                    sizes[nd.id] = now
                    if grew:
                        return True
                return False
            wait_until(flowing, 30, 'records to flow again', interval=0.005)
            dt = time.monotonic() - t0
            times.append(dt)
            print('  kill %d: node %d killed, records flowing again after %.3f s'
                  % (k + 1, lead.id, dt))
            lead.start()
            c.wait_ready()
    print('  median of %d: %.3f s' % (kills, statistics.median(times)))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--build', default='build-bench')
    ap.add_argument('--records', type=int, default=2000000)
    ap.add_argument('--runs', type=int, default=2)
    ap.add_argument('--kills', type=int, default=5)
    a = ap.parse_args()
    wire_node = os.path.abspath(os.path.join(a.build, 'daemon', 'wire-node'))
    if not os.path.exists(wire_node):
        raise SystemExit('%s missing: meson setup %s --buildtype=release && ninja -C %s'
                         % (wire_node, a.build, a.build))
    throughput(wire_node, a.records, a.runs)
    failover(wire_node, a.kills)


if __name__ == '__main__':
    main()
