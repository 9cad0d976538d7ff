#!/usr/bin/env python3
"""jq differential test: wire-node's jq operation against the jq CLI.

For each expression, the pipeline  file -> jq(EXPR) -> file  runs over a
50,000-record corpus full of awkward JSON (see corpus.py), and its output
file must equal `jq -c EXPR corpus` line by line, in order, byte for byte
(partitions: 1).  Records on which jq raises a runtime error must be counted
as errors of the jq node, as many as the jq CLI reports.  Then, with
`partitions: 4` and `partition_key: .user`, outputs must be equal as
multisets, and records of one user must keep their order.
"""

import concurrent.futures
import json
import os
import sys
from collections import defaultdict

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import corpus  # noqa: E402
from wiretest import (Checks, TempDir, compare_lines, compare_multiset, expect,  # noqa: E402
                      fail, find_jq, jq_ref, parse_args, parse_summary, read_lines,
                      wire_run, write, yq)

N = 50000

# (name, expression): every one is run with partitions 1; the ones marked
# True also with partitions 4.
EXPRS = [
    ('identity', '.', True),
    ('select', 'select(.level == "error")', True),
    ('select-project', 'select(.level == "error") | {id, msg}', False),
    ('field', '.user', False),
    ('iterate-optional', '.items[]?', True),
    ('select-and', 'select(.n > 10 and .user != "bob")', False),
    ('construct-alt', '{a: .x, b: (.y // 1)}', False),
    ('all-values', '.[]?', False),
    ('runtime-errors', '.n + 1', False),
]

# Expressions in (or next to) the jq op's raw-bytes fast path
# (lib/ops/jqfast.h): comparisons against numbers written as 1e3/-0/huge,
# jq's cross-type ordering, strings escaped in the data or in the literal,
# duplicate keys, nested paths that raise jq errors on some records.  They
# run as many jq ops fed by one source in a single pipeline.
FAST = [
    'select(.n == 1000)',
    'select(.n == 0)',
    'select(.n > 1e19)',
    'select(.n < 10)',
    'select(.n >= -0.5 and .n <= 1)',
    'select(.level >= "info")',
    'select(.level != "error")',
    'select(.level == "debug")',
    'select(.user == "zo\\u00eb")',
    'select(.msg == "na\\u00efve caf\\u00e9 \\u2615 ok")',
    'select(.msg == "quote \\" and backslash \\\\ inside")',
    'select(.meta.host == "h1" and .meta.tags[0] == "a")',
    'select(.x.deep[1].z == null)',
    'select((.level == "error" or .level == "warn") | not)',
    'select(.y)',
    'select(.items[1] == 2.5)',
    'select(.n)',
    '.meta.tags[0]?',
    '.["level"]',
    '.x.deep',
    '.level == "error"',
    '.n > 50',
]


def pipeline_yaml(corpus_path, expr, out, partitions=1, key=None):
    y = ['name: jqdiff', 'partitions: %d' % partitions]
    if key:
        y.append('partition_key: %s' % yq(key))
    y += ['sources:',
          '  - id: in',
          '    type: file',
          '    path: %s' % yq(corpus_path),
          '    format: ndjson',
          'operations:',
          '  - id: q',
          '    type: jq',
          '    inputs: [in]',
          '    expr: %s' % yq(expr),
          'sinks:',
          '  - id: out',
          '    type: file',
          '    inputs: [q]',
          '    path: %s' % yq(out),
          '    append: false',
          '']
    return '\n'.join(y)


def run_one(args, d, name, expr, partitions, key=None):
    out = os.path.join(d, '%s.p%d.wire.ndjson' % (name, partitions))
    yml = write(os.path.join(d, '%s.p%d.yaml' % (name, partitions)),
                pipeline_yaml(args.corpus, expr, out, partitions, key))
    r = wire_run(args.wire_node, yml, timeout=240)
    s = parse_summary(r.err)
    expect(s.state.lower() == 'finished', 'pipeline state is %r, expected finished\n%s' % (s.state, r.describe()))
    src, q, sink = s.row('in'), s.row('q'), s.row('out')
    expect(src['out'] == N and src['errors'] == 0,
           'source read %d records with %d errors, expected %d and 0' % (src['out'], src['errors'], N))
    expect(q['in'] == N, 'jq node received %d records, expected %d' % (q['in'], N))
    got = read_lines(out)
    expect(sink['out'] == len(got),
           'sink reports %d records written but the file has %d lines' % (sink['out'], len(got)))
    return got, q


def start_refs(args, d, pool):
    """Run every reference `jq -c` up front, in parallel (jq is single
    threaded); checks wait for theirs.  name -> future of (path, errors)."""
    def one(expr, path):
        return path, jq_ref(args.jq, expr, args.corpus, path, timeout=200)
    futs = {}
    for name, expr, _ in EXPRS:
        futs[name] = pool.submit(one, expr, os.path.join(d, '%s.jq.ndjson' % name))
    for i, expr in enumerate(FAST):
        futs['fast%d' % i] = pool.submit(one, expr, os.path.join(d, 'fast%d.jq.ndjson' % i))
    return futs


def check_expr(args, d, name, expr):
    ref, nerr = args.futs[name].result()
    want = read_lines(ref)
    print('   jq -c %r: %d lines, %d runtime errors' % (expr, len(want), nerr))
    got, q = run_one(args, d, name, expr, 1)
    compare_lines(got, want, 'jq %r, partitions 1' % expr)
    expect(q['errors'] == nerr,
           'jq node counted %d errors, the jq CLI reported %d runtime errors' % (q['errors'], nerr))
    args.refs[name] = want


