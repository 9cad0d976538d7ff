#!/usr/bin/env python3
"""`wire-node validate`: FILE:LINE:COL diagnostics and exit codes.

A definition with many problems (unknown type, unknown option with a
did-you-mean, missing required option, unknown pipeline key, invalid jq,
cycle, unknown input, ill-typed option, duplicate id) must give one
`FILE:LINE:COL: message` line per problem, all of them in one go, and exit
1; positions are checked exactly where the YAML node is unambiguous.  A
valid definition exits 0; usage errors exit 2; `run` on an invalid
definition exits 1 without running.
"""

import os
import re
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from wiretest import Checks, TempDir, expect, fail, parse_args, run, write  # noqa: E402

BROKEN = """\
name: broken
partitons: 4
sources:
  - id: in
    type: file
    path: /tmp/wire-e2e-does-not-matter.ndjson
  - id: gen
    type: generatr
  - id: logs
    type: file
    pth: /tmp/wire-e2e-x.ndjson
  - {id: nopath, type: file}
operations:
  - id: bad_jq
    type: jq
    inputs: [in]
    expr: 'select(.level == )'
  - id: a
    type: jq
    inputs: [b]
    expr: '.'
  - id: b
    type: jq
    inputs: [a]
    expr: '.'
  - id: orphan
    type: jq
    inputs: [in, nowhere]
    expr: '.'
sinks:
  - id: out
    type: file
    inputs: [bad_jq]
    path: /tmp/wire-e2e-out.ndjson
    fsync: maybe
  - id: out
    type: null
    inputs: [orphan]
"""

VALID = """\
name: fine
partitions: 2
partition_key: .user
sources:
  - {id: in, type: file, path: {d}/in.ndjson, format: ndjson}
  - {id: gen, type: generator, count: 10, seed: 3}
operations:
  - {id: errs, type: jq, inputs: [in, gen], expr: 'select(.level == "error") | {id, msg}'}
  - id: route
    type: route
    inputs: [gen]
    routes:
      errors: '.level == "error"'
      warnings: '.level == "warn"'
sinks:
  - {id: out, type: file, inputs: [errs, route.errors], path: {d}/never-written.ndjson}
  - {id: dev, type: null, inputs: [route.warnings]}
"""

DIAG = re.compile(r'^(.*?):(\d+):(\d+): (.+)$')


def at(text, needle, token=None, nth=1, whole=False):
    """1-based (line, col) of `token` on the nth line containing `needle`
    (or, with whole=True, the nth line that is `needle` once stripped)."""
    token = token or needle
    seen = 0
    for i, line in enumerate(text.splitlines()):
        if (line.strip() == needle) if whole else (needle in line):
            seen += 1
            if seen == nth:
                return i + 1, line.index(token) + 1
    raise AssertionError('test bug: %r not in the definition' % needle)


def diags_of(r, path):
    ds = []
    for line in r.err.splitlines():
        m = DIAG.match(line)
        if m and m.group(1) == path:
            ds.append((int(m.group(2)), int(m.group(3)), m.group(4)))
    return ds


def find(ds, words, what, line=None, col=None, lines=None):
    """The diagnostic whose message has all `words` (case-insensitive)."""
    cand = [d for d in ds if all(w.lower() in d[2].lower() for w in words)]
    if not cand:
        fail('no diagnostic about %s (a message containing %s); got:\n%s' % (
            what, ' and '.join(repr(w) for w in words), fmt(ds)))
    if line is not None:
        exact = [d for d in cand if d[0] == line and (col is None or d[1] == col)]
        if not exact:
            fail('diagnostic about %s is at %s, expected %d:%s:\n%s' % (
                what, ', '.join('%d:%d' % (d[0], d[1]) for d in cand), line,
                col if col is not None else '*', fmt(cand)))
        return exact[0]
    if lines is not None:
        inside = [d for d in cand if d[0] in lines]
        if not inside:
            fail('diagnostic about %s is at line %s, expected one of lines %s' % (
                what, [d[0] for d in cand], sorted(lines)))
        return inside[0]
    return cand[0]


def fmt(ds):
    return '\n'.join('    %d:%d: %s' % d for d in ds) or '    (none)'


