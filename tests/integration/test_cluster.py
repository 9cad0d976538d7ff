"""Cluster integration tests: real `wire-node serve` processes on 127.0.0.1.

  python3 tests/integration/test_cluster.py BUILD/daemon/wire-node

- writes through a follower while the leader is killed with SIGKILL; a new
  leader within 2 s; every acknowledged write readable on every node; the
  killed node restarts from disk and catches up (by log, then by snapshot
  install with a low snapshot threshold);
- a 5-node cluster shrinks to 3 and grows back;
- a whole-cluster restart keeps all data;
- graceful stop of the leader hands leadership over;
- HTTP API errors (malformed JSON, oversized values, unknown routes, bad
  percent-encoding, empty key, abrupt disconnects) and a data dir of
  another cluster;
- --http-token: 401 without or with a wrong bearer token, probes open,
  members pass it to each other (join, forwarded writes, proxied reads,
  readiness probes), a node with another token cannot join.
"""

import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.parse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from cluster import Cluster, CheckFailed, Node, expect, key_path, run, wait_until  # noqa: E402

FAST = ['--election-timeout', '300', '--heartbeat-timeout', '50']


class Conn:
    """One keep-alive HTTP connection (reopened after errors)."""

    def __init__(self, node, timeout=10):
        self.node, self.timeout, self.c = node, timeout, None

    def req(self, method, path, body=None):
        for attempt in range(2):
            if self.c is None:
                self.c = http.client.HTTPConnection('127.0.0.1', self.node.http_port,
                                                    timeout=self.timeout)
            try:
                self.c.request(method, path, body=body)
                r = self.c.getresponse()
                return r.status, r.read()
            except (OSError, http.client.HTTPException):
                self.c.close()
                self.c = None
                if attempt:
                    raise
        raise AssertionError('unreachable')


def load(node, prefix, count, acked, errors, workers=16, stop=None):
    """PUT prefix-i = v-i for i in range(count) from `workers` threads;
    acknowledged keys go to `acked` (a set), other outcomes to `errors`."""
    lock = threading.Lock()
    nxt = [0]

    def worker():
        conn = Conn(node, timeout=10)
        while True:
            with lock:
                i = nxt[0]
                nxt[0] += 1
            if i >= count or (stop and stop.is_set()):
                return
            k = '%s-%05d' % (prefix, i)
            try:
                st, body = conn.req('PUT', key_path(k), ('v-%d' % i).encode())
            except (OSError, http.client.HTTPException) as e:
                with lock:
                    errors.append((k, str(e)))
                continue
            with lock:
                if st == 204:
                    acked.add(k)
                else:
                    errors.append((k, '%d %s' % (st, body[:120])))

    ts = [threading.Thread(target=worker) for _ in range(workers)]
    for t in ts:
        t.start()
    return ts


def check_all_readable(cluster, keys, what):
    """Every key readable with its value from every running node's local
    state, once that node has applied what the leader committed."""
    lead = cluster.leader()
    commit = lead.status()['commit_index']
    for nd in cluster.running():
        wait_until(lambda: nd.status()['applied_index'] >= commit, 30,
                   'node %d to apply up to %d' % (nd.id, commit))
        conn = Conn(nd)
        missing = []
        for k in sorted(keys):
            st, body = conn.req('GET', key_path(k) + '?consistency=stale')
            i = int(k.rsplit('-', 1)[1])
            if st != 200 or body != ('v-%d' % i).encode():
                missing.append((k, st, body[:40]))
        expect(not missing, '%s: node %d misses %d of %d acknowledged writes, e.g. %s' % (
            what, nd.id, len(missing), len(keys), missing[:3]))


