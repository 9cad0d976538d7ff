"""Shared helpers for the libwire end-to-end tests (python3 stdlib only).

Every e2e script is run by meson as

    python3 tests/e2e/<script>.py WIRE_NODE [--source DIR] [--build DIR]

and uses this module to: make a temp dir, write pipeline definitions, run
`wire-node` as a real subprocess with a timeout, parse the run summary it
prints on stderr, run the `jq` CLI as the reference, and report each check
with a clear message.  A script exits 0 when every check passed, 1 otherwise.

Set WIRE_E2E_KEEP=1 to keep the temp dirs for inspection.
"""

import argparse
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import traceback


class CheckFailed(AssertionError):
    pass


def fail(msg):
    raise CheckFailed(msg)


def expect(cond, msg):
    if not cond:
        fail(msg)


# ---- command line and environment ---------------------------------------

def parse_args(argv=None):
    ap = argparse.ArgumentParser()
    ap.add_argument('wire_node', help='path of the wire-node executable')
    ap.add_argument('--source', help='source root of the project')
    ap.add_argument('--build', help='build root of the project')
    ap.add_argument('--jq', default=None, help='jq CLI (default: /usr/bin/jq or PATH)')
    args = ap.parse_args(argv)
    here = os.path.dirname(os.path.abspath(__file__))
    if not args.source:
        args.source = os.path.dirname(os.path.dirname(here))
    if not args.build:
        # wire-node lives in <build>/daemon/wire-node
        args.build = os.path.dirname(os.path.dirname(os.path.abspath(args.wire_node)))
    args.wire_node = os.path.abspath(args.wire_node)
    return args


def find_jq(explicit=None):
    for cand in (explicit, '/usr/bin/jq', shutil.which('jq')):
        if cand and os.access(cand, os.X_OK):
            return cand
    return None


class TempDir:
    """mkdtemp under /tmp, removed on exit unless WIRE_E2E_KEEP is set."""

    def __init__(self, prefix):
        self.path = tempfile.mkdtemp(prefix='wire-e2e-%s-' % prefix, dir='/tmp')

    def __enter__(self):
        return self.path

    def __exit__(self, *exc):
        if os.environ.get('WIRE_E2E_KEEP'):
            print('kept temp dir %s' % self.path)
        else:
            shutil.rmtree(self.path, ignore_errors=True)
        return False


# ---- the check runner -------------------------------------------------------

class Checks:
    """Run named checks, keep going after a failure, summarise at the end."""

    def __init__(self, title):
        self.title = title
        self.failed = []
        self.passed = 0
        print('== %s' % title, flush=True)

    def run(self, name, fn, *a, **kw):
        t0 = time.monotonic()
        print('-- check: %s' % name, flush=True)
        try:
            fn(*a, **kw)
        except CheckFailed as e:
            self.failed.append(name)
            print('FAIL: %s\n      %s' % (name, str(e).replace('\n', '\n      ')), flush=True)
            return False
        except Exception:  # a bug in the test or an unexpected crash
            self.failed.append(name)
            print('FAIL: %s (exception)\n%s' % (name, traceback.format_exc()), flush=True)
            return False
        self.passed += 1
        print('   ok: %s (%.1f s)' % (name, time.monotonic() - t0), flush=True)
        return True

    def finish(self):
        print('== %s: %d passed, %d failed%s' % (
            self.title, self.passed, len(self.failed),
            (': ' + ', '.join(self.failed)) if self.failed else ''), flush=True)
        sys.exit(1 if self.failed else 0)


# ---- YAML writing -----------------------------------------------------------

def yq(s):
    """Quote a string for YAML: a JSON string is a valid YAML double-quoted
    scalar (ASCII only, so no encoding doubts)."""
    return json.dumps(str(s), ensure_ascii=True)


def write(path, text, mode='w'):
    with open(path, mode) as f:
        f.write(text)
    return path