def check_partitioned(args, d, name, expr):
    want = args.refs.get(name)
    if want is None:
        fail('no reference output (the partitions 1 check of %r failed before producing one)' % name)
    got, _ = run_one(args, d, name, expr, 4, key='.user')
    compare_multiset(got, want, 'jq %r, partitions 4' % expr)
    if name == 'select':
        # Records with the same partition key keep their relative order.
        def per_user(lines):
            g = defaultdict(list)
            for l in lines:
                v = json.loads(l)
                g[json.dumps(v.get('user'))].append(v['id'])
            return g
        gw, gg = per_user(want), per_user(got)
        for user, ids in gw.items():
            expect(gg.get(user) == ids,
                   'order of user %s not kept with partitions 4: first ids %s, expected %s' % (
                       user, gg.get(user, [])[:8], ids[:8]))


def run_fast_batch(args, d):
    """One pipeline: source -> K jq ops -> K file sinks."""
    y = ['name: jqfast', 'sources:',
         '  - {id: in, type: file, format: ndjson, path: %s}' % yq(args.corpus), 'operations:']
    for i, expr in enumerate(FAST):
        y.append('  - {id: q%d, type: jq, inputs: [in], expr: %s}' % (i, yq(expr)))
    y.append('sinks:')
    for i, expr in enumerate(FAST):
        y.append('  - {id: o%d, type: file, inputs: [q%d], path: %s, append: false}' % (
            i, i, yq(os.path.join(d, 'fast%d.wire.ndjson' % i))))
    yml = write(os.path.join(d, 'fast.yaml'), '\n'.join(y) + '\n')
    r = wire_run(args.wire_node, yml, timeout=240)
    args.fast = parse_summary(r.err)
    expect(args.fast.row('in')['out'] == N, 'source out %d' % args.fast.row('in')['out'])


def check_fast(args, d, i, expr):
    if args.fast is None:
        fail('the pipeline did not run')
    ref, nerr = args.futs['fast%d' % i].result()
    want = read_lines(ref)
    got = read_lines(os.path.join(d, 'fast%d.wire.ndjson' % i))
    print('   jq -c %r: %d lines, %d runtime errors' % (expr, len(want), nerr))
    compare_lines(got, want, 'jq %r (fast-path batch)' % expr)
    q = args.fast.row('q%d' % i)
    expect(q['errors'] == nerr, 'jq node q%d counted %d errors, the jq CLI reported %d' % (
        i, q['errors'], nerr))
    expect(args.fast.row('o%d' % i)['out'] == len(got), 'sink o%d out %d, file has %d lines' % (
        i, args.fast.row('o%d' % i)['out'], len(got)))


def check_non_objects(args, d):
    """Top-level arrays, strings, numbers and null are JSON texts too."""
    path = os.path.join(d, 'scalars.ndjson')
    write(path, '[1,2,3]\n"str"\n42\nnull\n{"level":"error","id":1}\n[]\ntrue\n{"a":[{"b":1}]}\n')
    for name, expr in (('s-identity', '.'), ('s-values', '.[]?'), ('s-select', 'select(.level? == "error")')):
        ref = os.path.join(d, name + '.jq')
        nerr = jq_ref(args.jq, expr, path, ref)
        out = os.path.join(d, name + '.wire')
        yml = write(os.path.join(d, name + '.yaml'), pipeline_yaml(path, expr, out))
        r = wire_run(args.wire_node, yml)
        s = parse_summary(r.err)
        expect(s.row('in')['out'] == 8 and s.row('in')['errors'] == 0,
               'source: %s, expected 8 records and no errors (any JSON value is a record)' % s.row('in'))
        compare_lines(read_lines(out), read_lines(ref), 'jq %r on non-object records' % expr)
        expect(s.row('q')['errors'] == nerr, 'jq errors %d, jq CLI %d' % (s.row('q')['errors'], nerr))


def main():
    args = parse_args()
    args.jq = find_jq(args.jq)
    c = Checks('jq differential (wire-node %s)' % args.wire_node)
    if not args.jq:
        print('FAIL: the jq CLI is needed (apt-get install jq)')
        sys.exit(1)
    with TempDir('jqdiff') as d:
        args.corpus = os.path.join(d, 'corpus.ndjson')
        corpus.make_corpus(args.corpus, N)
        print('corpus: %s (%d records, %d bytes)' % (args.corpus, N, os.path.getsize(args.corpus)))
        args.refs = {}
        pool = concurrent.futures.ThreadPoolExecutor(max_workers=max(1, min(4, os.cpu_count() or 1)))
        args.futs = start_refs(args, d, pool)
        for name, expr, _ in EXPRS:
            c.run('partitions 1: %s' % expr, check_expr, args, d, name, expr)
        for name, expr, part in EXPRS:
            if part:
                c.run('partitions 4, partition_key .user: %s (multiset)' % expr,
                      check_partitioned, args, d, name, expr)
        args.fast = None
        c.run('fast-path batch: one source -> %d jq ops -> %d file sinks' % (len(FAST), len(FAST)),
              run_fast_batch, args, d)
        for i, expr in enumerate(FAST):
            c.run('fast-path batch: %s' % expr, check_fast, args, d, i, expr)
        c.run('non-object records', check_non_objects, args, d)
        pool.shutdown()
    c.finish()


if __name__ == '__main__':
    main()