def kill_leader_mid_load(wire_node, extra, name):
    with Cluster(wire_node, 3, extra=FAST + extra, name=name) as c:
        fol = c.follower()
        acked, errors = set(), []
        ts = load(fol, 'k', 2000, acked, errors)
        wait_until(lambda: len(acked) >= 500, 30, '500 writes acknowledged')
        lead = c.leader()
        expect(lead is not fol, 'writer node leads')
        t_kill = time.monotonic()
        lead.kill9()
        # A new leader among the survivors within 2 s.
        new = wait_until(lambda: next((nd for nd in c.running()
                                       if nd.status()['state'] == 'leader'), None),
                         5, 'a new leader')
        elected = time.monotonic() - t_kill
        expect(elected < 2.0, 'new leader after %.2f s (want < 2 s)' % elected)
        for t in ts:
            t.join()
        # Writes that failed during the failover are retried: the load
        # must finish with every key written.
        for k, _ in list(errors):
            for _ in range(50):
                st, _ = fol.put(k, ('v-%d' % int(k.rsplit('-', 1)[1])).encode())
                if st == 204:
                    acked.add(k)
                    break
                time.sleep(0.1)
        expect(len(acked) == 2000, 'only %d of 2000 writes acknowledged after retries; errors %s'
               % (len(acked), errors[:3]))
        print('   %s: leader %d killed, node %d leads after %.2f s; %d writes failed during '
              'failover and were retried' % (name, lead.id, new.id, elected, len(errors)))
        # More writes while the node is down, so that it has to catch up.
        more = set()
        ts = load(new, 'm', 600, more, [])
        for t in ts:
            t.join()
        expect(len(more) == 600, 'writes after failover: %d of 600' % len(more))
        lead.start()
        # A snapshot the restarted node dropped while taking its own is sent
        # again after --snapshot-install-timeout (10 s): 30 s covers it.
        c.wait_ready([lead], timeout=30)
        check_all_readable(c, acked | more, name)
        installed = lead.status()['stats']['snapshots_installed']
        if name == 'snapshot':
            expect(installed >= 1, 'the restarted node caught up without a snapshot install')
        else:
            expect(installed == 0, 'catch-up by log used %d snapshot installs' % installed)
        return c, lead


def test_failover_catch_up_by_log(wire_node):
    kill_leader_mid_load(wire_node, [], 'log')


def test_failover_catch_up_by_snapshot(wire_node):
    # Threshold 64, trailing 32: 600 writes while the node is down are far
    # beyond what the leader keeps in its log, so the node gets a snapshot.
    kill_leader_mid_load(wire_node, ['--snapshot-threshold', '64',
                                     '--snapshot-trailing', '32'], 'snapshot')


def test_shrink_and_grow(wire_node):
    with Cluster(wire_node, 5, extra=FAST, name='shrink') as c:
        expect(len(c.leader().status()['members']) == 5, '5 members')
        for k in range(50):
            st, _ = c.nodes[k % 5].put('s-%d' % k, b'x%d' % k)
            expect(st == 204, 'put through node %d: %d' % (k % 5 + 1, st))
        # Remove two followers (asking a follower: forwarded to the leader).
        lead = c.leader()
        gone = [nd for nd in c.running() if nd is not lead][:2]
        asker = next(nd for nd in c.running() if nd is not lead and nd not in gone)
        for nd in gone:
            st, doc = asker.json('DELETE', '/members/%d' % nd.id)
            expect(st == 204, 'DELETE /members/%d: %s %s' % (nd.id, st, doc))
            nd.stop()
        members = c.leader().status()['members']
        expect(sorted(m['id'] for m in members) == sorted(nd.id for nd in c.running()),
               'members after removal: %s' % members)
        st, doc = c.leader().json('DELETE', '/members/99')
        expect(st == 404 and doc['error']['code'] == 'not_found', 'remove unknown: %s %s' % (st, doc))
        # Writes still commit with 3 voters; then the two come back as new
        # members with fresh data dirs.
        expect(c.follower().put('after-shrink', b'1')[0] == 204, 'put after shrink')
        for _ in range(2):
            c.add_node()
        c.wait_ready()
        members = c.leader().status()['members']
        expect(len(members) == 5 and all(m['role'] == 'voter' for m in members),
               'members after growing: %s' % members)
        newest = c.nodes[-1]
        wait_until(lambda: newest.get('after-shrink', stale=True) == (200, b'1'), 10,
                   'a new member to have the data')


def test_whole_cluster_restart(wire_node):
    with Cluster(wire_node, 3, extra=FAST, name='restart') as c:
        acked, errors = set(), []
        for t in load(c.follower(), 'r', 300, acked, errors, workers=8):
            t.join()
        expect(len(acked) == 300 and not errors, 'writes before restart: %d, %s' % (len(acked), errors[:3]))
        for nd in c.nodes:
            rc = nd.stop()
            expect(rc == 0, 'node %d exit code %d after SIGTERM' % (nd.id, rc))
        for nd in c.nodes:  # no --bootstrap, no --join: from the data dirs
            nd.start()
        c.wait_ready()
        check_all_readable(c, acked, 'after whole-cluster restart')