# ---- running wire-node ------------------------------------------------------

class Result:
    def __init__(self, cmd, rc, out, err, elapsed):
        self.cmd, self.rc, self.out, self.err, self.elapsed = cmd, rc, out, err, elapsed

    def describe(self):
        return ('command: %s\nexit code: %s\nstdout (tail):\n%s\nstderr (tail):\n%s' % (
            ' '.join(self.cmd), self.rc, tail(self.out), tail(self.err)))


def tail(s, n=25):
    lines = s.splitlines()
    if len(lines) > n:
        lines = ['  [... %d lines ...]' % (len(lines) - n)] + lines[-n:]
    return '\n'.join('    | ' + l for l in lines)


def run(cmd, timeout=120, env=None, cwd=None, stdin=subprocess.DEVNULL):
    t0 = time.monotonic()
    try:
        p = subprocess.run(cmd, stdin=stdin, stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, timeout=timeout, env=env, cwd=cwd)
    except subprocess.TimeoutExpired as e:
        fail('timed out after %d s: %s\nstderr so far:\n%s' % (
            timeout, ' '.join(cmd), tail((e.stderr or b'').decode('utf-8', 'replace'))))
    return Result(cmd, p.returncode, p.stdout.decode('utf-8', 'replace'),
                  p.stderr.decode('utf-8', 'replace'), time.monotonic() - t0)


def wire_run(wire_node, yaml_path, extra=(), timeout=120, expect_rc=0):
    r = run([wire_node, 'run', yaml_path] + list(extra), timeout=timeout)
    if expect_rc is not None and r.rc != expect_rc:
        fail('wire-node run exited %s, expected %s\n%s' % (r.rc, expect_rc, r.describe()))
    return r


# The per-node rows of the summary, see summary() in daemon/wire-node.c:
#   "  %-16s %-6s %-10s %12llu %12llu %10llu %10llu %14.0f"
ROW = re.compile(r'^\s+(\S+)\s+(source|op|sink)\s+(\S+)\s+(\d+)\s+(\d+)\s+(\d+)\s+(\d+)\s+(\S+)\s*$')
HEAD = re.compile(r'^pipeline (\S+): (\S+) in ([0-9.]+) s$')


class Summary:
    def __init__(self, name, state, seconds, rows, positions):
        self.name, self.state, self.seconds = name, state, seconds
        self.rows = rows          # id -> dict(kind, type, in, out, dropped, errors)
        self.positions = positions  # source id -> position text

    def row(self, node_id):
        if node_id not in self.rows:
            fail('summary has no row for node %r (rows: %s)' % (node_id, ', '.join(self.rows)))
        return self.rows[node_id]


def parse_summary(stderr):
    head = None
    rows = {}
    positions = {}
    for line in stderr.splitlines():
        m = HEAD.match(line)
        if m:
            head = (m.group(1), m.group(2), float(m.group(3)))
            rows = {}
            continue
        m = ROW.match(line)
        if m and head:
            rows[m.group(1)] = dict(kind=m.group(2), type=m.group(3), **{
                'in': int(m.group(4)), 'out': int(m.group(5)),
                'dropped': int(m.group(6)), 'errors': int(m.group(7))})
            continue
        m = re.match(r'^\s+position of (\S+): (.*)$', line)
        if m:
            positions[m.group(1)] = m.group(2)
    if not head:
        fail('no run summary ("pipeline NAME: STATE in T s") on stderr:\n%s' % tail(stderr))
    return Summary(head[0], head[1], head[2], rows, positions)


# ---- jq as the reference ----------------------------------------------------

