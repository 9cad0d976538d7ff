#!/usr/bin/env python3
"""Graceful stop on Ctrl-C (SIGINT) and SIGTERM.

An unbounded generator (`rate: 20000`, no count) writes into a file sink.
After about a second the test sends the signal and expects: exit 0 within a
few seconds, the run summary on stderr, an output file with exactly as many
complete lines as the sink's `out` count (no torn last line), and records
with seq 0..N-1 in order (nothing lost or duplicated before the stop).  The
rate limit must hold too: N is about 20,000 per second of running.
"""

import json
import os
import signal
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from wiretest import (Checks, TempDir, expect, fail, parse_summary, parse_args,  # noqa: E402
                      read_lines, signal_name, tail, write, yq)

RATE = 20000


def yaml(out, extra_sink=''):
    return '\n'.join([
        'name: sigint',
        'sources:',
        '  - {id: gen, type: generator, rate: %d, seed: 11}' % RATE,
        'sinks:',
        '  - {id: out, type: file, inputs: [gen], path: %s, append: false%s}' % (yq(out), extra_sink),
        ''])


def stop_with(args, d, sig, after, tag, extra_sink=''):
    out = os.path.join(d, '%s.ndjson' % tag)
    yml = write(os.path.join(d, '%s.yaml' % tag), yaml(out, extra_sink))
    t0 = time.monotonic()
    p = subprocess.Popen([args.wire_node, 'run', yml], stdin=subprocess.DEVNULL,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    time.sleep(after)
    if p.poll() is not None:
        o, e = p.communicate()
        fail('wire-node ended before the signal (%s):\n%s' % (signal_name(p.returncode),
                                                             tail(e.decode('utf-8', 'replace'))))
    t_sig = time.monotonic()
    p.send_signal(sig)
    try:
        o, e = p.communicate(timeout=10)
    except subprocess.TimeoutExpired:
        p.kill()
        o, e = p.communicate()
        fail('wire-node did not exit within 10 s of %s:\n%s' % (sig.name, tail(e.decode('utf-8', 'replace'))))
    t_end = time.monotonic()
    err = e.decode('utf-8', 'replace')
    print('   exited %.2f s after %s (ran %.2f s)' % (t_end - t_sig, sig.name, t_end - t0))
    expect(p.returncode == 0, 'exit status after %s: %s, expected 0\n%s' % (
        sig.name, signal_name(p.returncode), tail(err)))
    expect(t_end - t_sig < 5, 'took %.1f s to stop after %s' % (t_end - t_sig, sig.name))
    s = parse_summary(err)
    expect(s.state.lower() in ('stopped', 'finished'), 'pipeline state %r after %s' % (s.state, sig.name))
    lines = read_lines(out)  # also fails on a torn last line
    n = s.row('out')['out']
    expect(n == len(lines), 'sink out = %d but the file has %d complete lines' % (n, len(lines)))
    expect(n > 0, 'nothing was written in %.1f s' % after)
    for i, l in enumerate(lines):
        try:
            v = json.loads(l)
        except ValueError:
            fail('line %d is not JSON: %r' % (i + 1, l[:200]))
        if not isinstance(v, dict) or v.get('seq') != i:
            fail('line %d has seq %r, expected %d (records lost, duplicated or reordered): %r' % (
                i + 1, v.get('seq') if isinstance(v, dict) else None, i, l[:200]))
    gen = s.row('gen')
    expect(gen['out'] >= n, 'generator produced %d < %d written' % (gen['out'], n))
    ran = t_end - t0
    # rate limiting: allow a burst of a few batches on top of RATE * time
    expect(n <= RATE * ran * 1.2 + 4096,
           '%d records in %.2f s: the rate limit of %d/s was not respected' % (n, ran, RATE))
    expect(n >= RATE * after * 0.25,
           'only %d records in %.2f s at rate %d/s' % (n, after, RATE))
    print('   %d records, seq 0..%d in order; summary: %s' % (n, n - 1, s.row('out')))


def main():
    args = parse_args()
    c = Checks('graceful stop')
    with TempDir('sigint') as d:
        c.run('SIGINT after 1 s: exit 0, summary, no torn line, seq 0..N-1',
              stop_with, args, d, signal.SIGINT, 1.0, 'int')
        c.run('SIGTERM after 0.5 s with fsync: same guarantees',
              stop_with, args, d, signal.SIGTERM, 0.5, 'term', ', fsync: true')
        c.run('SIGINT after 1.5 s with a long flush_interval_ms',
              stop_with, args, d, signal.SIGINT, 1.5, 'flushint', ', flush_interval_ms: 5000')
    c.finish()


if __name__ == '__main__':
    main()
