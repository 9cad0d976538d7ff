#!/usr/bin/env python3
"""The file source over time: follow (tail -F), start: end, lines, resume.

- follow: true: lines already in the file, lines appended while running,
  a line written in two halves (never emitted torn), a rotation (rename +
  new file: the old file is finished first), and a truncation
  (copytruncate) all arrive, in order, exactly once; Ctrl-C then exits 0.
- start: end skips what was in the file before the start.
- format: lines passes any text through (invalid JSON included).
- `wire-node run --resume in=POSITION` with the position printed by a
  previous run continues after the records already read.
"""

import json
import os
import signal
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from wiretest import (Checks, TempDir, compare_lines, expect, fail, parse_args,  # noqa: E402
                      parse_summary, read_lines, signal_name, tail, wire_run, write, yq)


def rec(tag, i):
    return b'{"src":"%s","i":%d}' % (tag.encode(), i)


def yaml(src_path, out, extra='', fmt='ndjson'):
    return '\n'.join([
        'name: follow',
        'sources:',
        '  - {id: in, type: file, path: %s, format: %s, poll_interval_ms: 50%s}' % (yq(src_path), fmt, extra),
        'sinks:',
        '  - {id: out, type: file, inputs: [in], path: %s, append: false, flush_interval_ms: 50}' % yq(out),
        ''])


def append(path, data):
    with open(path, 'ab') as f:
        f.write(data)
        f.flush()


def wait_lines(path, n, timeout=10.0):
    t0 = time.monotonic()
    have = 0
    while time.monotonic() - t0 < timeout:
        if os.path.exists(path):
            with open(path, 'rb') as f:
                have = f.read().count(b'\n')
            if have >= n:
                return have
        time.sleep(0.05)
    return have


class Running:
    def __init__(self, args, yml):
        self.p = subprocess.Popen([args.wire_node, 'run', yml], stdin=subprocess.DEVNULL,
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE)

    def stop(self):
        if self.p.poll() is not None:
            o, e = self.p.communicate()
            fail('wire-node exited on its own (%s) while following:\n%s' % (
                signal_name(self.p.returncode), tail(e.decode('utf-8', 'replace'))))
        self.p.send_signal(signal.SIGINT)
        try:
            o, e = self.p.communicate(timeout=10)
        except subprocess.TimeoutExpired:
            self.p.kill()
            o, e = self.p.communicate()
            fail('no exit within 10 s of SIGINT:\n%s' % tail(e.decode('utf-8', 'replace')))
        err = e.decode('utf-8', 'replace')
        expect(self.p.returncode == 0, 'exit after SIGINT: %s\n%s' % (signal_name(self.p.returncode), tail(err)))
        return parse_summary(err)

    def kill(self):
        if self.p.poll() is None:
            self.p.kill()
            self.p.communicate()


def check_follow(args, d):
    src = os.path.join(d, 'app.log')
    out = os.path.join(d, 'follow.out')
    want = [rec('a', i) for i in range(1000)]
    write(src, b'\n'.join(want) + b'\n', 'wb')
    run = Running(args, write(os.path.join(d, 'follow.yaml'), yaml(src, out, ', follow: true')))
    try:
        expect(wait_lines(out, 1000) == 1000, 'the lines present at start did not all arrive')
        more = [rec('b', i) for i in range(1000)]
        for k in range(0, 1000, 100):  # appended in chunks while running
            append(src, b'\n'.join(more[k:k + 100]) + b'\n')
            time.sleep(0.02)
        want += more
        expect(wait_lines(out, 2000) == 2000, 'appended lines did not all arrive')
        half = rec('c', 0)
        append(src, half[:7])  # a torn line must wait for its end
        time.sleep(0.4)
        expect(wait_lines(out, 2001, timeout=0.3) == 2000, 'half a line was emitted')
        append(src, half[7:] + b'\n')
        want.append(half)
        expect(wait_lines(out, 2001) == 2001, 'the completed line did not arrive')
        # rotation: rename, more lines to the old file, then a new file
        os.rename(src, src + '.1')
        append(src + '.1', rec('d', 0) + b'\n')
        want.append(rec('d', 0))
        newf = [rec('e', i) for i in range(300)]
        write(src, b'\n'.join(newf) + b'\n', 'wb')
        want += newf
        expect(wait_lines(out, len(want)) == len(want), 'lines around the rotation did not all arrive')
        # truncation (copytruncate)
        with open(src, 'wb') as f:
            f.write(rec('f', 0) + b'\n')
        want.append(rec('f', 0))
        got_n = wait_lines(out, len(want))
        expect(got_n == len(want), 'after a truncation: %d of %d lines' % (got_n, len(want)))
        time.sleep(0.3)
        s = run.stop()
    finally:
        run.kill()
    got = read_lines(out)
    compare_lines(got, want, 'follow: appends, torn line, rotation, truncation', want_name='written')
    expect(s.row('out')['out'] == len(want), 'sink out %d, expected %d' % (s.row('out')['out'], len(want)))
    print('   %d lines in order; position: %s' % (len(got), s.positions.get('in')))