def jq_ref(jq, expr, infile, outfile, timeout=120):
    """Run `jq -c EXPR infile > outfile`; return the number of runtime errors
    jq reported (jq continues with the next input after an error)."""
    with open(outfile, 'wb') as out:
        p = subprocess.run([jq, '-c', expr, infile], stdout=out, stderr=subprocess.PIPE,
                           stdin=subprocess.DEVNULL, timeout=timeout)
    err = p.stderr.decode('utf-8', 'replace')
    nerr = sum(1 for l in err.splitlines() if l.startswith('jq: error'))
    if p.returncode not in (0, 5) or (p.returncode == 5 and nerr == 0):
        fail('reference jq failed (exit %d) on %r:\n%s' % (p.returncode, expr, tail(err)))
    return nerr


def read_lines(path):
    """Lines of a file as bytes without the newline; checks the file ends with
    a newline (no torn last record)."""
    with open(path, 'rb') as f:
        data = f.read()
    if data and not data.endswith(b'\n'):
        fail('%s does not end with a newline: torn last record %r' % (
            path, data[-80:]))
    return data.split(b'\n')[:-1] if data else []


def json_key(line):
    """Semantic form of a JSON line for comparisons that tolerate formatting:
    numbers as doubles (as jq), duplicate keys last-wins, re-dumped sorted."""
    v = json.loads(line, parse_int=float)
    return json.dumps(v, sort_keys=True, ensure_ascii=False)


def compare_lines(got, want, what, got_name='wire', want_name='jq'):
    """Exact, ordered, line by line.  On a mismatch say where and whether the
    lines are at least the same JSON value (a formatting difference)."""
    if got == want:
        return
    n = min(len(got), len(want))
    first = next((i for i in range(n) if got[i] != want[i]), n)
    msg = ['%s: %s output differs from %s (%d lines vs %d)' % (
        what, got_name, want_name, len(got), len(want))]
    ndiff = sum(1 for i in range(n) if got[i] != want[i])
    msg.append('first difference at line %d; %d of the first %d lines differ' % (
        first + 1, ndiff, n))
    if first < n:
        g, w = got[first], want[first]
        msg.append('  %-4s: %r' % (got_name, g[:300]))
        msg.append('  %-4s: %r' % (want_name, w[:300]))
        try:
            same = json_key(g) == json_key(w)
        except ValueError:
            same = False
        if same:
            msg.append('  (same JSON value, different text: output not re-serialised as jq -c does)')
            sem = 0
            for i in range(n):
                if got[i] != want[i]:
                    try:
                        if json_key(got[i]) != json_key(want[i]):
                            sem += 1
                    except ValueError:
                        sem += 1
            msg.append('  lines that differ as JSON values too: %d' % sem)
    else:
        extra = got[n:] if len(got) > n else want[n:]
        msg.append('  extra lines in %s, first: %r' % (
            got_name if len(got) > n else want_name, extra[0][:300]))
    fail('\n'.join(msg))


def compare_multiset(got, want, what):
    from collections import Counter
    cg, cw = Counter(got), Counter(want)
    if cg == cw:
        return
    missing = cw - cg
    extra = cg - cw
    fail('%s: multisets differ (%d vs %d lines): %d lines missing from wire output, '
         '%d unexpected; e.g. missing %r, unexpected %r' % (
             what, len(got), len(want), sum(missing.values()), sum(extra.values()),
             next(iter(missing), None), next(iter(extra), None)))


# ---- processes ----------------------------------------------------------------

def sanitizer_flags(build):
    """-fsanitize=... of a sanitized build (for programs we compile and link
    against its libwire), from meson's introspection data."""
    try:
        with open(os.path.join(build, 'meson-info', 'intro-buildoptions.json')) as f:
            opts = {o['name']: o['value'] for o in json.load(f)}
    except (OSError, ValueError, KeyError):
        return []
    san = opts.get('b_sanitize', 'none')
    if san and san != 'none':
        return ['-fsanitize=' + san]
    return []


def signal_name(rc):
    if rc is not None and rc < 0:
        try:
            return 'killed by %s' % signal.Signals(-rc).name
        except ValueError:
            return 'killed by signal %d' % -rc
    return 'exit code %s' % rc
