"""Real-process cluster harness for the integration tests (python3 stdlib).

Starts `wire-node serve` processes on 127.0.0.1 with free ports and
temporary data dirs, talks to their HTTP API, kills them with SIGKILL or
stops them with SIGTERM, restarts them from their data dirs.

    with Cluster(wire_node, 3) as c:      # node 1 bootstraps, 2 and 3 join
        c.put(c.follower(), b'k', b'v')
        c.kill9(c.leader())

A test script is run as `python3 test_x.py WIRE_NODE` and exits 0 when every
check passed.  WIRE_IT_KEEP=1 keeps the data dirs and logs.
"""

import http.client
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import traceback
import urllib.parse


class CheckFailed(AssertionError):
    pass


def expect(cond, msg):
    if not cond:
        raise CheckFailed(msg)


def free_port():
    s = socket.socket()
    s.bind(('127.0.0.1', 0))
    port = s.getsockname()[1]
    s.close()
    return port


def wait_until(fn, timeout, what, interval=0.05):
    """Call fn until it returns a true value; fail after timeout seconds."""
    deadline = time.monotonic() + timeout
    last_exc = None
    while time.monotonic() < deadline:
        try:
            v = fn()
            if v:
                return v
        except (OSError, http.client.HTTPException, ValueError) as e:
            last_exc = e
        time.sleep(interval)
    raise CheckFailed('timed out after %.1f s waiting for %s%s' % (
        timeout, what, ' (last error: %s)' % last_exc if last_exc else ''))


def key_path(key):
    if isinstance(key, str):
        key = key.encode()
    return '/key/' + urllib.parse.quote(key, safe='')


class Node:
    def __init__(self, wire_node, nid, root, extra=None):
        self.wire_node = wire_node
        self.id = nid
        self.dir = os.path.join(root, 'n%d' % nid)
        # Working directory of the process: relative paths in pipeline
        # definitions (file sinks) land here, one per node.
        self.work = os.path.join(root, 'w%d' % nid)
        os.makedirs(self.work, exist_ok=True)
        self.raft_port = free_port()
        self.http_port = free_port()
        self.extra = list(extra or [])
        self.token = None  # --http-token: sent as a bearer token by request()
        self.env = None    # extra environment of the process (every start)
        self.proc = None
        self.log_path = os.path.join(root, 'n%d.log' % nid)
        self.log = None

    @property
    def http(self):
        return '127.0.0.1:%d' % self.http_port

    @property
    def raft(self):
        return '127.0.0.1:%d' % self.raft_port

    def start(self, bootstrap=False, join=None, extra=None, check=True):
        args = [self.wire_node, 'serve', '--id', str(self.id),
                '--data-dir', self.dir, '--raft', self.raft,
                '--http', self.http] + self.extra + list(extra or [])
        if bootstrap:
            args.append('--bootstrap')
        if join:
            args += ['--join', ','.join(join)]
        self.log = open(self.log_path, 'ab')
        self.log.write(('\n=== start %s\n' % ' '.join(args)).encode())
        self.log.flush()
        self.proc = subprocess.Popen(args, stdout=self.log, stderr=subprocess.STDOUT,
                                     cwd=self.work,
                                     env=dict(os.environ, **self.env) if self.env else None)
        if check:
            wait_until(lambda: self.alive() and self.healthy(), 10,
                       'node %d to answer /healthz' % self.id)
        return self

    def alive(self):
        if self.proc is None:
            return False
        if self.proc.poll() is not None:
            raise CheckFailed('node %d exited with %s; log %s:\n%s' % (
                self.id, self.proc.returncode, self.log_path, self.tail()))
        return True

    def tail(self, n=30):
        try:
            with open(self.log_path, 'rb') as f:
                return b'\n'.join(f.read().splitlines()[-n:]).decode(errors='replace')
        except OSError:
            return ''

    def healthy(self):
        st, _, _ = self.request('GET', '/healthz', timeout=1)
        return st == 200

    def kill9(self):
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait()
        self.proc = None
        self.log.close()

    def stop(self, timeout=15):
        """SIGTERM and wait; returns the exit code."""
        self.proc.send_signal(signal.SIGTERM)
        try:
            rc = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            raise CheckFailed('node %d did not stop within %d s after SIGTERM' % (self.id, timeout))
        self.proc = None
        self.log.close()
        return rc

    def request(self, method, path, body=None, headers=None, timeout=10, auth=True):
        conn = http.client.HTTPConnection('127.0.0.1', self.http_port, timeout=timeout)
        headers = dict(headers or {})
        if auth and self.token:
            headers.setdefault('Authorization', 'Bearer ' + self.token)
        try:
            conn.request(method, path, body=body, headers=headers)
            r = conn.getresponse()
            data = r.read()
            return r.status, dict(r.getheaders()), data
        finally:
            conn.close()

    def json(self, method, path, obj=None, timeout=10):
        body = None if obj is None else json.dumps(obj).encode()
        st, hdr, data = self.request(method, path, body,
                                     {'Content-Type': 'application/json'} if body else None,
                                     timeout)
        try:
            doc = json.loads(data) if data else None
        except ValueError:
            raise CheckFailed('%s %s on node %d: body is not JSON: %r' % (method, path, self.id, data[:200]))
        return st, doc

    def status(self):
        st, doc = self.json('GET', '/status', timeout=2)
        expect(st == 200, 'GET /status on node %d: %s %s' % (self.id, st, doc))
        return doc

    def ready(self):
        st, _, _ = self.request('GET', '/readyz', timeout=2)
        return st == 200

    def put(self, key, value, timeout=10):
        st, _, data = self.request('PUT', key_path(key), value, timeout=timeout)
        return st, data

    def get(self, key, stale=False, timeout=10):
        p = key_path(key) + ('?consistency=stale' if stale else '')
        st, _, data = self.request('GET', p, timeout=timeout)
        return st, data

    def delete(self, key, timeout=10):
        st, _, data = self.request('DELETE', key_path(key), timeout=timeout)
        return st, data


