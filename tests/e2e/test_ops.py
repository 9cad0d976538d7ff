#!/usr/bin/env python3
"""The field operations against their jq equivalents, and dedupe/sample.

On the awkward corpus (corpus.py, all objects, duplicate keys included):
  set {env, version, flag, level, x, u}  ==  jq '.env = "prod" | ...'
  rename {user: who, msg: message}       ==  jq 'with_entries(...)'
  drop [x, meta, level, nosuch]          ==  jq 'del(.x, .meta, .level, .nosuch)'
compared record by record as JSON values (as jq compares them: numbers as
doubles, duplicate keys last-wins); textual and key-order differences from
`jq -c` (jq keeps a renamed key's position) are only reported.  Valid JSON
records that an op rejects fail the check (after the comparison of the
others).
dedupe by .id over a stream with replayed records keeps exactly the first
occurrence of every id, in order.  sample keeps about the configured fraction,
and the same records on every run of a deterministic generator.
"""

import json
import os
import random
import sys
from collections import Counter

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import corpus  # noqa: E402
from wiretest import (Checks, TempDir, compare_lines, expect, fail, find_jq, jq_ref,  # noqa: E402
                      parse_args, parse_summary, read_lines, wire_run, write, yq)

N = 20000


def _num(text):
    v = float(text)
    return 0.0 if v == 0 else v  # -0 == 0 for jq


def canon(line, ordered=False):
    """A JSON value as jq compares it (numbers as doubles, -0 == 0, duplicate
    keys: last value wins); with ordered=True key order counts too."""
    v = json.loads(line, parse_int=_num, parse_float=_num)
    return json.dumps(v, ensure_ascii=False, sort_keys=not ordered)


def pipeline(args, d, tag, op_yaml, inp=None, partitions=1, source=None):
    out = os.path.join(d, tag + '.out.ndjson')
    dlq = os.path.join(d, tag + '.dead.ndjson')
    src = source or '{id: in, type: file, format: ndjson, path: %s}' % yq(inp or args.corpus)
    yml = write(os.path.join(d, tag + '.yaml'), '\n'.join([
        'name: ops-%s' % tag,
        'partitions: %d' % partitions,
        'dead_letter: %s' % yq(dlq),
        'sources:',
        '  - ' + src,
        'operations:',
        op_yaml,
        'sinks:',
        '  - {id: out, type: file, inputs: [op], path: %s, append: false}' % yq(out),
        '']))
    r = wire_run(args.wire_node, yml, timeout=120)
    s = parse_summary(r.err)
    s.rejected = [json.loads(l) for l in read_lines(dlq)] if os.path.exists(dlq) else []
    expect(len(s.rejected) == s.row('op')['errors'], 'op errors %d but %d dead-lettered records' % (
        s.row('op')['errors'], len(s.rejected)))
    return read_lines(out), s


def rejected_msg(tag, rejected):
    reasons = Counter(x.get('reason', '')[:70] for x in rejected)
    return '%s rejected %d valid JSON records (jq accepts them all); dead-letter reasons:\n%s' % (
        tag, len(rejected), '\n'.join('  %6d  %s' % (n, w) for w, n in reasons.most_common(6)))


def against_jq(args, d, tag, op_yaml, expr):
    got, s = pipeline(args, d, tag, op_yaml)
    inp = args.corpus
    if s.rejected:
        # compare on the records the op accepted, then fail for the others
        ids = set(json.loads(x['record'])['id'] for x in s.rejected)
        inp = os.path.join(d, tag + '.accepted.ndjson')
        with open(inp, 'wb') as f:
            for l in read_lines(args.corpus):
                if json.loads(l)['id'] not in ids:
                    f.write(l + b'\n')
    ref = os.path.join(d, tag + '.jq')
    nerr = jq_ref(args.jq, expr, inp, ref)
    expect(nerr == 0, 'test bug: jq reported %d errors for %r' % (nerr, expr))
    want = read_lines(ref)
    expect(len(got) == len(want), '%s: %d records out, jq: %d' % (tag, len(got), len(want)))
    for i, (g, w) in enumerate(zip(got, want)):
        try:
            cg = canon(g)
        except ValueError:
            fail('%s: output line %d is not JSON: %r' % (tag, i + 1, g[:200]))
        if cg != canon(w):
            fail('%s: record %d differs from jq %r\n  wire: %s\n  jq:   %s' % (
                tag, i + 1, expr, g[:400].decode('utf-8', 'replace'), w[:400].decode('utf-8', 'replace')))
    text = sum(1 for g, w in zip(got, want) if g != w)
    order = sum(1 for g, w in zip(got, want) if canon(g, True) != canon(w, True))
    print('   %d records equal to jq as JSON values; %d differ from jq -c in text, %d of them in key order' % (
        len(got), text, order))
    if s.rejected:
        fail(rejected_msg(tag, s.rejected))