def check_broken(args, d):
    path = write(os.path.join(d, 'broken.yaml'), BROKEN)
    r = run([args.wire_node, 'validate', path], timeout=30)
    expect(r.rc == 1, 'validate of a broken definition exited %s, expected 1\n%s' % (r.rc, r.describe()))
    ds = diags_of(r, path)
    print('   %d diagnostics:\n%s' % (len(ds), fmt(ds)))
    expect(len(ds) >= 9, 'expected at least 9 FILE:LINE:COL diagnostics, got %d:\n%s' % (len(ds), r.err))
    args.broken_diags = ds
    # exact positions: the YAML value (or key) the problem is about
    find(ds, ['generatr'], 'the unknown source type', *at(BROKEN, 'type: generatr', 'generatr'))
    find(ds, ['nowhere'], 'the unknown input', *at(BROKEN, 'inputs: [in, nowhere]', 'nowhere'))
    find(ds, ['fsync'], 'the ill-typed option fsync: maybe', *at(BROKEN, 'fsync: maybe', 'maybe'))
    find(ds, ['pth'], 'the unknown option pth', *at(BROKEN, 'pth:', 'pth'))
    find(ds, ['partitons'], 'the unknown pipeline key', *at(BROKEN, 'partitons'))
    ln, col = at(BROKEN, '- id: out', 'out', nth=2, whole=True)
    dup = [x for x in ds if 'out' in x[2] and ('duplicate' in x[2].lower() or 'already' in x[2].lower())]
    expect(dup, 'no diagnostic about the duplicate id "out":\n%s' % fmt(ds))
    expect(any((x[0], x[1]) == (ln, col) for x in dup),
           'duplicate id diagnostic at %s, expected %d:%d (the second "id: out")' % (
               ['%d:%d' % x[:2] for x in dup], ln, col))
    # line only: which node of a cycle is blamed, where in an expression
    find(ds, ['path'], 'the did-you-mean suggestion for pth', at(BROKEN, 'pth:')[0])
    a0, b1 = at(BROKEN, "- id: a")[0], at(BROKEN, "- id: b", nth=2)[0] + 3
    find(ds, ['cycle'], 'the cycle a <-> b', lines=set(range(a0, b1 + 1)))
    jq_line = at(BROKEN, 'select(.level == )')[0]
    jq = [x for x in ds if x[0] == jq_line]
    expect(jq, 'no diagnostic on line %d (the invalid jq expression):\n%s' % (jq_line, fmt(ds)))
    nopath = at(BROKEN, '{id: nopath')[0]
    expect(any(x[0] == nopath and 'path' in x[2] for x in ds),
           'no diagnostic on line %d about the missing required option path:\n%s' % (nopath, fmt(ds)))
    expect(all(l > 0 and c > 0 for l, c, _ in ds), 'a diagnostic without a position:\n%s' % fmt(ds))


def check_run_broken(args, d):
    path = os.path.join(d, 'broken.yaml')
    out = '/tmp/wire-e2e-out.ndjson'
    existed = os.path.exists(out)
    r = run([args.wire_node, 'run', path], timeout=30)
    expect(r.rc == 1, 'run of a broken definition exited %s, expected 1\n%s' % (r.rc, r.describe()))
    expect(len(diags_of(r, path)) >= 9, 'run printed fewer diagnostics than validate:\n%s' % r.err)
    expect(existed or not os.path.exists(out), 'run of an invalid definition created the sink file %s' % out)


def check_valid(args, d):
    write(os.path.join(d, 'in.ndjson'), '{"level":"error","id":1,"msg":"m"}\n')
    path = write(os.path.join(d, 'valid.yaml'), VALID.replace('{d}', d))
    r = run([args.wire_node, 'validate', path], timeout=30)
    expect(r.rc == 0, 'validate of a valid definition exited %s\n%s' % (r.rc, r.describe()))
    expect('%s: ok' % path in r.out, 'expected "%s: ok" on stdout, got %r' % (path, r.out))
    expect(not diags_of(r, path), 'diagnostics for a valid file:\n%s' % r.err)


def check_syntax(args, d):
    text = 'name: x\nsources:\n  - {id: in, type: file, path: a\nsinks: []\n'
    path = write(os.path.join(d, 'syntax.yaml'), text)
    r = run([args.wire_node, 'validate', path], timeout=30)
    expect(r.rc == 1, 'validate of a YAML syntax error exited %s, expected 1\n%s' % (r.rc, r.describe()))
    ds = diags_of(r, path)
    expect(ds and all(2 <= x[0] <= 5 for x in ds), 'expected a FILE:LINE:COL diagnostic on lines 2-5, got:\n%s' % r.err)


def check_usage(args, d):
    for argv, want in ((['validate'], 2), (['no-such-command'], 2), (['run'], 2),
                       (['run', '--no-such-flag', 'x.yaml'], 2)):
        r = run([args.wire_node] + argv, timeout=30)
        expect(r.rc == want, 'wire-node %s exited %s, expected %d\n%s' % (' '.join(argv), r.rc, want, r.describe()))
    r = run([args.wire_node, 'validate', os.path.join(d, 'missing.yaml')], timeout=30)
    expect(r.rc not in (0, 2) and 'missing.yaml' in r.err,
           'validate of a missing file: exit %s (want 1 or 3) and the path in the message\n%s' % (
               r.rc, r.describe()))
    r = run([args.wire_node, 'version'], timeout=30)
    expect(r.rc == 0 and re.match(r'^wire-node \d+\.\d+\.\d+$', r.out.strip()), 'version: %r' % r.out)


def main():
    args = parse_args()
    c = Checks('wire-node validate')
    with TempDir('validate') as d:
        c.run('broken definition: every problem as FILE:LINE:COL, exit 1', check_broken, args, d)
        c.run('run of the broken definition exits 1', check_run_broken, args, d)
        c.run('valid definition: exit 0', check_valid, args, d)
        c.run('YAML syntax error', check_syntax, args, d)
        c.run('usage errors exit 2', check_usage, args, d)
    c.finish()


if __name__ == '__main__':
    main()
