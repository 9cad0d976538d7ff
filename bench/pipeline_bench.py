#!/usr/bin/env python3
"""libwire pipeline throughput benchmark (python3 stdlib only).

    python3 bench/pipeline_bench.py [--build DIR] [--records N] [--runs R]

Generates N (default 2,000,000) log-like NDJSON records of about 120 bytes,
about 10% of them with "level":"error", then measures the wall time of whole
processes (best of R runs, default 3) for:

  (a) wire-node: file -> file pass-through
  (b) wire-node: file -> jq 'select(.level == "error")' -> file
  (c) the jq CLI alone: jq -c 'select(.level == "error")' FILE > OUT
  (d) wire-node: generator (count N) -> null
  (e) (b) with partitions: 2
  (f) wire-node: file -> jq 'select(.level == "error") | {id, msg}' -> file,
      an expression the jq op cannot run on its fast path (libjq for every
      record), against (g) the jq CLI on the same expression, and
  (h) (f) with partitions: 2

and prints records/s and MB/s (of input) per case and the speedup of (b)
over (c).  Every output is verified before the figures are printed: (a) has
N lines, (b) and (e) have exactly jq's lines ((e) as a multiset), (d)'s
sink received N records.  Without --build it configures and builds
build-bench (--buildtype=release -Dtests=false) in the source tree.
"""

import argparse
import hashlib
import json
import os
import platform
import random
import re
import shutil
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
SOURCE = os.path.dirname(HERE)
EXPR = 'select(.level == "error")'
# (f): an expression outside the jq op's raw-bytes fast path (lib/ops/jqfast.h)
EXPR_F = 'select(.level == "error") | {id, msg}'


def die(msg):
    print('bench: %s' % msg, file=sys.stderr)
    sys.exit(1)


def build(args):
    if args.build:
        args.build = os.path.abspath(args.build)
        if not os.path.exists(os.path.join(args.build, 'build.ninja')):
            die('%s is not a configured meson build dir' % args.build)
    else:
        args.build = os.path.join(SOURCE, 'build-bench')
        if not os.path.exists(os.path.join(args.build, 'build.ninja')):
            cmd = ['meson', 'setup', args.build, '--buildtype=release', '-Dtests=false']
            print('$ ' + ' '.join(cmd), flush=True)
            if subprocess.run(cmd, cwd=SOURCE, stdout=subprocess.DEVNULL).returncode != 0:
                die('meson setup failed')
    cmd = ['ninja', '-C', args.build, 'daemon/wire-node']
    print('$ ' + ' '.join(cmd), flush=True)
    p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    if p.returncode != 0:
        sys.stderr.write(p.stdout.decode('utf-8', 'replace')[-6000:])
        die('build failed')
    args.wire_node = os.path.join(args.build, 'daemon', 'wire-node')
    try:
        with open(os.path.join(args.build, 'meson-info', 'intro-buildoptions.json')) as f:
            opts = {o['name']: o['value'] for o in json.load(f)}
        args.buildtype = '%s, b_ndebug=%s, b_sanitize=%s' % (
            opts.get('buildtype'), opts.get('b_ndebug'), opts.get('b_sanitize'))
        if opts.get('buildtype') != 'release' or opts.get('b_sanitize', 'none') != 'none':
            print('bench: WARNING: %s is not a plain release build (%s): figures are not '
                  'representative' % (args.build, args.buildtype), flush=True)
    except (OSError, ValueError):
        args.buildtype = 'unknown'


MSGS = ['GET /api/items/%d 200 %dms', 'POST /api/orders 201 %dms (item %d)',
        'GET /api/users/%d/profile 304 %dms', 'DELETE /api/cart/%d 204 %dms',
        'upstream timeout after %dms on shard %d', 'cache miss for key %d in %dms']