def check_start_end(args, d):
    src = os.path.join(d, 'end.log')
    out = os.path.join(d, 'end.out')
    write(src, b'\n'.join(rec('old', i) for i in range(500)) + b'\n', 'wb')
    run = Running(args, write(os.path.join(d, 'end.yaml'), yaml(src, out, ', follow: true, start: end')))
    try:
        time.sleep(0.8)
        new = [rec('new', i) for i in range(200)]
        append(src, b'\n'.join(new) + b'\n')
        wait_lines(out, 200)
        time.sleep(0.3)
        run.stop()
    finally:
        run.kill()
    compare_lines(read_lines(out), new, 'start: end', want_name='lines appended after start')


def check_lines(args, d):
    src = os.path.join(d, 'plain.txt')
    out = os.path.join(d, 'plain.out')
    lines = [b'plain text', b'{"json": true}', b'{broken', b'', b'caf\xc3\xa9 \t tab']
    write(src, b'\n'.join(lines) + b'\n', 'wb')
    r = wire_run(args.wire_node, write(os.path.join(d, 'lines.yaml'), yaml(src, out, fmt='lines')))
    s = parse_summary(r.err)
    got = read_lines(out)
    expect(s.row('in')['errors'] == 0, 'format lines rejected %d lines' % s.row('in')['errors'])
    if got != lines and got == [l for l in lines if l]:
        print('   note: the empty line was skipped')
    else:
        compare_lines(got, lines, 'format: lines', want_name='input')


def check_resume(args, d):
    src = os.path.join(d, 'resume.log')
    out1, out2 = os.path.join(d, 'resume1.out'), os.path.join(d, 'resume2.out')
    first = [rec('r1', i) for i in range(3000)]
    write(src, b'\n'.join(first) + b'\n', 'wb')
    r = wire_run(args.wire_node, write(os.path.join(d, 'r1.yaml'), yaml(src, out1)))
    s = parse_summary(r.err)
    pos = s.positions.get('in')
    expect(pos, 'the summary has no "position of in:" line:\n%s' % tail(r.err))
    try:
        json.loads(pos)
    except ValueError:
        fail('position %r is not JSON' % pos)
    compare_lines(read_lines(out1), first, 'first run')
    second = [rec('r2', i) for i in range(700)]
    append(src, b'\n'.join(second) + b'\n')
    r = wire_run(args.wire_node, write(os.path.join(d, 'r2.yaml'), yaml(src, out2)),
                 extra=['--resume', 'in=' + pos])
    compare_lines(read_lines(out2), second, '--resume in=%s' % pos, want_name='lines appended after run 1')
    print('   resumed from %s' % pos)


def main():
    args = parse_args()
    c = Checks('file source: follow, start, lines, resume')
    with TempDir('follow') as d:
        c.run('follow: appends, torn line, rotation, truncation, then Ctrl-C', check_follow, args, d)
        c.run('start: end skips existing lines', check_start_end, args, d)
        c.run('format: lines passes any text', check_lines, args, d)
        c.run('--resume continues after the printed position', check_resume, args, d)
    c.finish()


if __name__ == '__main__':
    main()