class Cluster:
    def __init__(self, wire_node, n, extra=None, name='cluster', root_dir='/tmp',
                 http_token=None):
        self.root = tempfile.mkdtemp(prefix='wire-it-%s-' % name, dir=root_dir)
        self.wire_node = wire_node
        self.extra = extra or []
        self.http_token = http_token  # given to every node in WIRE_HTTP_TOKEN
        self.nodes = []
        self.n = n

    def __enter__(self):
        first = self.add_node(bootstrap=True)
        wait_until(lambda: first.status()['state'] == 'leader', 10, 'node 1 to lead')
        for _ in range(self.n - 1):
            self.add_node()
        self.wait_ready()
        return self

    def __exit__(self, *exc):
        for nd in self.nodes:
            if nd.proc is not None:
                try:
                    nd.proc.kill()
                    nd.proc.wait()
                except OSError:
                    pass
        if exc[0] is not None or os.environ.get('WIRE_IT_KEEP'):
            print('cluster files kept in %s' % self.root)
            for nd in self.nodes:
                print('--- node %d log tail:\n%s' % (nd.id, nd.tail(15)))
        else:
            shutil.rmtree(self.root, ignore_errors=True)

    def add_node(self, bootstrap=False, extra=None):
        self.next_id = getattr(self, 'next_id', 0) + 1  # ids are never reused
        nd = Node(self.wire_node, self.next_id, self.root, self.extra + list(extra or []))
        if self.http_token:
            nd.token = self.http_token
            nd.env = {'WIRE_HTTP_TOKEN': self.http_token}
        self.nodes.append(nd)
        join = None if bootstrap else [m.http for m in self.running()[:3] if m is not nd]
        nd.start(bootstrap=bootstrap, join=join)
        return nd

    def running(self):
        return [nd for nd in self.nodes if nd.proc is not None]

    def wait_ready(self, nodes=None, timeout=20):
        for nd in nodes or self.running():
            wait_until(nd.ready, timeout, 'node %d to be ready' % nd.id)

    def leader(self, timeout=10):
        """The node all running members agree leads (waits for one)."""
        def find():
            ids = set()
            for nd in self.running():
                s = nd.status()
                ids.add(s.get('leader_id'))
            ids.discard(0)
            ids.discard(None)
            if len(ids) != 1:
                return None
            lid = ids.pop()
            for nd in self.running():
                if nd.id == lid:
                    return nd
            return None
        return wait_until(find, timeout, 'one agreed leader')

    def follower(self):
        lead = self.leader()
        return next(nd for nd in self.running() if nd is not lead)


def run(tests, argv=None):
    """Run test functions test(wire_node); print one line per test; exit."""
    argv = argv or sys.argv
    if len(argv) < 2:
        print('usage: %s WIRE_NODE' % argv[0])
        sys.exit(2)
    wire_node = os.path.abspath(argv[1])
    only = os.environ.get('WIRE_IT_ONLY')  # comma-separated test names
    if only:
        tests = [t for t in tests if t.__name__ in only.split(',')]
    failed = 0
    for t in tests:
        t0 = time.monotonic()
        try:
            t(wire_node)
            print('ok   %s (%.1f s)' % (t.__name__, time.monotonic() - t0))
        except Exception as e:  # noqa: BLE001 - report every failure
            failed += 1
            print('FAIL %s (%.1f s): %s' % (t.__name__, time.monotonic() - t0, e))
            if not isinstance(e, CheckFailed):
                traceback.print_exc()
        sys.stdout.flush()
    print('%d passed, %d failed' % (len(tests) - failed, failed))
    sys.exit(1 if failed else 0)