def generate(path, n, seed=42):
    """n records like
    {"id":123,"ts":"2026-11-22T10:00:00.123Z","level":"info","user":"u042","msg":"GET /api/items 200 12ms"}
    written in bulk; ~10% level error.  Returns the file size."""
    r = random.Random(seed)
    levels = r.choices(['info', 'warn', 'error', 'debug'], weights=[70, 12, 10, 8], k=n)
    chunk = 100000
    with open(path, 'w', newline='\n') as f:
        for start in range(0, n, chunk):
            out = []
            for i in range(start, min(n, start + chunk)):
                ms = i % 86400000
                out.append('{"id":%d,"ts":"2026-11-22T%02d:%02d:%02d.%03dZ","level":"%s","user":"u%03d",'
                           '"msg":"%s"}' % (
                               i, ms // 3600000 % 24, ms // 60000 % 60, ms // 1000 % 60, ms % 1000,
                               levels[i], r.randrange(1000),
                               MSGS[i % len(MSGS)] % (r.randrange(10000), r.randrange(1, 900))))
            f.write('\n'.join(out) + '\n')
    return os.path.getsize(path)


def timed(cmd, stdout=subprocess.DEVNULL):
    t0 = time.perf_counter()
    p = subprocess.run(cmd, stdout=stdout, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL)
    t = time.perf_counter() - t0
    return t, p.returncode, p.stderr.decode('utf-8', 'replace')


def best_of(args, label, cmd, out=None, stdout_path=None):
    times = []
    for k in range(args.runs):
        if out and os.path.exists(out):
            os.unlink(out)
        if stdout_path:
            with open(stdout_path, 'wb') as so:
                t, rc, err = timed(cmd, stdout=so)
        else:
            t, rc, err = timed(cmd)
        ok_rc = (0, 5) if cmd[0] == args.jq else (0,)
        if rc not in ok_rc:
            die('%s: %s exited %d:\n%s' % (label, ' '.join(cmd), rc, err[-3000:]))
        times.append(t)
        print('  %-34s run %d: %.3f s' % (label, k + 1, t), flush=True)
    return min(times), times


def yaml(path, text):
    with open(path, 'w') as f:
        f.write(text)
    return path


def count_lines(path):
    n = 0
    with open(path, 'rb') as f:
        while True:
            b = f.read(1 << 22)
            if not b:
                break
            n += b.count(b'\n')
    return n


def sha(path):
    h = hashlib.sha256()
    with open(path, 'rb') as f:
        for b in iter(lambda: f.read(1 << 22), b''):
            h.update(b)
    return h.hexdigest()


