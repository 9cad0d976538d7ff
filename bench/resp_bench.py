#!/usr/bin/env python3
"""RESP front end against Redis: redis-benchmark on a 3-node libwire cluster
and on a durable redis-server, in the same run.

  python3 bench/resp_bench.py [--build DIR] [-n 200000] [-c 50] [--nodes 3]
                              [--keyspace N] [--data-dir DIR] [--cpu]

Starts `--nodes` `wire-node serve --resp` processes on loopback (node 1
bootstraps, the others join; the benchmark talks to the leader) and
`redis-server --port P --bind 127.0.0.1 --save '' --appendonly yes
--appendfsync always --dir TMP` as the baseline, then runs
`redis-benchmark -t set,get,incr -n N -c C` with and without `-P 16`
against both and prints a Markdown table (requests/s) with the ratios.

Without --build it sets up build-resp-bench (release, no tests) once and
builds daemon/wire-node there.

--data-dir puts the nodes' data (raft log, RocksDB) there instead of /tmp:
`--data-dir /dev/shm` (tmpfs: writes are not durable) shows what the
cluster could do if the disk cost nothing, an upper bound for any work on
the storage path.  --cpu then runs `-t set` once more against each server
while sampling the CPU time of every server process and of redis-benchmark
(/proc), and prints CPU microseconds per SET and how idle the machine was.
"""

import argparse
import glob
import resource
import os
import platform
import shutil
import socket
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(ROOT, 'tests', 'integration'))
from cluster import Cluster, free_port, wait_until  # noqa: E402


class RespCluster(Cluster):
    def add_node(self, bootstrap=False, extra=None):
        port = free_port()
        nd = super().add_node(bootstrap, ['--resp', '127.0.0.1:%d' % port] +
                              list(extra or []))
        nd.resp_port = port
        return nd


def sh(args, **kw):
    return subprocess.run(args, check=True, **kw)


def build(dirname):
    path = os.path.join(ROOT, dirname)
    if not os.path.exists(os.path.join(path, 'build.ninja')):
        sh(['meson', 'setup', path, '--buildtype=release', '-Dtests=false'], cwd=ROOT)
    sh(['ninja', '-C', path, 'daemon/wire-node'], stdout=subprocess.DEVNULL)
    return os.path.join(path, 'daemon', 'wire-node')


def ping(port):
    try:
        with socket.create_connection(('127.0.0.1', port), timeout=1) as s:
            s.sendall(b'PING\r\n')
            return s.recv(16).startswith(b'+PONG')
    except OSError:
        return False


def wait_writable(port):
    """The leader accepts writes over RESP once its address is published."""
    def ok():
        with socket.create_connection(('127.0.0.1', port), timeout=2) as s:
            s.sendall(b'SET __bench_probe 1\r\n')
            return s.recv(64).startswith(b'+OK')
    wait_until(ok, 20, 'the leader to accept RESP writes')


def bench(port, n, c, pipeline, keyspace):
    args = ['redis-benchmark', '-h', '127.0.0.1', '-p', str(port), '-t', 'set,get,incr',
            '-n', str(n), '-c', str(c), '--csv']
    if keyspace:
        args += ['-r', str(keyspace)]
    if pipeline > 1:
        args += ['-P', str(pipeline)]
    out = subprocess.run(args, check=True, capture_output=True, text=True).stdout
    rps = {}
    for line in out.splitlines():
        f = [x.strip('"') for x in line.split(',')]
        if len(f) >= 2 and f[0] in ('SET', 'GET', 'INCR'):
            rps[f[0]] = float(f[1])
    if len(rps) != 3:
        raise SystemExit('unexpected redis-benchmark output:\n' + out)
    return rps


def cpu_ticks(pid):
    """User+system clock ticks of all of pid's threads so far."""
    t = 0
    for d in glob.glob('/proc/%d/task/*' % pid):
        try:
            with open(d + '/stat') as f:
                fields = f.read().rsplit(')', 1)[1].split()
            t += int(fields[11]) + int(fields[12])
        except (OSError, IndexError, ValueError):
            pass  # a thread that exited meanwhile
    return t


def machine_idle():
    with open('/proc/stat') as f:
        v = [int(x) for x in f.readline().split()[1:]]
    return v[3] + v[4], sum(v)  # idle + iowait, all