def test_readyz_while_catching_up(wire_node):
    """A follower frozen (SIGSTOP) while the leader commits is not ready when
    it wakes up until it applied what the leader had committed (its own
    commit index only covers what it stored, so it cannot tell alone)."""
    with Cluster(wire_node, 3, extra=FAST, name='readyz') as c:
        lead, fol = c.leader(), c.follower()
        fol.proc.send_signal(signal.SIGSTOP)
        early = None
        try:
            for i in range(1500):
                st, _ = lead.put('r%05d' % i, b'x' * 100)
                expect(st == 204, 'put: %s' % st)
            commit = lead.status()['commit_index']
            # Longer than the freshness of the commit index the follower last
            # heard from the leader (4 probe periods, 1 s).
            time.sleep(1.2)
            # A request already waiting when the follower wakes up is served
            # in its first loop iteration, before it caught up: whatever the
            # machine's load, it must not say ready.
            early = socket.create_connection(('127.0.0.1', fol.http_port), timeout=10)
            early.sendall(b'GET /readyz HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n')
        finally:
            fol.proc.send_signal(signal.SIGCONT)
        answer = b''
        while True:  # until the connection closes or the whole response is in
            head, sep, body = answer.partition(b'\r\n\r\n')
            if sep:
                clen = [int(ln.split(b':')[1]) for ln in head.split(b'\r\n')
                        if ln.lower().startswith(b'content-length:')]
                if clen and len(body) >= clen[0]:
                    break
            chunk = early.recv(4096)
            if not chunk:
                break
            answer += chunk
        early.close()
        expect(answer.startswith(b'HTTP/1.1 503') and b'not_ready' in answer,
               '/readyz right after the pause: %r' % answer[:200])
        seen = [503]
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            st, _, body = fol.request('GET', '/readyz', timeout=5)
            seen.append(st)
            if st == 200:
                break
            expect(st == 503 and b'not_ready' in body, '/readyz: %s %s' % (st, body))
            time.sleep(0.002)
        expect(seen and seen[-1] == 200, 'never ready: %s' % seen[-5:])
        expect(503 in seen, 'ready at once after the pause: %s' % seen[:5])
        applied = fol.status()['applied_index']
        expect(applied >= commit, 'ready with applied index %d, leader had committed %d'
               % (applied, commit))


def test_graceful_leader_stop(wire_node):
    # A long election timeout: only a leadership transfer explains a fast
    # new leader.
    with Cluster(wire_node, 3, extra=['--election-timeout', '3000'], name='transfer') as c:
        lead = c.leader()
        t0 = time.monotonic()
        lead.stop()
        new = wait_until(lambda: next((nd for nd in c.running()
                                       if nd.status()['state'] == 'leader'), None),
                         10, 'a new leader')
        took = time.monotonic() - t0
        expect(took < 2.5, 'new leader %.2f s after SIGTERM: no transfer?' % took)
        expect(new.put('x', b'y')[0] == 204, 'write after transfer')
        print('   leader %d stopped, node %d leads %.2f s later' % (lead.id, new.id, took))


