#!/usr/bin/env python3
"""Fan-out and route.

One file source feeds (1) a `route` op with two named outputs, errors and
warnings, each written by its own file sink, (2) a file sink that gets every
record, and route.errors also feeds a jq projection (a port consumed twice).
Each output must equal the matching jq CLI selection, in order
(partitions 1).  The corpus is in canonical compact form, so records that
are forwarded unchanged compare byte for byte too.  Then the same DAG runs
with partitions 3 and is compared as multisets.
"""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import corpus  # noqa: E402
from wiretest import (Checks, TempDir, compare_lines, compare_multiset, expect,  # noqa: E402
                      find_jq, jq_ref, parse_args, parse_summary, read_lines, wire_run, write, yq)

N = 20000

OUTPUTS = {  # sink id -> reference jq expression
    'errors': 'select(.level == "error")',
    'warnings': 'select(.level == "warn")',
    'all': '.',
    'slim': 'select(.level == "error") | {id, msg}',
}


def yaml(inp, d, tag, partitions):
    def p(sink):
        return yq(os.path.join(d, '%s.%s.ndjson' % (tag, sink)))
    return '\n'.join([
        'name: route-%s' % tag,
        'partitions: %d' % partitions,
        'partition_key: .user',
        'sources:',
        '  - {id: in, type: file, path: %s}' % yq(inp),
        'operations:',
        '  - id: split',
        '    type: route',
        '    inputs: [in]',
        '    routes:',
        '      errors: \'.level == "error"\'',
        '      warnings: \'.level == "warn"\'',
        '  - {id: slim, type: jq, inputs: [split.errors], expr: \'{id, msg}\'}',
        'sinks:',
        '  - {id: errors, type: file, inputs: [split.errors], path: %s, append: false}' % p('errors'),
        '  - {id: warnings, type: file, inputs: [split.warnings], path: %s, append: false}' % p('warnings'),
        '  - {id: all, type: file, inputs: [in], path: %s, append: false}' % p('all'),
        '  - {id: slim_out, type: file, inputs: [slim], path: %s, append: false}' % p('slim'),
        ''])


def check(args, d, tag, partitions):
    yml = write(os.path.join(d, tag + '.yaml'), yaml(args.input, d, tag, partitions))
    r = wire_run(args.wire_node, yml, timeout=120)
    s = parse_summary(r.err)
    expect(s.row('in')['out'] == N, 'source out %d, expected %d' % (s.row('in')['out'], N))
    expect(s.row('split')['in'] == N, 'route received %d, expected %d' % (s.row('split')['in'], N))
    for sink, expr in OUTPUTS.items():
        got = read_lines(os.path.join(d, '%s.%s.ndjson' % (tag, sink)))
        want = args.refs[sink]
        sid = 'slim_out' if sink == 'slim' else sink
        expect(s.row(sid)['out'] == len(got), 'sink %s: summary out %d, file has %d lines' % (
            sid, s.row(sid)['out'], len(got)))
        if partitions == 1:
            compare_lines(got, want, 'sink %s vs jq %r' % (sink, expr))
        else:
            compare_multiset(got, want, 'sink %s vs jq %r (partitions %d)' % (sink, expr, partitions))
        print('   %-8s %6d records match jq -c %r' % (sink, len(got), expr))
    routed = s.row('errors')['out'] + s.row('warnings')['out']
    expect(routed < N, 'route emitted every record to a named output (%d of %d)' % (routed, N))


def main():
    args = parse_args()
    args.jq = find_jq(args.jq)
    c = Checks('fan-out and route')
    if not args.jq:
        print('FAIL: the jq CLI is needed')
        sys.exit(1)
    with TempDir('route') as d:
        args.input = os.path.join(d, 'in.ndjson')
        corpus.make_canonical_corpus(args.input, N, seed=9)
        args.refs = {}
        for sink, expr in OUTPUTS.items():
            ref = os.path.join(d, 'ref.%s.ndjson' % sink)
            jq_ref(args.jq, expr, args.input, ref)
            args.refs[sink] = read_lines(ref)
        c.run('route + fan-out, partitions 1 (exact order)', check, args, d, 'p1', 1)
        c.run('route + fan-out, partitions 3 (multisets)', check, args, d, 'p3', 3)
    c.finish()


if __name__ == '__main__':
    main()
