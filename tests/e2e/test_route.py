#!/usr/bin/env python3
"""Fan-out and route.

One file source feeds (1) a `route` op with two named outputs, errors and
warnings, and its `unmatched` output, each written by its own file sink
(together exactly every record once), (2) a file sink that gets every
record, and route.errors also feeds a jq projection (a port consumed twice).
Each output must equal the matching jq CLI selection, in order
(partitions 1).  The corpus is in canonical compact form, so records that
are forwarded unchanged compare byte for byte too.  Then the same DAG runs
with partitions 3 and is compared as multisets.  Last, overlapping routes
with `mode: all` (a record goes to every matching route) and `mode: first`.
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
    'rest': 'select(.level != "error" and .level != "warn")',
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
        '  - {id: rest, type: file, inputs: [split.unmatched], path: %s, append: false}' % p('rest'),
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
    routed = s.row('errors')['out'] + s.row('warnings')['out'] + s.row('rest')['out']
    expect(routed == N, 'errors + warnings + unmatched = %d, expected every record once (%d)' % (routed, N))


def check_modes(args, d):
    """Overlapping routes: mode all sends a record to every matching route,
    mode first only to the first matching one (in definition order)."""
    for mode, want_expr in (('all', 'select(.level == "error" or .level == "warn")'),
                            ('first', 'select(.level == "warn")')):
        out_e = os.path.join(d, 'mode-%s.errors.ndjson' % mode)
        out_s = os.path.join(d, 'mode-%s.serious.ndjson' % mode)
        yml = write(os.path.join(d, 'mode-%s.yaml' % mode), '\n'.join([
            'name: route-mode-%s' % mode,
            'sources:',
            '  - {id: in, type: file, path: %s}' % yq(args.input),
            'operations:',
            '  - id: split',
            '    type: route',
            '    mode: %s' % mode,
            '    inputs: [in]',
            '    routes:',
            '      errors: \'.level == "error"\'',
            '      serious: \'.level == "error" or .level == "warn"\'',
            'sinks:',
            '  - {id: e, type: file, inputs: [split.errors], path: %s, append: false}' % yq(out_e),
            '  - {id: s, type: file, inputs: [split.serious], path: %s, append: false}' % yq(out_s),
            '']))
        wire_run(args.wire_node, yml, timeout=120)
        ref = os.path.join(d, 'mode-%s.ref' % mode)
        jq_ref(args.jq, want_expr, args.input, ref)
        compare_lines(read_lines(out_e), args.refs['errors'], 'mode %s: route errors' % mode)
        compare_lines(read_lines(out_s), read_lines(ref), 'mode %s: route serious (jq %r)' % (mode, want_expr))


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
        c.run('route mode: all vs first with overlapping routes', check_modes, args, d)
    c.finish()


if __name__ == '__main__':
    main()
