#!/usr/bin/env python3
"""Invalid JSON lines in a file source's NDJSON input.

They must be counted as errors of the source (summary row), must not reach
the output, must not stop the pipeline (exit 0), and with `dead_letter: FILE`
each must land in that file as a JSON line naming the stage, carrying the
original bytes and a reason that gives its line number.  Records rejected by
an operation (a jq runtime error) must be dead-lettered too.
"""

import json
import os
import re
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import corpus  # noqa: E402
from wiretest import (Checks, TempDir, compare_lines, expect, fail, parse_args,  # noqa: E402
                      parse_summary, read_lines, wire_run, write, yq)

INVALID = [
    b'{"a":1',                  # truncated
    b'not json',
    b'{"a":1}}',                # trailing garbage
    b'{"a":01}',                # leading zero
    b'[1,2,]',                  # trailing comma
    b'{"a":"\\x"}',             # bad escape
    b"{'a':1}",                 # single quotes
    b'"unterminated',
    b'{"a":1} {"b":2}',         # two JSON texts on one line
    b'NaN',
    b'{"a":1e}',
    b'tru',
    b'{"a":"tab\tinside"}',     # raw control character in a string
    b'{"a":[1,2}',
    b'[' * 1000 + b']' * 1000,  # nesting deeper than any limit
]


def make_input(d, nvalid=3000):
    """Valid canonical records with the invalid lines spread among them.
    Returns (path, valid lines, {line number: invalid bytes})."""
    good_path = os.path.join(d, 'good.ndjson')
    corpus.make_canonical_corpus(good_path, nvalid, seed=5)
    valid = read_lines(good_path)
    lines, bad = [], {}
    step = nvalid // (len(INVALID) + 1)
    vi = 0
    for k, inv in enumerate(INVALID):
        while vi < (k + 1) * step:
            lines.append(valid[vi])
            vi += 1
        lines.append(inv)
        bad[len(lines)] = inv  # 1-based line number
    lines.extend(valid[vi:])
    lines.insert(0, INVALID[0])  # and one on the very first line
    bad = {n + 1: v for n, v in bad.items()}
    bad[1] = INVALID[0]
    path = os.path.join(d, 'mixed.ndjson')
    with open(path, 'wb') as f:
        f.write(b'\n'.join(lines) + b'\n')
    return path, valid, bad


def yaml(inp, out, dlq=None, expr=None):
    y = ['name: invalid-input']
    if dlq:
        y.append('dead_letter: %s' % yq(dlq))
    y += ['sources:', '  - {id: in, type: file, format: ndjson, path: %s}' % yq(inp)]
    sink_input = 'in'
    if expr:
        y += ['operations:', '  - {id: q, type: jq, inputs: [in], expr: %s}' % yq(expr)]
        sink_input = 'q'
    y += ['sinks:', '  - {id: out, type: file, inputs: [%s], path: %s, append: false}' % (sink_input, yq(out)), '']
    return '\n'.join(y)


def check_counted(args, d):
    out = os.path.join(d, 'out1.ndjson')
    yml = write(os.path.join(d, 'p1.yaml'), yaml(args.input, out))
    r = wire_run(args.wire_node, yml)
    s = parse_summary(r.err)
    src = s.row('in')
    expect(src['errors'] == len(args.bad),
           'source row shows %d errors, expected %d (one per invalid line)\n%s' % (
               src['errors'], len(args.bad), r.describe()))
    expect(src['out'] == len(args.valid),
           'source emitted %d records, expected the %d valid ones' % (src['out'], len(args.valid)))
    got = read_lines(out)
    for inv in args.bad.values():
        expect(inv not in got, 'invalid line %r reached the output' % inv[:60])
    compare_lines(got, args.valid, 'file -> file with invalid lines', want_name='valid input lines')
    expect(s.row('out')['out'] == len(args.valid), 'sink out %d' % s.row('out')['out'])