def cpu_run(port, n, c, pids):
    """redis-benchmark -t set against port; CPU us per SET of each pid and
    of the benchmark, and the machine's idle share."""
    hz = os.sysconf('SC_CLK_TCK')
    before = {k: cpu_ticks(p) for k, p in pids.items()}
    ru0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    i0, a0 = machine_idle()
    out = subprocess.run(['redis-benchmark', '-h', '127.0.0.1', '-p', str(port), '-t', 'set',
                          '-n', str(n), '-c', str(c), '--csv'],
                         check=True, capture_output=True, text=True).stdout
    i1, a1 = machine_idle()
    ru1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    rps = None
    for line in out.splitlines():
        f = [x.strip('"') for x in line.split(',')]
        if len(f) >= 2 and f[0] == 'SET':
            rps = float(f[1])
    if rps is None:
        raise SystemExit('unexpected redis-benchmark output:\n' + out)
    us = {k: (cpu_ticks(p) - before[k]) * 1e6 / hz / n for k, p in pids.items()}
    us['redis-benchmark'] = ((ru1.ru_utime - ru0.ru_utime) +
                             (ru1.ru_stime - ru0.ru_stime)) * 1e6 / n
    return rps, us, 100.0 * (i1 - i0) / max(1, a1 - a0)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--build', help='existing build dir (default: build-resp-bench, release)')
    ap.add_argument('-n', type=int, default=200000)
    ap.add_argument('-c', type=int, default=50)
    ap.add_argument('--nodes', type=int, default=3)
    ap.add_argument('--pipeline', type=int, default=16)
    ap.add_argument('--keyspace', type=int, default=0,
                    help='redis-benchmark -r N (random keys; default: one key per test)')
    ap.add_argument('--data-dir', default='/tmp',
                    help='where the nodes keep their data (default /tmp; /dev/shm: no disk cost)')
    ap.add_argument('--cpu', action='store_true',
                    help='also print CPU microseconds per SET of each process')
    args = ap.parse_args()
    for tool in ('redis-server', 'redis-benchmark'):
        if not shutil.which(tool):
            raise SystemExit('%s not found: apt install redis-server redis-tools' % tool)
    wire_node = (os.path.join(os.path.abspath(args.build), 'daemon', 'wire-node')
                 if args.build else build('build-resp-bench'))
    results = {}
    cpu = []
    tmp = tempfile.mkdtemp(prefix='resp-bench-redis-')
    rport = free_port()
    redis_proc = subprocess.Popen(
        ['redis-server', '--port', str(rport), '--bind', '127.0.0.1', '--save', '',
         '--appendonly', 'yes', '--appendfsync', 'always', '--dir', tmp],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        with RespCluster(wire_node, args.nodes, name='resp-bench',
                         root_dir=args.data_dir) as c:
            lead = c.leader()
            wait_writable(lead.resp_port)
            wait_until(lambda: ping(rport), 10, 'redis-server')
            # alternate the two servers so that both see the same machine state
            for p in (1, args.pipeline):
                for name, port in (('wire', lead.resp_port), ('redis', rport)):
                    results[(name, p)] = bench(port, args.n, args.c, p, args.keyspace)
                    print('%-5s -P %-2d %s' % (name, p, results[(name, p)]), file=sys.stderr)
            if args.cpu:
                pids = {'leader': lead.proc.pid}
                for nd in c.nodes:
                    if nd is not lead:
                        pids['follower %d' % nd.id] = nd.proc.pid
                cpu.append(('libwire',) + cpu_run(lead.resp_port, args.n, args.c, pids))
                cpu.append(('redis',) + cpu_run(rport, args.n, args.c,
                                                {'redis-server': redis_proc.pid}))
            expect_leader = c.leader()
            if expect_leader is not lead:
                print('WARNING: leadership moved during the run', file=sys.stderr)
    finally:
        redis_proc.terminate()
        redis_proc.wait()
        shutil.rmtree(tmp, ignore_errors=True)

    ver = subprocess.run(['redis-server', '--version'], capture_output=True,
                         text=True).stdout.split()[2]
    print('command: %s' % ' '.join([os.path.relpath(sys.argv[0], ROOT)] + sys.argv[1:]))
    print('machine: %s, %d cores, %s; redis-server %s; %s' % (
        platform.node(), os.cpu_count(), platform.platform(), ver, time.strftime('%Y-%m-%d')))
    print('redis-benchmark -t set,get,incr -n %d -c %d [-P %d]%s; libwire: %d nodes, '
          'leader, data in %s; redis: appendonly yes, appendfsync always\n' % (
              args.n, args.c, args.pipeline,
              ' -r %d' % args.keyspace if args.keyspace else '', args.nodes, args.data_dir))
    print('| test | pipeline | libwire req/s | redis req/s | libwire / redis |')
    print('|---|---:|---:|---:|---:|')
    for p in (1, args.pipeline):
        for t in ('SET', 'GET', 'INCR'):
            w, r = results[('wire', p)][t], results[('redis', p)][t]
            print('| %s | %s | %s | %s | %.2f |' % (t, p if p > 1 else 'none',
                                                    format(int(w), ','),
                                                    format(int(r), ','), w / r))
    if cpu:
        print('\nCPU microseconds per SET (redis-benchmark -t set -n %d -c %d, no pipelining):\n'
              % (args.n, args.c))
        print('| server | SET/s | process: CPU us per SET | machine idle |')
        print('|---|---:|---|---:|')
        for name, rps, us, idle in cpu:
            procs = ', '.join('%s %.1f' % (k, v) for k, v in us.items())
            print('| %s | %s | %s; total %.1f | %.0f%% |' % (
                name, format(int(rps), ','), procs, sum(us.values()), idle))


if __name__ == '__main__':
    main()