def check_set(args, d):
    against_jq(args, d, 'set', '\n'.join([
        '  - id: op',
        '    type: set',
        '    inputs: [in]',
        '    fields:',
        '      env: prod',
        '      version: 2',
        '      flag: true',
        '      level: OVERRIDDEN',
        "      x: '7'",
        '      u: %s' % yq('zo\u00eb "q"')]),
        '.env = "prod" | .version = 2 | .flag = true | .level = "OVERRIDDEN" | .x = "7" '
        '| .u = "zo\u00eb \\"q\\""')


def check_rename(args, d):
    against_jq(args, d, 'rename', '\n'.join([
        '  - id: op',
        '    type: rename',
        '    inputs: [in]',
        '    fields: {user: who, msg: message, nosuch: zzz}']),
        'with_entries(.key |= (if . == "user" then "who" elif . == "msg" then "message" else . end))')


def check_drop(args, d):
    against_jq(args, d, 'drop', '\n'.join([
        '  - id: op',
        '    type: drop',
        '    inputs: [in]',
        '    fields: [x, meta, level, nosuch]']),
        'del(.x, .meta, .level, .nosuch)')


def check_dedupe(args, d):
    r = random.Random(3)
    base = os.path.join(d, 'dedupe-base.ndjson')
    corpus.make_canonical_corpus(base, 5000, seed=4)
    recs = read_lines(base)
    stream = []
    pending = []  # (due index, line): replays of earlier records
    for i, l in enumerate(recs):
        stream.append(l)
        if r.random() < 0.3:
            pending.append((len(stream) + r.randint(1, 60), l))
        if i % 500 == 0:
            stream.append(b'{"noid":%d}' % i)  # no key: passes through
        for due, x in [p for p in pending if p[0] <= len(stream)]:
            stream.append(x)
            pending.remove((due, x))
    stream += [x for _, x in pending]
    inp = write(os.path.join(d, 'dedupe-in.ndjson'), b'\n'.join(stream) + b'\n', 'wb')
    seen, want = set(), []
    for l in stream:
        v = json.loads(l)
        if 'id' not in v:
            want.append(l)
        elif v['id'] not in seen:
            seen.add(v['id'])
            want.append(l)
    got, s = pipeline(args, d, 'dedupe', '  - {id: op, type: dedupe, inputs: [in], key: .id}', inp=inp)
    expect(not s.rejected, rejected_msg('dedupe', s.rejected))
    print('   %d records with %d replays -> %d expected' % (len(stream), len(stream) - len(want), len(want)))
    compare_lines(got, want, 'dedupe key .id', want_name='first occurrences')
    op = s.row('op')
    expect(op['dropped'] == len(stream) - len(want),
           'dedupe counted %d dropped, expected %d' % (op['dropped'], len(stream) - len(want)))


def check_sample(args, d):
    gen = '{id: gen, type: generator, count: 50000, seed: 5}'

    def run(tag, opts):
        y = '  - {id: op, type: sample, inputs: [gen], %s}' % opts
        got, s = pipeline(args, d, tag, y, source=gen)
        expect(not s.rejected, rejected_msg(tag, s.rejected))
        return got, s
    a, s = run('sample-a', 'rate: 0.1')
    b, _ = run('sample-b', 'rate: 0.1')
    c, _ = run('sample-c', 'rate: 0.1, seed: 99')
    e, _ = run('sample-every', 'every: 4')
    print('   rate 0.1: %d, again: %d, seed 99: %d; every 4: %d of 50000' % (len(a), len(b), len(c), len(e)))
    expect(4400 <= len(a) <= 5600, 'rate 0.1 kept %d of 50000' % len(a))
    expect(a == b, 'two runs of a deterministic generator sampled different records')
    expect(a != c, 'seed did not change the sample')
    expect(11000 <= len(e) <= 14000, 'every 4 kept %d of 50000' % len(e))
    expect(s.row('op')['dropped'] + len(a) == 50000,
           'sample dropped %d + kept %d != 50000' % (s.row('op')['dropped'], len(a)))
    seqs = [json.loads(x)['seq'] for x in a]
    expect(seqs == sorted(seqs), 'sampled records out of order')


def main():
    args = parse_args()
    args.jq = find_jq(args.jq)
    c = Checks('set / rename / drop / dedupe / sample')
    if not args.jq:
        print('FAIL: the jq CLI is needed')
        sys.exit(1)
    with TempDir('ops') as d:
        args.corpus = os.path.join(d, 'corpus.ndjson')
        corpus.make_corpus(args.corpus, N, seed=7)
        c.run('set == jq assignments', check_set, args, d)
        c.run('rename == jq with_entries', check_rename, args, d)
        c.run('drop == jq del', check_drop, args, d)
        c.run('dedupe by .id keeps first occurrences', check_dedupe, args, d)
        c.run('sample: fraction, determinism, seed, every', check_sample, args, d)
    c.finish()


if __name__ == '__main__':
    main()