def test_http_errors(wire_node):
    with Cluster(wire_node, 3, extra=FAST + ['--value-max', '1KiB'], name='errors') as c:
        fol = c.follower()
        for nd in (c.leader(), fol):
            st, _, body = nd.request('GET', '/nope')
            doc = json.loads(body)
            expect(st == 404 and doc['error']['code'] == 'not_found' and '/nope' in doc['error']['message'],
                   'unknown route: %s %s' % (st, body))
            st, _, body = nd.request('POST', '/join', b'{"id": 5, "raft": ')
            doc = json.loads(body)
            expect(st == 400 and doc['error']['code'] == 'bad_request', 'malformed JSON join: %s %s' % (st, body))
            st, _, body = nd.request('POST', '/join', b'{"id": "x", "raft": "127.0.0.1:1"}')
            expect(st == 400 and b'id' in body, 'join with a string id: %s %s' % (st, body))
            st, body = nd.put('big', b'v' * 1025)
            doc = json.loads(body)
            expect(st == 413 and doc['error']['code'] == 'too_big' and 'value-max' in doc['error']['message'],
                   'oversized value: %s %s' % (st, body))
            st, _, body = nd.request('PUT', '/key/', b'v')
            expect(st == 400 and b'empty key' in body, 'empty key: %s %s' % (st, body))
            st, _, body = nd.request('GET', '/key/%zz')
            expect(st == 400 and b'percent' in body, 'bad percent-encoding: %s %s' % (st, body))
            st, _, body = nd.request('DELETE', '/status')
            expect(st == 405, 'wrong method: %s %s' % (st, body))
            st, _, body = nd.request('GET', key_path('absent'))
            expect(st == 404, 'absent key: %s %s' % (st, body))
            st, _, body = nd.request('GET', key_path('a') + '?consistency=weird')
            expect(st == 400, 'bad consistency: %s %s' % (st, body))
        # Prometheus metrics.
        st, hdr, body = fol.request('GET', '/metrics')
        text = body.decode()
        expect(st == 200 and hdr.get('Content-Type', '').startswith('text/plain'), 'metrics: %s %s' % (st, hdr))
        for name in ('wire_raft_term', 'wire_raft_commit_index', 'wire_raft_leader 0',
                     'wire_store_commands_total', 'wire_http_requests_total'):
            expect(name in text, 'metrics lack %s:\n%s' % (name, text[:500]))
        expect('wire_raft_leader 1' in c.leader().request('GET', '/metrics')[2].decode(), 'leader metric')
        # Binary key through a follower, read back everywhere.
        key = b'bin\x00\xff/?%'
        st, _ = fol.put(key, b'\x00\x01')
        expect(st == 204, 'binary put: %s' % st)
        for nd in c.running():
            expect(nd.get(key) == (200, b'\x00\x01'), 'binary get on node %d' % nd.id)
        # Abrupt disconnects mid-request (partial headers, partial body):
        # the node keeps serving and nothing half-written is committed.
        for payload in (b'PUT /key/half HTTP/1.1\r\nContent-Length: 100\r\n\r\nabc',
                        b'GET /sta', b'PUT /key/half HTTP/1.1\r\nContent-Le'):
            s = socket.create_connection(('127.0.0.1', fol.http_port))
            s.sendall(payload)
            s.close()
        time.sleep(0.2)
        expect(fol.get('half')[0] == 404, 'a half-sent PUT committed something')
        expect(fol.healthy(), 'node answers after abrupt disconnects')
        # Keys listing with a prefix, paginated.
        for i in range(25):
            expect(c.leader().put('list/%02d' % i, b'x')[0] == 204, 'put list key')
        got, after = [], None
        while True:
            q = {'prefix': 'list/', 'limit': '10'}
            if after:
                q['after'] = after
            st, doc = fol.json('GET', '/keys?' + urllib.parse.urlencode(q))
            expect(st == 200, 'GET /keys: %s %s' % (st, doc))
            got += doc['keys']
            if not doc.get('more'):
                break
            after = doc['keys'][-1]
        expect(got == ['list/%02d' % i for i in range(25)], 'keys listing: %s' % got)


def test_foreign_data_dir(wire_node):
    # Node 2 of cluster A is started with the data dir of cluster B's node:
    # refused with a message naming both clusters.
    with Cluster(wire_node, 3, extra=FAST, name='foreign-a') as a, \
            Cluster(wire_node, 2, extra=FAST, name='foreign-b') as b:
        bnode = b.nodes[1]  # same id as a.nodes[1]: only the cluster differs
        bnode.stop()
        anode = a.nodes[1]
        anode.stop()
        anode.dir = bnode.dir
        anode.start(join=[a.nodes[0].http], check=False)
        rc = anode.proc.wait(15)
        anode.proc = None
        log = anode.tail()
        # 3: a runtime failure (wire-node's exit codes), not a crash
        expect(rc == 3 and 'cluster' in log and 'another cluster' in log,
               'node on a foreign data dir: exit %s, log:\n%s' % (rc, log))
        # Cluster A still works.
        expect(a.nodes[0].put('still', b'ok')[0] == 204, 'cluster A after the refusal')


def test_forced_recovery(wire_node):
    # The majority is lost for good: two of three nodes die with their
    # disks.  The survivor is recovered as a cluster of one, keeps its
    # data, and the cluster grows back with fresh nodes.
    with Cluster(wire_node, 3, extra=FAST + ['--request-timeout', '1000'], name='recover') as c:
        acked, errors = set(), []
        for t in load(c.leader(), 'z', 200, acked, errors, workers=8):
            t.join()
        expect(len(acked) == 200, 'writes before the loss: %d' % len(acked))
        survivor = c.leader()
        for nd in c.running():
            if nd is not survivor:
                nd.kill9()
        st, _ = survivor.put('lost', b'x', timeout=5)
        expect(st in (503, 504), 'a write without a majority: %s' % st)
        survivor.stop()
        out = subprocess.run([wire_node, 'recover', '--id', str(survivor.id), '--data-dir', survivor.dir,
                              '--raft', survivor.raft, '--http', survivor.http],
                             capture_output=True, text=True, timeout=30)
        expect(out.returncode == 0, 'wire-node recover: %s %s' % (out.returncode, out.stderr))
        survivor.start()
        wait_until(lambda: survivor.status()['state'] == 'leader', 10, 'the survivor to lead alone')
        expect(len(survivor.status()['members']) == 1, 'members after recovery: %s' % survivor.status()['members'])
        expect(survivor.put('after', b'1')[0] == 204, 'write after recovery')
        for nd in list(c.nodes):
            if nd is not survivor:
                c.nodes.remove(nd)
        for _ in range(2):
            c.add_node()
        c.wait_ready()
        check_all_readable(c, acked, 'after recovery and regrowth')


