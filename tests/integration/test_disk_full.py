"""A full disk: real `wire-node serve` processes whose data dir is on a small
tmpfs mounted for the test (needs root, as CI runs; without the right to
mount, exit 77: meson reports a skip, which scripts/test counts as failed).

  python3 tests/integration/test_disk_full.py BUILD/daemon/wire-node

- one node: the disk filled with a ballast file; writes are refused at
  once with 507 insufficient_storage (HTTP) and -MISCONF (RESP), a write in
  flight gets 504 "outcome unknown", stale reads and /healthz work, /readyz
  says why it is not ready; nothing hangs and the node does not crash.
  The ballast removed, writes work again within seconds, every acknowledged
  write is there, and so after a SIGKILL and restart;
- three nodes, the leader's disk full: it hands leadership over, the
  cluster takes writes through the new leader; as a follower that cannot
  apply it exits with code 3 and says to restart it (libraft 0.15 stops
  such a follower for good); restarted once there is room, it applies what
  it missed.
"""

import os
import socket
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from cluster import Cluster, Node, expect, free_port, run, wait_until  # noqa: E402

FAST = ['--election-timeout', '300', '--heartbeat-timeout', '50']


class Tmpfs:
    """A tmpfs of `mb` MiB mounted on a fresh directory; fill() leaves it
    full, free() empties the ballast."""

    def __init__(self, mb):
        self.dir = tempfile.mkdtemp(prefix='wire-it-full-')
        self.mb = mb
        self.ballast = os.path.join(self.dir, 'ballast')

    def __enter__(self):
        r = subprocess.run(['mount', '-t', 'tmpfs', '-o', 'size=%dm' % self.mb, 'tmpfs', self.dir],
                           capture_output=True, text=True)
        if r.returncode != 0:
            os.rmdir(self.dir)
            print('skip: cannot mount a tmpfs here (%s): the full-disk tests need root'
                  % r.stderr.strip())
            sys.exit(77)
        return self

    def __exit__(self, *exc):
        for _ in range(50):
            if subprocess.run(['umount', self.dir], capture_output=True).returncode == 0:
                break
            time.sleep(0.1)  # a node process still closing its files
        os.rmdir(self.dir)

    def fill(self):
        fd = os.open(self.ballast, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        try:
            for chunk in (1 << 20, 4096, 512):
                try:
                    while True:
                        os.write(fd, b'\0' * chunk)
                except OSError:
                    pass
        finally:
            os.close(fd)

    def free(self):
        os.unlink(self.ballast)


def metric(nd, name):
    st, _, body = nd.request('GET', '/metrics')
    expect(st == 200, '/metrics: %s' % st)
    for ln in body.decode().splitlines():
        if ln.startswith(name + ' '):
            return int(ln.split()[1])
    raise AssertionError('no %s in /metrics' % name)


def resp_cmd(port, *args):
    """One command over a raw RESP connection; the reply's first line."""
    with socket.create_connection(('127.0.0.1', port), timeout=10) as s:
        out = b'*%d\r\n' % len(args) + b''.join(b'$%d\r\n%s\r\n' % (len(a), a) for a in args)
        s.sendall(out)
        buf = b''
        while b'\r\n' not in buf:
            d = s.recv(4096)
            if not d:
                break
            buf += d
        return buf.split(b'\r\n')[0]


class OneOnTmpfs(Cluster):
    """Node 1 keeps its data on `where`, the others in the cluster dir."""

    def __init__(self, wire_node, n, where, **kw):
        super().__init__(wire_node, n, **kw)
        self.where = where

    def add_node(self, bootstrap=False, extra=None):
        self.next_id = getattr(self, 'next_id', 0) + 1
        nd = Node(self.wire_node, self.next_id, self.root, self.extra + list(extra or []))
        if nd.id == 1:
            nd.dir = os.path.join(self.where, 'n1')
        self.nodes.append(nd)
        join = None if bootstrap else [m.http for m in self.running() if m is not nd]
        nd.start(bootstrap=bootstrap, join=join)
        return nd


def test_single_node_full(wire_node):
    resp = free_port()
    with Tmpfs(48) as fs, OneOnTmpfs(wire_node, 1, fs.dir, name='full1',
                                     extra=FAST + ['--resp', '127.0.0.1:%d' % resp]) as c:
        nd = c.nodes[0]
        acked = {}
        for i in range(50):
            st, data = nd.put('k%d' % i, b'x' * 1000)
            expect(st == 204, 'PUT before the disk is full: %s %s' % (st, data))
            acked['k%d' % i] = b'x' * 1000
        fs.fill()
        codes, refused = [], []
        for i in range(30):
            t0 = time.monotonic()
            st, data = nd.put('full%d' % i, b'y' * 4000, timeout=20)
            took = time.monotonic() - t0
            expect(took < 6, 'a write on the full disk answered after %.1f s' % took)
            codes.append(st)
            if st == 204:
                acked['full%d' % i] = b'y' * 4000
            elif st == 507:
                expect(b'insufficient_storage' in data and b'No space left on device' in data and
                       b'not written' in data, '507 body: %s' % data)
                refused.append('full%d' % i)
            else:
                expect(st == 504 and b'outcome unknown' in data and b'No space left' in data,
                       'write on the full disk: %s %s' % (st, data))
        expect(len(refused) >= 20, 'writes refused on the full disk: %s' % codes)
        reply = resp_cmd(resp, b'SET', b'r1', b'v')
        expect(reply.startswith(b'-MISCONF') and b'No space left on device' in reply,
               'RESP SET on the full disk: %r' % reply)
        st, data = nd.get('k3', stale=True)
        expect(st == 200 and data == acked['k3'], 'stale read on the full disk: %s' % st)
        expect(nd.healthy(), '/healthz on the full disk')
        st, _, body = nd.request('GET', '/readyz')
        expect(st == 503 and b'cannot write' in body, '/readyz on the full disk: %s %s' % (st, body))
        expect('No space left' in nd.status().get('store_error', ''), '/status store_error')
        expect(metric(nd, 'wire_store_write_failed') == 1, 'wire_store_write_failed on the full disk')
        nd.alive()  # raises if the process died

        fs.free()
        wait_until(lambda: nd.put('after', b'z', timeout=10)[0] == 204, 15,
                   'writes to work again after the ballast is gone')
        acked['after'] = b'z'
        wait_until(nd.ready, 10, 'node 1 ready again')
        expect('store_error' not in nd.status(), '/status store_error after recovery')
        expect(metric(nd, 'wire_store_write_failed') == 0, 'wire_store_write_failed after recovery')
        for k, v in acked.items():
            st, data = nd.get(k)
            expect(st == 200 and data == v, 'acknowledged %s after recovery: %s' % (k, st))
        for k in refused:
            st, _ = nd.get(k)
            expect(st == 404, 'refused write %s is there: %s' % (k, st))
        expect(resp_cmd(resp, b'SET', b'r2', b'v') == b'+OK', 'RESP SET after recovery')

        nd.kill9()
        nd.start()
        wait_until(lambda: nd.status()['state'] == 'leader', 10, 'node 1 to lead after restart')
        for k, v in acked.items():
            st, data = nd.get(k)
            expect(st == 200 and data == v, 'acknowledged %s after restart: %s' % (k, st))


def test_leader_full_hands_over(wire_node):
    with Tmpfs(48) as fs, OneOnTmpfs(wire_node, 3, fs.dir, extra=FAST, name='full3') as c:
        n1 = c.nodes[0]
        expect(c.leader() is n1, 'node 1 (on the small disk) leads at first')
        for i in range(30):
            expect(n1.put('a%d' % i, b'x' * 1000)[0] == 204, 'PUT before the disk is full')
        fs.fill()
        # Writes keep coming through a follower: node 1's store fails at the
        # first one that needs a new page, it hands leadership over, and
        # the writes go on under the new leader.
        other = c.nodes[1]
        done = {}
        state = {'i': 0, 'after': 0}

        def write_once():
            k = 'b%d' % state['i']
            state['i'] += 1
            st, _ = other.put(k, b'v' * 8192, timeout=10)
            if st == 204:
                done[k] = True
                if n1.proc.poll() is not None:
                    state['after'] += 1
            return state['after'] >= 5
        wait_until(write_once, 30, 'node 1 to exit and the cluster to take writes without it')
        rc = n1.proc.wait()
        log = n1.tail(40)
        expect(rc == 3 and 'transferring leadership away' in log and 'raft stopped' in log and
               'No space left on device' in log and 'nothing committed is lost' in log,
               'node 1 exit %s:\n%s' % (rc, log))
        n1.proc = None
        n1.log.close()
        lead = c.leader()
        expect(lead is not n1, 'a new leader')
        fs.free()
        n1.start()  # as a supervisor would

        def caught_up():
            if not n1.ready():
                return False
            return all(n1.get(k, stale=True) == (200, b'v' * 8192) for k in done)
        wait_until(caught_up, 30, 'node 1 to apply what it missed once its disk has room')
        for i in range(30):
            st, data = n1.get('a%d' % i, stale=True)
            expect(st == 200 and data == b'x' * 1000, 'a%d on node 1: %s' % (i, st))


if __name__ == '__main__':
    run([test_single_node_full, test_leader_full_hands_over])