def sorted_lines(path):
    with open(path, 'rb') as f:
        return sorted(f.read().split(b'\n'))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    ap.add_argument('--build', help='meson build dir with daemon/wire-node (default: build-bench, release)')
    ap.add_argument('--records', type=int, default=2000000)
    ap.add_argument('--runs', type=int, default=3, help='runs per case; the best is reported')
    ap.add_argument('--jq', default=shutil.which('jq') or '/usr/bin/jq')
    ap.add_argument('--tmp', default=None, help='directory for the data (default: a new dir in /tmp)')
    ap.add_argument('--keep', action='store_true', help='keep the data dir')
    args = ap.parse_args()
    cmdline = ' '.join(['python3', os.path.relpath(os.path.abspath(__file__), os.getcwd())] + sys.argv[1:])
    if not os.access(args.jq, os.X_OK):
        die('the jq CLI is needed (apt-get install jq)')
    build(args)
    n = args.records
    d = tempfile.mkdtemp(prefix='wire-bench-', dir=args.tmp or '/tmp')
    try:
        data = os.path.join(d, 'events.ndjson')
        t0 = time.perf_counter()
        size = generate(data, n)
        print('data: %s, %d records, %.1f MB, %.1f bytes/record (generated in %.1f s)' % (
            data, n, size / 1e6, size / n, time.perf_counter() - t0), flush=True)
        mb = size / 1e6
        wn = args.wire_node
        res = {}
        verified = {}

        # (c) first: its output is the reference for (b) and (e)
        ref = os.path.join(d, 'jq.ndjson')
        res['c'] = best_of(args, '(c) jq CLI', [args.jq, '-c', EXPR, data], stdout_path=ref)
        ref_n = count_lines(ref)

        out_a = os.path.join(d, 'a.ndjson')
        ya = yaml(os.path.join(d, 'a.yaml'),
                  'name: bench-passthrough\nsources:\n  - {id: in, type: file, path: "%s"}\n'
                  'sinks:\n  - {id: out, type: file, inputs: [in], path: "%s", append: false}\n' % (data, out_a))
        res['a'] = best_of(args, '(a) file -> file', [wn, 'run', '--quiet', ya], out=out_a)
        na = count_lines(out_a)
        verified['a'] = (na == n, '%d lines%s' % (na, ', byte-identical to input' if
                                                   na == n and sha(out_a) == sha(data) else ''))
        os.unlink(out_a)

        def jq_yaml(tag, partitions):
            out = os.path.join(d, '%s.ndjson' % tag)
            y = yaml(os.path.join(d, '%s.yaml' % tag),
                     'name: bench-jq-p%d\npartitions: %d\nsources:\n  - {id: in, type: file, path: "%s"}\n'
                     'operations:\n  - {id: q, type: jq, inputs: [in], expr: \'%s\'}\n'
                     'sinks:\n  - {id: out, type: file, inputs: [q], path: "%s", append: false}\n' % (
                         partitions, partitions, data, EXPR, out))
            return y, out

        yb, out_b = jq_yaml('b', 1)
        res['b'] = best_of(args, '(b) file -> jq select -> file', [wn, 'run', '--quiet', yb], out=out_b)
        nb = count_lines(out_b)
        same = nb == ref_n and sha(out_b) == sha(ref)
        verified['b'] = (nb == ref_n, '%d lines (jq: %d)%s' % (
            nb, ref_n, ', identical to jq output' if same else ', CONTENT DIFFERS from jq output'))
        os.unlink(out_b)

        ye, out_e = jq_yaml('e', 2)
        res['e'] = best_of(args, '(e) (b) with partitions: 2', [wn, 'run', '--quiet', ye], out=out_e)
        ne = count_lines(out_e)
        ms = ne == ref_n and sorted_lines(out_e) == sorted_lines(ref)
        verified['e'] = (ne == ref_n, '%d lines (jq: %d)%s' % (
            ne, ref_n, ', same multiset as jq' if ms else ', MULTISET DIFFERS from jq output'))
        os.unlink(out_e)

        ref_f = os.path.join(d, 'jq_f.ndjson')
        res['g'] = best_of(args, '(g) jq CLI, (f) expression', [args.jq, '-c', EXPR_F, data], stdout_path=ref_f)
        def libjq(tag, partitions, label):
            out = os.path.join(d, '%s.ndjson' % tag)
            y = yaml(os.path.join(d, '%s.yaml' % tag),
                     'name: bench-jq-libjq-p%d\npartitions: %d\nsources:\n  - {id: in, type: file, path: "%s"}\n'
                     'operations:\n  - {id: q, type: jq, inputs: [in], expr: \'%s\'}\n'
                     'sinks:\n  - {id: out, type: file, inputs: [q], path: "%s", append: false}\n' % (
                         partitions, partitions, data, EXPR_F, out))
            res[tag] = best_of(args, label, [wn, 'run', '--quiet', y], out=out)
            n_out, n_ref = count_lines(out), count_lines(ref_f)
            if partitions == 1:
                same = n_out == n_ref and sha(out) == sha(ref_f)
                verified[tag] = (same, '%d lines (jq: %d)%s' % (
                    n_out, n_ref, ', identical to jq output' if same else ', DIFFERS from jq output'))
            else:
                same = n_out == n_ref and sorted_lines(out) == sorted_lines(ref_f)
                verified[tag] = (same, '%d lines (jq: %d)%s' % (
                    n_out, n_ref, ', same multiset as jq' if same else ', MULTISET DIFFERS from jq output'))
            os.unlink(out)

        libjq('f', 1, '(f) file -> jq projection -> file')
        libjq('h', 2, '(h) (f) with partitions: 2')
        verified['g'] = (True, '%d lines' % count_lines(ref_f))
        os.unlink(ref_f)

        yd = yaml(os.path.join(d, 'd.yaml'),
                  'name: bench-generator\nsources:\n  - {id: gen, type: generator, count: %d}\n'
                  'sinks:\n  - {id: out, type: null, inputs: [gen]}\n' % n)
        res['d'] = best_of(args, '(d) generator -> null', [wn, 'run', '--quiet', yd])
        t, rc, err = timed([wn, 'run', yd])  # once more, with the summary, to verify
        m = re.search(r'^\s+out\s+sink\s+\S+\s+(\d+)\s+(\d+)', err, re.M)
        nd = int(m.group(2)) if m else -1
        verified['d'] = (nd == n, 'sink received %d records' % nd)
        if os.path.exists(ref):
            os.unlink(ref)
    finally:
        if args.keep:
            print('kept %s' % d)
        else:
            shutil.rmtree(d, ignore_errors=True)

    ver = subprocess.run([args.wire_node, 'version'], stdout=subprocess.PIPE).stdout.decode().strip()
    jqv = subprocess.run([args.jq, '--version'], stdout=subprocess.PIPE).stdout.decode().strip()
    cpu = ''
    try:
        cpu = next(l.split(':', 1)[1].strip() for l in open('/proc/cpuinfo') if l.startswith('model name'))
    except (OSError, StopIteration):
        pass
    print()
    print('command:  %s' % cmdline)
    print('machine:  %s, %d CPUs (%s), %s' % (platform.node(), os.cpu_count(), cpu, platform.platform()))
    print('build:    %s (%s); %s; %s' % (args.build, args.buildtype, ver, jqv))
    print('data:     %d records, %.1f MB (%.0f bytes/record), page cache warm, best of %d runs' % (
        n, mb, size / n, args.runs))
    print()
    rows = [('a', 'wire-node file -> file'), ('b', 'wire-node file -> jq select -> file'),
            ('c', 'jq -c select (CLI)'), ('d', 'wire-node generator -> null'),
            ('e', 'wire-node (b), partitions: 2'),
            ('f', 'wire-node file -> jq select + {id, msg} -> file (libjq)'),
            ('g', 'jq -c select + {id, msg} (CLI)'),
            ('h', 'wire-node (f), partitions: 2')]
    print('| case | what | best s | records/s | MB/s | verified |')
    print('|---|---|---:|---:|---:|---|')
    all_ok = True
    for k, what in rows:
        t = res[k][0]
        mbs = '%.1f' % (mb / t) if k != 'd' else 'n/a'
        ok, note = verified.get(k, (True, '%d lines' % ref_n if k == 'c' else ''))
        all_ok &= ok
        print('| (%s) | %s | %.3f | %s | %s | %s%s |' % (
            k, what, t, '{:,.0f}'.format(n / t), mbs, 'ok: ' if ok else 'FAILED: ', note))
    print()
    print('speedup of (b) over the jq CLI (c): %.2fx  (time(c) / time(b))' % (res['c'][0] / res['b'][0]))
    print('speedup of (e) over the jq CLI (c): %.2fx' % (res['c'][0] / res['e'][0]))
    print('speedup of (f) over the jq CLI (g), no fast path: %.2fx' % (res['g'][0] / res['f'][0]))
    print('speedup of (h) over the jq CLI (g), no fast path, 2 partitions: %.2fx' % (res['g'][0] / res['h'][0]))
    if not all_ok:
        die('some outputs did not verify: the figures above are not valid')


if __name__ == '__main__':
    main()