def test_http_token(wire_node):
    """--http-token (here WIRE_HTTP_TOKEN): every request but GET /healthz
    and /readyz needs "Authorization: Bearer TOKEN"; members send it to each
    other.  Becoming ready at all needs it: a follower's /readyz asks the
    leader's /status."""
    tok = 'tok-%d-%d' % (os.getpid(), int(time.time()))
    with Cluster(wire_node, 3, extra=FAST, name='token', http_token=tok) as c:
        lead, fol = c.leader(), c.follower()
        for nd in (lead, fol):
            st, hdr, body = nd.request('GET', '/status', auth=False)
            doc = json.loads(body)
            expect(st == 401 and doc['error']['code'] == 'unauthorized' and
                   hdr.get('WWW-Authenticate') == 'Bearer' and '--http-token' in doc['error']['message'],
                   'no token on node %d: %s %s %s' % (nd.id, st, hdr, body))
            st, hdr, body = nd.request('GET', '/key/x', headers={'Authorization': 'Bearer ' + tok + 'x'},
                                       auth=False)
            expect(st == 401 and 'invalid_token' in hdr.get('WWW-Authenticate', '') and
                   b'wrong bearer token' in body, 'wrong token: %s %s %s' % (st, hdr, body))
            st, _, body = nd.request('GET', '/status', headers={'Authorization': 'Bearer ' + tok[:-1]},
                                     auth=False)
            expect(st == 401, 'a prefix of the token: %s %s' % (st, body))
            st, _, body = nd.request('GET', '/status', headers={'Authorization': 'bearer  ' + tok},
                                     auth=False)
            expect(st == 200, 'the token, scheme in lower case: %s %s' % (st, body))
            for probe in ('/healthz', '/readyz'):
                st, _, body = nd.request('GET', probe, auth=False)
                expect(st == 200, '%s without a token on node %d: %s %s' % (probe, nd.id, st, body))
            st, _, body = nd.request('PUT', key_path('nope'), b'v', auth=False)
            expect(st == 401, 'a write without the token: %s %s' % (st, body))
        st, data = lead.get('nope')
        expect(st == 404, 'a refused write left a key: %s %s' % (st, data))
        # writes through the follower are forwarded (/internal/apply), its
        # linearizable reads proxied: both carry the token
        for i in range(20):
            st, data = fol.put('k%d' % i, b'v%d' % i)
            expect(st == 204, 'PUT through the follower: %s %s' % (st, data))
        for nd in c.nodes:
            st, data = nd.get('k19')
            expect(st == 200 and data == b'v19', 'read on node %d: %s %s' % (nd.id, st, data))
        st, _, body = fol.request('GET', '/keys?prefix=k')
        expect(st == 200 and len(json.loads(body)['keys']) == 20, 'listing via the follower: %s %s' % (st, body))
        st, _, body = lead.request('GET', '/metrics')
        m = [ln for ln in body.decode().splitlines() if ln.startswith('wire_http_unauthorized_total ')]
        expect(st == 200 and m and int(m[0].split()[1]) >= 4, 'metrics: %s %s' % (st, m))
        # a node with another token is refused and says why
        bad = Node(wire_node, 9, c.root, FAST)
        bad.env = {'WIRE_HTTP_TOKEN': 'another-token'}
        bad.start(join=[lead.http], check=False)
        try:
            wait_until(lambda: bad.proc.poll() is not None, 30, 'the node with another token to give up')
            log = bad.tail(30)
            expect(bad.proc.returncode == 3 and 'cannot join the cluster' in log and
                   'same --http-token' in log, 'refused join: rc %s\n%s' % (bad.proc.returncode, log))
        finally:
            if bad.proc.poll() is None:
                bad.proc.kill()
            bad.proc.wait()
        members = lead.status()['members']
        expect(len(members) == 3 and 9 not in [m['id'] for m in members], 'members: %s' % members)


if __name__ == '__main__':
    run([test_http_errors, test_failover_catch_up_by_log, test_failover_catch_up_by_snapshot,
         test_shrink_and_grow, test_whole_cluster_restart, test_graceful_leader_stop,
         test_readyz_while_catching_up,
         test_foreign_data_dir, test_forced_recovery, test_http_token])