def parse_dlq(path):
    if not os.path.exists(path):
        fail('dead-letter file %s was not created' % path)
    recs = []
    for i, l in enumerate(read_lines(path)):
        try:
            recs.append(json.loads(l))
        except ValueError as e:
            fail('dead-letter line %d is not JSON (%s): %r' % (i + 1, e, l[:200]))
    return recs


def check_dead_letter(args, d):
    out = os.path.join(d, 'out2.ndjson')
    dlq = os.path.join(d, 'dead.ndjson')
    yml = write(os.path.join(d, 'p2.yaml'), yaml(args.input, out, dlq=dlq))
    r = wire_run(args.wire_node, yml)
    s = parse_summary(r.err)
    expect(s.row('in')['errors'] == len(args.bad), 'source errors %d, expected %d' % (
        s.row('in')['errors'], len(args.bad)))
    compare_lines(read_lines(out), args.valid, 'output with dead_letter set', want_name='valid input lines')
    recs = parse_dlq(dlq)
    expect(len(recs) == len(args.bad), 'dead-letter file has %d records, expected %d:\n%s' % (
        len(recs), len(args.bad), '\n'.join(json.dumps(x)[:200] for x in recs[:20])))
    for rec, (lineno, raw) in zip(recs, sorted(args.bad.items())):
        expect(isinstance(rec, dict), 'dead-letter record is not an object: %r' % rec)
        expect(rec.get('stage') == 'in', 'dead-letter record names stage %r, expected "in": %r' % (
            rec.get('stage'), rec))
        expect(rec.get('record', '').encode('utf-8') == raw,
               'dead-letter record %r does not carry the original line %d %r' % (
                   rec.get('record', '')[:80], lineno, raw[:80]))
        reason = str(rec.get('reason', ''))
        nums = [int(x) for x in re.findall(r'\d+', reason)]
        expect('line' in reason.lower() and lineno in nums,
               'reason of line %d does not give its line number: %r' % (lineno, reason))
    print('   e.g. reason: %r' % recs[1].get('reason'))


def check_op_rejects(args, d):
    """jq runtime errors: rejected by the jq stage, dead-lettered with it."""
    inp = os.path.join(d, 'ops.ndjson')
    write(inp, '{"n":1}\n{"n":"x"}\n{"n":2}\n{"n":{}}\n{"n":3}\n')
    out = os.path.join(d, 'out3.ndjson')
    dlq = os.path.join(d, 'dead3.ndjson')
    yml = write(os.path.join(d, 'p3.yaml'), yaml(inp, out, dlq=dlq, expr='.n + 1'))
    r = wire_run(args.wire_node, yml)
    s = parse_summary(r.err)
    expect(s.row('q')['errors'] == 2, 'jq node errors %d, expected 2\n%s' % (s.row('q')['errors'], r.describe()))
    compare_lines(read_lines(out), [b'2', b'3', b'4'], '.n + 1 output')
    recs = parse_dlq(dlq)
    expect([x.get('stage') for x in recs] == ['q', 'q'], 'dead-letter stages %r, expected [q, q]' % recs)
    got = sorted(json.dumps(json.loads(x.get('record')), sort_keys=True) for x in recs)
    expect(got == ['{"n": "x"}', '{"n": {}}'], 'dead-lettered records %r' % got)
    for x in recs:
        expect(x.get('reason'), 'empty reason in %r' % x)


def main():
    args = parse_args()
    c = Checks('invalid input lines')
    with TempDir('invalid') as d:
        args.input, args.valid, args.bad = make_input(d)
        print('input: %s, %d valid lines, invalid at lines %s' % (
            args.input, len(args.valid), sorted(args.bad)))
        c.run('invalid lines counted on the source row, not in the output, exit 0',
              check_counted, args, d)
        c.run('dead_letter: each invalid line with its line number', check_dead_letter, args, d)
        c.run('jq runtime errors are rejected and dead-lettered', check_op_rejects, args, d)
    c.finish()


if __name__ == '__main__':
    main()
