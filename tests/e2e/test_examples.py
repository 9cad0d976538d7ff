#!/usr/bin/env python3
"""The programs in examples/ build and do what they say.

- embed_yaml OUT: every line of OUT is JSON with "level":"error", there is
  at least one, and the count equals what the program reports for its sink.
- custom_sink: its per-level histogram of 50,000 generated records (seed 7)
  sums to 50,000 and equals the histogram of the same generator run through
  `wire-node run` into a file (the generator is deterministic).
- embed_cpp: exits 0 and reports 1000 records received.
"""

import json
import os
import re
import shutil
import subprocess
import sys
from collections import Counter

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from wiretest import (Checks, TempDir, expect, fail, parse_args, read_lines, run,  # noqa: E402
                      wire_run, write)


def example(args, name):
    path = os.path.join(args.build, 'examples', name)
    if not os.access(path, os.X_OK):
        # meson test only rebuilds what tests depend on; build it if missing
        ninja = shutil.which('ninja')
        if ninja:
            subprocess.run([ninja, '-C', args.build, 'examples/' + name],
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    if not os.access(path, os.X_OK):
        fail('example program %s is not built (ninja -C %s examples/%s)' % (path, args.build, name))
    return path


def check_embed_yaml(args, d):
    out = os.path.join(d, 'errors.ndjson')
    r = run([example(args, 'embed_yaml'), out], timeout=60, cwd=d)
    expect(r.rc == 0, 'embed_yaml failed\n%s' % r.describe())
    lines = read_lines(out)
    expect(len(lines) > 0, 'embed_yaml wrote no records to %s' % out)
    for i, l in enumerate(lines):
        try:
            v = json.loads(l)
        except ValueError:
            fail('line %d of the embed_yaml output is not JSON: %r' % (i + 1, l[:200]))
        expect(isinstance(v, dict) and v.get('level') == 'error',
               'line %d of the embed_yaml output is not an error record: %r' % (i + 1, l[:200]))
    m = re.search(r'^out\s+in (\d+) out (\d+)', r.out, re.M)
    expect(m, 'embed_yaml did not print its sink stats ("out in N out N"):\n%s' % r.out)
    expect(int(m.group(2)) == len(lines), 'embed_yaml reports %s records written, file has %d' % (
        m.group(2), len(lines)))
    gen = re.search(r'^gen\s+in (\d+) out (\d+)', r.out, re.M)
    expect(gen and int(gen.group(2)) == 10000, 'generator did not report 10000 records:\n%s' % r.out)
    expect(len(lines) < 10000, 'the jq filter let every record through (%d)' % len(lines))
    print('   %d error records of 10000' % len(lines))


def check_custom_sink(args, d):
    r = run([example(args, 'custom_sink')], timeout=60, cwd=d)
    expect(r.rc == 0, 'custom_sink failed\n%s' % r.describe())
    hist = {}
    for line in r.out.splitlines():
        m = re.match(r'^(\w+)\s+(\d+)$', line)
        if m:
            hist[m.group(1)] = int(m.group(2))
    expect(set(hist) == {'debug', 'info', 'warn', 'error', 'other'},
           'custom_sink printed %r, expected counts for debug, info, warn, error, other' % r.out)
    expect(sum(hist.values()) == 50000, 'histogram sums to %d, expected 50000: %s' % (
        sum(hist.values()), hist))
    expect(sum(1 for k in ('debug', 'info', 'warn', 'error') if hist[k] > 0) >= 2,
           'fewer than two levels seen: %s' % hist)
    # the same generator through wire-node, counted here
    out = os.path.join(d, 'gen.ndjson')
    yml = write(os.path.join(d, 'gen.yaml'),
                'name: same-gen\nsources:\n  - {id: gen, type: generator, count: 50000, seed: 7}\n'
                'sinks:\n  - {id: out, type: file, inputs: [gen], path: %s, append: false}\n' % json.dumps(out))
    wire_run(args.wire_node, yml, timeout=60)
    ref = Counter()
    for l in read_lines(out):
        lv = json.loads(l).get('level')
        ref[lv if lv in ('debug', 'info', 'warn', 'error') else 'other'] += 1
    ref = {k: ref.get(k, 0) for k in hist}
    expect(ref == hist, 'custom_sink histogram %s differs from the levels of the same generator '
           '(count 50000, seed 7) written by wire-node: %s' % (hist, ref))
    print('   histogram %s' % hist)


def check_embed_cpp(args, d):
    r = run([example(args, 'embed_cpp')], timeout=60, cwd=d)
    expect(r.rc == 0, 'embed_cpp failed\n%s' % r.describe())
    expect(re.search(r'libwire \d+\.\d+\.\d+: out received 1000 records', r.out),
           'unexpected output of embed_cpp: %r' % r.out)


def main():
    args = parse_args()
    c = Checks('examples')
    with TempDir('examples') as d:
        c.run('examples/embed_yaml', check_embed_yaml, args, d)
        c.run('examples/custom_sink', check_custom_sink, args, d)
        c.run('examples/embed_cpp', check_embed_cpp, args, d)
    c.finish()


if __name__ == '__main__':
    main()
