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


def check_expr(args, d, name, expr):
    ref = os.path.join(d, '%s.jq.ndjson' % name)
    nerr = jq_ref(args.jq, expr, args.corpus, ref)
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
        for name, expr, _ in EXPRS:
            c.run('partitions 1: %s' % expr, check_expr, args, d, name, expr)
        for name, expr, part in EXPRS:
            if part:
                c.run('partitions 4, partition_key .user: %s (multiset)' % expr,
                      check_partitioned, args, d, name, expr)
        c.run('non-object records', check_non_objects, args, d)
    c.finish()


if __name__ == '__main__':
    main()
