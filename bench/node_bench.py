#!/usr/bin/env python3
"""Replicated key-value benchmark: 3 wire-node processes on loopback.

    python3 bench/node_bench.py [--build BUILD] [--clients 64] [--seconds 5]
                                [--nodes 3] [--value-size 100] [--load-threads 1]

Starts a cluster (tests/integration/cluster.py: node 1 bootstraps, the others
join), then drives it with BUILD/bench/kv_load (closed-loop HTTP clients on
keep-alive connections, driven by --load-threads epoll loops):

  1. durable replicated writes: PUT to the leader, each acknowledged only
     once the entry is committed by a majority (fsync'd on each of them);
  2. the same PUTs spread over all nodes (followers forward to the leader);
  3. linearizable reads: GET on the leader (a raft barrier per group of
     reads confirms leadership);

and prints ops/s and p50/p99 latency of each, plus the group commit ratio
(commands per raft entry) read from /status.
"""

import argparse
import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(ROOT, 'tests', 'integration'))
from cluster import Cluster  # noqa: E402


def run_load(kv_load, ports, op, args):
    cmd = [kv_load, '--port', ','.join(str(p) for p in ports), '--op', op,
           '--clients', str(args.clients), '--threads', str(args.load_threads),
           '--seconds', str(args.seconds),
           '--value-size', str(args.value_size), '--keys', str(args.keys)]
    out = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if out.returncode:
        sys.exit('kv_load failed: %s %s' % (out.stdout, out.stderr))
    fields = dict(kv.split('=', 1) for kv in out.stdout.split())
    return fields


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--build', default=os.path.join(ROOT, 'build-bench'))
    ap.add_argument('--clients', type=int, default=64)
    ap.add_argument('--seconds', type=float, default=5)
    ap.add_argument('--nodes', type=int, default=3)
    ap.add_argument('--load-threads', type=int, default=1,
                    help='epoll threads of kv_load driving the clients')
    ap.add_argument('--value-size', type=int, default=100)
    ap.add_argument('--keys', type=int, default=100,
                    help='keys per client (each PUT row writes them all, so GETs find them)')
    args = ap.parse_args()
    wire_node = os.path.abspath(os.path.join(args.build, 'daemon', 'wire-node'))
    kv_load = os.path.abspath(os.path.join(args.build, 'bench', 'kv_load'))
    for p in (wire_node, kv_load):
        if not os.access(p, os.X_OK):
            sys.exit('%s missing: build first (meson setup %s --buildtype=release && ninja -C %s)'
                     % (p, args.build, args.build))
    print('command: %s' % ' '.join([sys.executable] + sys.argv))
    with Cluster(wire_node, args.nodes, extra=['--log-level', 'warn'], name='bench') as c:
        lead = c.leader()
        rows = []
        s0 = lead.status()['stats']
        r = run_load(kv_load, [lead.http_port], 'put', args)
        s1 = lead.status()['stats']
        ratio = (s1['commands'] - s0['commands']) / max(1, s1['entries'] - s0['entries'])
        rows.append(('PUT via leader (durable, replicated)', r, '%.1f cmds/entry' % ratio))
        r = run_load(kv_load, [nd.http_port for nd in c.running()], 'put', args)
        rows.append(('PUT spread over all nodes (forwarded)', r, ''))
        r = run_load(kv_load, [lead.http_port], 'get', args)
        rows.append(('GET linearizable via leader', r, ''))
        print('%d nodes, %d clients, %s s per row, values of %d bytes' % (
            args.nodes, args.clients, args.seconds, args.value_size))
        print('| workload | ops/s | p50 ms | p99 ms | max ms | errors | note |')
        print('|---|---:|---:|---:|---:|---:|---|')
        for name, f, note in rows:
            print('| %s | %s | %s | %s | %s | %s | %s |' % (
                name, f['ops_per_s'], f['p50_ms'], f['p99_ms'], f['max_ms'], f['errors'], note))


if __name__ == '__main__':
    main()
