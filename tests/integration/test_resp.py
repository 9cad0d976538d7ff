"""RESP (Redis protocol) integration tests: real `wire-node serve --resp`
processes on 127.0.0.1, driven by Debian's redis-cli and python3-redis.

  /usr/bin/python3 tests/integration/test_resp.py BUILD/daemon/wire-node

- redis-cli: set/get/incr/expire/ttl/scan, errors, `--pipe` bulk input;
- python3-redis: pipelines of mixed commands answered in order, binary-safe
  keys and values, SET options, MGET/MSET/MSETNX, GETDEL, KEYS/SCAN
  MATCH/COUNT over a few hundred keys, HELLO, COMMAND, INFO, FLUSHDB;
- followers: writes and plain reads answer MOVED to the leader's RESP
  address; READONLY reads are served there (stale);
- expiry: a key with a TTL disappears on every node (RESP and HTTP), the
  leader deletes it (active expiry) and reports it in INFO;
- MULTI/EXEC (redis-py transactions, raw): replies, reads inside,
  queue-time and runtime errors, DISCARD, followers; atomic on every node
  under concurrent transactions; WATCH (nil EXEC after a change, pipelined
  WATCH, no lost update under contention);
- RENAME/RENAMENX/COPY, GETEX, EXPIRETIME, TOUCH, TIME, FLUSHALL;
- INCRBYFLOAT (Redis's results and errors, in MULTI too, the same value on
  every node) and GETRANGE/SUBSTR;
- HTTP and RESP see the same keys and values;
- limits: oversized values, bulks, inline lines and buffered bytes get an
  -ERR (and a close for protocol errors), the node keeps serving;
- clients that disconnect mid-command or with replies pending leave the
  node healthy;
- --resp-max-clients: the connection over the limit is refused, INFO
  counts it;
- --resp-password: NOAUTH until AUTH (or HELLO AUTH), WRONGPASS, redis-py
  and redis-cli -a;
- the leader is killed (SIGKILL) during a write load with MOVED handling:
  every acknowledged write is on the new leader.
"""

import os
import socket
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from cluster import (Cluster, CheckFailed, expect, free_port, key_path,  # noqa: E402
                     run, wait_until)

try:
    import redis  # python3-redis from Debian
except ImportError:  # a missing client is a failure, never a skip
    redis = None
    # meson may pick another python3 (pyenv); Debian's has python3-redis
    if os.path.exists('/usr/bin/python3') and \
            os.path.realpath(sys.executable) != os.path.realpath('/usr/bin/python3'):
        os.execv('/usr/bin/python3', ['/usr/bin/python3'] + sys.argv)

FAST = ['--election-timeout', '300', '--heartbeat-timeout', '50']


class RespCluster(Cluster):
    """A cluster whose nodes also serve RESP on a port of their own."""

    def add_node(self, bootstrap=False, extra=None):
        port = free_port()
        nd = super().add_node(bootstrap, ['--resp', '127.0.0.1:%d' % port] +
                              list(extra or []))
        nd.resp_port = port
        return nd


def client(nd, **kw):
    if redis is None:
        raise CheckFailed('python3-redis is not installed (apt install python3-redis)')
    return redis.Redis(host='127.0.0.1', port=nd.resp_port, socket_timeout=10, **kw)


def cli(nd, *args, stdin=None):
    p = subprocess.run(['redis-cli', '-p', str(nd.resp_port)] + list(args),
                       input=stdin, capture_output=True, timeout=60)
    expect(p.returncode == 0, 'redis-cli %s: rc %d %s' % (args, p.returncode, p.stderr))
    return p.stdout.decode(errors='replace').rstrip('\n')


def wait_resp_leader(c):
    """The leader, once it answers writes over RESP (its address published)."""
    def ok():
        lead = c.leader()
        try:
            client(lead).set('__probe', '1')
            return lead
        except redis.exceptions.ResponseError:
            return None
    return wait_until(ok, 15, 'the leader to accept RESP writes')


def raw(nd, data, read=True, timeout=5):
    """Send raw bytes, read until the server closes or goes quiet."""
    s = socket.create_connection(('127.0.0.1', nd.resp_port), timeout=timeout)

    def send():
        try:
            s.sendall(data)
        except OSError:  # the server closed on us: what it said is read below
            pass
    sender = threading.Thread(target=send)
    sender.start()
    out = b''
    if read:
        s.settimeout(timeout)
        try:
            while True:
                b = s.recv(65536)
                if not b:
                    break
                out += b
        except (socket.timeout, ConnectionResetError):
            pass
    sender.join()
    s.close()
    return out


def raw_until(nd, data, want, timeout=5):
    """Send raw bytes and read until `want` bytes arrived; the socket stays
    open and is returned with them."""
    s = socket.create_connection(('127.0.0.1', nd.resp_port), timeout=timeout)
    s.sendall(data)
    out = b''
    deadline = time.monotonic() + timeout
    while len(out) < want and time.monotonic() < deadline:
        b = s.recv(65536)
        if not b:
            break
        out += b
    return s, out


# ---- tests ----------------------------------------------------------------------------


def test_redis_cli(c):
    lead = wait_resp_leader(c)
    expect(cli(lead, 'PING') == 'PONG', 'PING')
    expect(cli(lead, 'SET', 'cli:a', 'hello world') == 'OK', 'SET')
    expect(cli(lead, 'GET', 'cli:a') == 'hello world', 'GET')
    expect(cli(lead, 'INCR', 'cli:n') == '1', 'INCR')
    expect(cli(lead, 'INCRBY', 'cli:n', '41') == '42', 'INCRBY')
    expect(cli(lead, 'DECR', 'cli:n') == '41', 'DECR')
    expect(cli(lead, 'EXPIRE', 'cli:a', '100') == '1', 'EXPIRE')
    ttl = int(cli(lead, 'TTL', 'cli:a'))
    expect(98 <= ttl <= 100, 'TTL %d' % ttl)
    expect(cli(lead, 'TTL', 'cli:none') == '-2', 'TTL of nothing')
    expect(cli(lead, 'INCR', 'cli:a') == 'ERR value is not an integer or out of range',
           'INCR of a string')
    expect(cli(lead, 'GET') == "ERR wrong number of arguments for 'get' command", 'arity')
    expect(cli(lead, 'FOO', 'x') ==
           "ERR unknown command 'FOO', with args beginning with: 'x' ", 'unknown')
    keys = cli(lead, '--scan', '--pattern', 'cli:*').split('\n')
    expect(sorted(keys) == ['cli:a', 'cli:n'], '--scan: %r' % keys)

    # --pipe: 20,000 commands in RESP form from stdin, one raft entry per group
    n = 20000
    lines = []
    for i in range(n):
        k, v = 'pipe:%05d' % i, 'v%d' % i
        lines.append('*3\r\n$3\r\nSET\r\n$%d\r\n%s\r\n$%d\r\n%s\r\n' % (len(k), k, len(v), v))
    out = cli(lead, '--pipe', stdin=''.join(lines).encode())
    expect('errors: 0, replies: %d' % n in out, '--pipe: %s' % out)
    r = client(lead)
    expect(r.get('pipe:12345') == b'v12345', 'value written by --pipe')
    expect(len(list(r.scan_iter(match='pipe:*', count=1000))) == n, 'SCAN of --pipe keys')


def test_python_redis(c):
    lead = wait_resp_leader(c)
    r = client(lead)
    # pipelines of mixed commands: replies in order
    p = r.pipeline(transaction=False)
    for i in range(500):
        p.set('py:%d' % i, i)
        p.incr('py:%d' % i)
        p.get('py:%d' % i)
        p.echo('e%d' % i)
    res = p.execute()
    for i in range(500):
        expect(res[4 * i:4 * i + 4] == [True, i + 1, str(i + 1).encode(),
                                        ('e%d' % i).encode()],
               'pipeline replies %d: %r' % (i, res[4 * i:4 * i + 4]))
    # binary-safe keys and values
    k, v = b'bin\x00\r\n\xffkey', bytes(range(256)) * 10
    expect(r.set(k, v) is True and r.get(k) == v, 'binary value')
    expect(r.strlen(k) == 2560 and r.type(k) == b'string', 'STRLEN, TYPE')
    # SET options
    expect(r.set('opt', 'a', nx=True) is True, 'SET NX')
    expect(r.set('opt', 'b', nx=True) is None, 'SET NX on existing')
    expect(r.set('opt2', 'b', xx=True) is None, 'SET XX on missing')
    expect(r.set('opt', 'c', get=True) == b'a', 'SET GET')
    expect(r.getset('opt', 'd') == b'c', 'GETSET')
    expect(r.set('opt', 'e', px=100000) and 99000 < r.pttl('opt') <= 100000, 'SET PX')
    expect(r.set('opt', 'f', keepttl=True) and r.pttl('opt') > 0, 'KEEPTTL')
    expect(r.set('opt', 'g') and r.ttl('opt') == -1, 'SET drops the TTL')
    expect(r.setnx('opt', 'x') is False and r.setnx('opt3', 'x') is True, 'SETNX')
    expect(r.getdel('opt3') == b'x' and r.getdel('opt3') is None, 'GETDEL')
    expect(r.append('ap', 'ab') == 2 and r.append('ap', 'cd') == 4 and
           r.get('ap') == b'abcd', 'APPEND')
    expect(r.mset({'m1': '1', 'm2': '2'}) and r.mget('m1', 'm2', 'm3') ==
           [b'1', b'2', None], 'MSET, MGET')
    expect(r.msetnx({'m3': '3', 'm1': 'x'}) is False and r.get('m3') is None, 'MSETNX')
    expect(r.msetnx({'m3': '3', 'm4': '4'}) is True, 'MSETNX new keys')
    expect(r.exists('m1', 'm2', 'nope') == 2, 'EXISTS')
    expect(r.delete('m1', 'm2', 'nope') == 2 and r.unlink('m3') == 1, 'DEL, UNLINK')
    expect(r.persist('m4') is False and r.expire('m4', 50) and r.persist('m4'), 'PERSIST')
    expect(r.pexpire('nope', 100) is False, 'PEXPIRE of nothing')
    try:
        r.incrby('ap', 1)
        raise CheckFailed('INCRBY of a string succeeded')
    except redis.exceptions.ResponseError as e:
        expect(str(e) == 'value is not an integer or out of range', str(e))
    r.set('big', str(2 ** 63 - 1))
    try:
        r.incr('big')
        raise CheckFailed('INCR overflow succeeded')
    except redis.exceptions.ResponseError as e:
        expect(str(e) == 'increment or decrement would overflow', str(e))
    # KEYS, SCAN with MATCH and COUNT over a few hundred keys
    p = r.pipeline(transaction=False)
    for i in range(300):
        p.set('sc:%03d' % i, 'x')
        p.set('other:%03d' % i, 'x')
    p.execute()
    keys = r.keys('sc:*')
    expect(len(keys) == 300 and keys == sorted(keys), 'KEYS sc:*: %d' % len(keys))
    expect(r.keys('sc:1?0') == [b'sc:100', b'sc:110', b'sc:120', b'sc:130', b'sc:140',
                                b'sc:150', b'sc:160', b'sc:170', b'sc:180', b'sc:190'],
           'KEYS with ?')
    seen, cur, calls = [], 0, 0
    while True:
        cur, ks = r.scan(cur, match='sc:*', count=50)
        seen += ks
        calls += 1
        if cur == 0:
            break
    expect(sorted(seen) == sorted(keys) and len(seen) == 300 and calls > 2,
           'SCAN: %d keys in %d calls' % (len(seen), calls))
    # server commands
    expect(r.ping() and r.echo('x') == b'x', 'PING, ECHO')
    expect(r.execute_command('HELLO', '2')[0:2] == [b'server', b'redis'], 'HELLO 2')
    try:
        r.execute_command('HELLO', '3')
        raise CheckFailed('HELLO 3 accepted')
    except redis.exceptions.ResponseError as e:
        expect('unsupported protocol version' in str(e), str(e))
    expect(r.command_count() > 30, 'COMMAND COUNT')
    cmds = r.command()  # parsed by redis-py into {name: info}
    expect(cmds['get']['arity'] == 2 and cmds['set']['arity'] == -3, 'COMMAND')
    expect(r.execute_command('SELECT', 0) is not None, 'SELECT 0')
    info = r.info()
    expect(info['role'] == 'master' and info['redis_version'] and
           info['db0']['keys'] == r.dbsize(), 'INFO: %r' % info.get('db0'))
    expect(r.flushdb() and r.dbsize() == 0 and r.get('sc:001') is None, 'FLUSHDB')


def test_transactions(c):
    """MULTI/EXEC: replies as Redis gives them, reads see the writes queued
    before them, errors while queueing abort, runtime errors do not; the
    commands apply atomically (one raft entry) on every node: concurrent
    transactions incrementing two counters never show them apart, neither
    on the leader nor on a follower."""
    lead = wait_resp_leader(c)
    r = client(lead)
    r.delete('tx:a', 'tx:b', 'tx:s', 'tx:n')
    r.set('tx:s', 'before')
    p = r.pipeline(transaction=True)  # redis-py sends MULTI ... EXEC
    p.set('tx:s', 'after').get('tx:s').incr('tx:n').incrby('tx:n', 5)
    p.mget('tx:s', 'tx:n', 'tx:none').exists('tx:s', 'tx:none').strlen('tx:s')
    p.type('tx:s').type('tx:none').ttl('tx:s').setex('tx:t', 100, 'v').pttl('tx:t')
    p.delete('tx:t').get('tx:t').ping()
    got = p.execute()
    want = [True, b'after', 1, 6, [b'after', b'6', None], 1, 5, b'string', b'none', -1,
            True, None, 1, None, True]
    expect(got[:11] == want[:11] and 99000 <= got[11] <= 100000 and got[12:] == want[12:],
           'transaction replies: %r' % got)
    # Runtime errors answer in place; the other commands still apply.
    p = r.pipeline(transaction=True)
    p.set('tx:s', 'x').incr('tx:s').set('tx:after', 'yes')
    try:
        p.execute()
        raise CheckFailed('INCR of a string inside EXEC did not fail')
    except redis.exceptions.ResponseError as e:
        expect('not an integer' in str(e), str(e))
    expect(r.get('tx:after') == b'yes', 'the commands around the failed one applied')
    # Queue-time errors abort the whole transaction (inline commands, the
    # exact bytes of the replies).
    out = raw(lead, b'MULTI\r\nSET tx:q 1\r\nNOSUCH x\r\nEXEC\r\nGET tx:q\r\n'
              b'EXEC\r\nDISCARD\r\nMULTI\r\nMULTI\r\nKEYS *\r\nDISCARD\r\n'
              b'MULTI\r\nSET tx:q 2\r\nDISCARD\r\nGET tx:q\r\nWATCH tx:q\r\nUNWATCH\r\n'
              b'MULTI\r\nEXEC\r\nQUIT\r\n')
    want = (b"+OK\r\n+QUEUED\r\n-ERR unknown command 'NOSUCH', with args beginning with: 'x' \r\n"
            b'-EXECABORT Transaction discarded because of previous errors.\r\n$-1\r\n'
            b'-ERR EXEC without MULTI\r\n-ERR DISCARD without MULTI\r\n'
            b'+OK\r\n-ERR MULTI calls can not be nested\r\n'
            b"-ERR 'keys' inside MULTI is not supported (libwire transactions hold string "
            b'reads and writes)\r\n+OK\r\n'
            b'+OK\r\n+QUEUED\r\n+OK\r\n$-1\r\n')
    expect(out.startswith(want), 'queue-time errors, DISCARD: %r' % out)
    rest = out[len(want):]
    expect(rest == b'+OK\r\n+OK\r\n+OK\r\n*0\r\n+OK\r\n',
           'WATCH, UNWATCH, empty EXEC, QUIT: %r' % rest)
    # WATCH: EXEC answers nil when a watched key changed since.
    r.set('tx:w', 1)
    other = client(lead)
    for interfere in (True, False):
        with r.pipeline() as p:
            p.watch('tx:w')
            v = int(p.get('tx:w'))
            if interfere:
                other.set('tx:w', 5)
            p.multi()
            p.set('tx:w', v + 1)
            try:
                p.execute()
                expect(not interfere, 'EXEC ran although tx:w changed after WATCH')
            except redis.exceptions.WatchError:
                expect(interfere, 'EXEC refused although nothing changed')
    expect(r.get('tx:w') == b'6', 'tx:w after the two rounds: %r' % r.get('tx:w'))
    # Pipelined: the WATCH waits for the SET before it (behind a barrier)
    # and the commands after it wait for the WATCH, so the SET after it
    # counts as a change: nil.
    out = raw(lead, b'SET tx:p 1\r\nWATCH tx:p\r\nSET tx:p 2\r\nMULTI\r\nINCR tx:p\r\n'
              b'EXEC\r\nGET tx:p\r\nQUIT\r\n')
    expect(out == b'+OK\r\n+OK\r\n+OK\r\n+OK\r\n+QUEUED\r\n*-1\r\n$1\r\n2\r\n+OK\r\n',
           'pipelined WATCH: %r' % out)
    # Optimistic locking under contention: read-modify-write with WATCH
    # from 4 clients, retried on WatchError: no update lost.
    r.set('tx:c', 0)
    werr = []

    def bump(pipe):
        v = int(pipe.get('tx:c'))
        pipe.multi()
        pipe.set('tx:c', v + 1)

    def locker():
        w = client(lead)
        try:
            for _ in range(40):
                w.transaction(bump, 'tx:c')
        except Exception as e:  # noqa: BLE001
            werr.append(repr(e))
    ts = [threading.Thread(target=locker) for _ in range(4)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    expect(not werr and r.get('tx:c') == b'160',
           'WATCH counter: %r (errors %s)' % (r.get('tx:c'), werr[:2]))
    # On a follower: MOVED while queueing, then EXECABORT.
    fol = next(nd for nd in c.running() if nd is not lead)
    out = raw(fol, b'MULTI\r\nSET tx:f 1\r\nEXEC\r\nQUIT\r\n')
    expect(out == b'+OK\r\n-MOVED 0 127.0.0.1:%d\r\n-EXECABORT Transaction discarded because '
           b'of previous errors.\r\n+OK\r\n' % lead.resp_port,
           'transaction on a follower: %r' % out)
    # Atomicity: writers increment two counters in one transaction while
    # readers check that they are never seen apart.
    r.mset({'tx:a': 0, 'tx:b': 0})
    stop, errors, rounds = threading.Event(), [], [0]

    def writer():
        w = client(lead)
        try:
            for _ in range(150):
                p = w.pipeline(transaction=True)
                p.incr('tx:a').incr('tx:b')
                a, b = p.execute()
                if a != b:  # nothing can run between the two INCRs
                    errors.append('EXEC replied tx:a=%d tx:b=%d' % (a, b))
        except Exception as e:  # noqa: BLE001
            errors.append('writer: %r' % e)

    def reader(nd, readonly):
        rr = client(nd)
        if readonly:
            rr.execute_command('READONLY')
        while not stop.is_set():
            a, b = rr.mget('tx:a', 'tx:b')
            if a != b:
                errors.append('node %d saw tx:a=%r tx:b=%r' % (nd.id, a, b))
                return
            rounds[0] += 1

    ws = [threading.Thread(target=writer) for _ in range(4)]
    rs = [threading.Thread(target=reader, args=(lead, False)),
          threading.Thread(target=reader, args=(fol, True))]
    for t in ws + rs:
        t.start()
    for t in ws:
        t.join()
    stop.set()
    for t in rs:
        t.join()
    expect(not errors, 'transactions seen half applied: %s' % errors[:3])
    expect(r.mget('tx:a', 'tx:b') == [b'600', b'600'], 'final counters %r' % r.mget('tx:a', 'tx:b'))
    rf = client(fol)
    rf.execute_command('READONLY')
    wait_until(lambda: rf.mget('tx:a', 'tx:b') == [b'600', b'600'], 5,
               'the follower to catch up')
    expect(rounds[0] > 50, 'readers compared only %d times' % rounds[0])


def test_rename_copy_getex_time(c):
    """RENAME/RENAMENX/COPY (value and TTL travel, errors as Redis), GETEX
    with each option, EXPIRETIME/PEXPIRETIME, TOUCH, TIME, FLUSHALL; the
    renamed key is on every node."""
    lead = wait_resp_leader(c)
    r = client(lead)
    r.set('rn:a', 'va', ex=100)
    expect(r.rename('rn:a', 'rn:b') is True and r.get('rn:a') is None and
           r.get('rn:b') == b'va' and 98 <= r.ttl('rn:b') <= 100, 'RENAME moves value and TTL')
    try:
        r.rename('rn:none', 'rn:x')
        raise CheckFailed('RENAME of a missing key succeeded')
    except redis.exceptions.ResponseError as e:
        expect(str(e) == 'no such key', str(e))
    r.set('rn:c', 'vc')
    expect(r.renamenx('rn:b', 'rn:c') is False and r.get('rn:c') == b'vc', 'RENAMENX refuses')
    expect(r.renamenx('rn:b', 'rn:d') is True and r.get('rn:d') == b'va', 'RENAMENX moves')
    expect(r.copy('rn:d', 'rn:e') is True and r.get('rn:d') == b'va' and r.get('rn:e') == b'va',
           'COPY keeps the source')
    expect(r.copy('rn:c', 'rn:e') is False and r.get('rn:e') == b'va', 'COPY without REPLACE')
    expect(r.copy('rn:c', 'rn:e', replace=True) is True and r.get('rn:e') == b'vc', 'COPY REPLACE')
    expect(r.copy('rn:none', 'rn:f') is False, 'COPY of a missing key')
    for nd in c.running():  # the rename reached every node
        rr = client(nd)
        rr.execute_command('READONLY')
        wait_until(lambda: rr.mget('rn:a', 'rn:d', 'rn:e') == [None, b'va', b'vc'], 5,
                   'node %d to apply the renames' % nd.id)
    # GETEX: plain, PX, PERSIST, EXAT in the past (deletes), errors
    expect(r.getex('rn:e') == b'vc' and r.ttl('rn:e') == -1, 'GETEX without option')
    expect(r.getex('rn:e', px=5000) == b'vc' and 4000 < r.pttl('rn:e') <= 5000, 'GETEX PX')
    at = int(time.time()) + 1000
    expect(r.getex('rn:e', exat=at) == b'vc' and r.expiretime('rn:e') == at and
           r.execute_command('PEXPIRETIME', 'rn:e') == at * 1000, 'GETEX EXAT, EXPIRETIME')
    expect(r.getex('rn:e', persist=True) == b'vc' and r.expiretime('rn:e') == -1, 'PERSIST')
    expect(r.getex('rn:e', pxat=1) == b'vc' and r.exists('rn:e') == 0, 'GETEX PXAT in the past')
    expect(r.getex('rn:none', ex=10) is None and r.expiretime('rn:none') == -2, 'GETEX of nothing')
    for args, err in ((('EX', '0'), "invalid expire time in 'getex' command"),
                      (('EX', 'x'), 'value is not an integer or out of range'),
                      (('FOO',), 'syntax error')):
        try:
            r.execute_command('GETEX', 'rn:c', *args)
            raise CheckFailed('GETEX %s accepted' % (args,))
        except redis.exceptions.ResponseError as e:
            expect(str(e) == err, 'GETEX %s: %s' % (args, e))
    expect(r.touch('rn:c', 'rn:d', 'rn:none') == 2, 'TOUCH counts existing keys')
    secs, usecs = r.time()
    expect(abs(secs - time.time()) < 5 and 0 <= usecs < 1000000, 'TIME %r' % ((secs, usecs),))
    # Inside a transaction: GETEX's two commands and RENAME in one entry.
    p = r.pipeline(transaction=True)
    p.set('rn:g', 'vg', ex=50).getex('rn:g', px=7000).pttl('rn:g').rename('rn:g', 'rn:h')
    p.get('rn:h').pttl('rn:h').touch('rn:g', 'rn:h')
    got = p.execute()
    expect(got[0] is True and got[1] == b'vg' and 6000 < got[2] <= 7000 and got[3] is True and
           got[4] == b'vg' and 6000 < got[5] <= 7000 and got[6] == 1, 'transaction: %r' % got)
    expect(r.flushall() is True and r.dbsize() == 0, 'FLUSHALL')


def test_incrbyfloat_getrange(c):
    """INCRBYFLOAT answers what redis-server answers (long double sums,
    trailing zeros dropped, its error texts), keeps the TTL, works inside
    MULTI, and every node holds the same text; GETRANGE/SUBSTR clamp as
    Redis does."""
    lead = wait_resp_leader(c)
    r = client(lead)
    r.delete('f:a')
    expect(r.incrbyfloat('f:a', 10.5) == 10.5, 'INCRBYFLOAT on a new key')
    # (redis-py turns the reply into a float: the stored text is checked)
    expect(r.execute_command('INCRBYFLOAT', 'f:a', '0.1') == 10.6 and r.get('f:a') == b'10.6',
           'INCRBYFLOAT 0.1: %r' % r.get('f:a'))
    r.set('f:b', '0.1')
    expect(r.execute_command('INCRBYFLOAT', 'f:b', '0.2') == 0.3 and r.get('f:b') == b'0.3',
           '0.1 + 0.2 as Redis: 0.3, not %r' % r.get('f:b'))
    r.set('f:c', '5.0e3', ex=100)
    expect(r.execute_command('INCRBYFLOAT', 'f:c', '2.0e2') == 5200 and r.get('f:c') == b'5200' and
           98 <= r.ttl('f:c') <= 100, 'INCRBYFLOAT 5.0e3 + 2.0e2 keeps the TTL: %r' % r.get('f:c'))
    for args, text in ((('f:c', 'abc'), 'value is not a valid float'),
                       (('f:c', 'inf'), 'increment would produce NaN or Infinity')):
        try:
            r.execute_command('INCRBYFLOAT', *args)
            raise CheckFailed('INCRBYFLOAT %s succeeded' % (args,))
        except redis.exceptions.ResponseError as e:
            expect(str(e) == text, 'INCRBYFLOAT %s: %s' % (args, e))
    r.set('f:s', 'str')
    try:
        r.incrbyfloat('f:s', 1)
        raise CheckFailed('INCRBYFLOAT on a string succeeded')
    except redis.exceptions.ResponseError as e:
        expect(str(e) == 'value is not a valid float', str(e))
    p = r.pipeline(transaction=True)
    p.incrbyfloat('f:t', 1.5)
    p.incrbyfloat('f:t', 1.25)
    p.get('f:t')
    expect(p.execute() == [1.5, 2.75, b'2.75'], 'INCRBYFLOAT in MULTI')
    for nd in c.running():
        rr = client(nd)
        rr.execute_command('READONLY')
        wait_until(lambda: rr.mget('f:a', 'f:b', 'f:t') == [b'10.6', b'0.3', b'2.75'], 5,
                   'the sums on node %d' % nd.id)
    # The same sums on redis-server itself (Debian's, no persistence).
    port = free_port()
    srv = subprocess.Popen(['redis-server', '--port', str(port), '--bind', '127.0.0.1', '--save', '',
                            '--appendonly', 'no'], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        ref = redis.Redis(host='127.0.0.1', port=port, socket_timeout=5)

        def up():
            try:
                return ref.ping()
            except redis.exceptions.ConnectionError:
                return False
        wait_until(up, 10, 'redis-server')
        cases = [(None, '3.0e3'), ('1.5', '-1.5'), ('-0.0', '0'), ('7', '1e-20'), ('1e17', '1'),
                 ('0.1', '0.7'), ('123456789.123456789', '0.000000001'), ('-5', '2.5e1'),
                 ('3.14159', '-0.00159'), ('1e308', '1e308')]
        for i, (start, inc) in enumerate(cases):
            k = 'f:ref%d' % i
            for cl in (r, ref):
                cl.delete(k)
                if start is not None:
                    cl.set(k, start)
                cl.execute_command('INCRBYFLOAT', k, inc)
            expect(r.get(k) == ref.get(k), 'INCRBYFLOAT %s + %s: libwire %r, redis-server %r'
                   % (start, inc, r.get(k), ref.get(k)))
    finally:
        srv.terminate()
        srv.wait()
    r.set('g:r', 'This is a string')
    for (a, b), want in (((0, 3), b'This'), ((-3, -1), b'ing'), ((0, -1), b'This is a string'),
                         ((10, 100), b'string'), ((5, 3), b''), ((-1, -5), b''), ((-100, 2), b'Thi')):
        expect(r.getrange('g:r', a, b) == want, 'GETRANGE %d %d: %r' % (a, b, r.getrange('g:r', a, b)))
    expect(r.execute_command('SUBSTR', 'g:r', 0, 3) == b'This', 'SUBSTR')
    expect(r.getrange('g:none', 0, -1) == b'', 'GETRANGE of a missing key')
    p = r.pipeline(transaction=True)  # inside MULTI: it sees the SET before it
    p.set('g:t', 'hello world')
    p.getrange('g:t', 6, -1)
    p.execute_command('SUBSTR', 'g:t', -100, 4)
    p.getrange('g:none', 0, 5)
    expect(p.execute() == [True, b'world', b'hello', b''], 'GETRANGE in MULTI')
    try:
        r.execute_command('GETRANGE', 'g:r', 'x', 1)
        raise CheckFailed('GETRANGE with a bad index succeeded')
    except redis.exceptions.ResponseError as e:
        expect(str(e) == 'value is not an integer or out of range', str(e))


def test_followers_moved_readonly(c):
    lead = wait_resp_leader(c)
    fol = next(nd for nd in c.running() if nd is not lead)
    client(lead).set('mv', 'v1')
    r = client(fol)
    moved = ''
    for cmd in (lambda: r.set('mv', 'x'), lambda: r.get('mv'), lambda: r.incr('n')):
        try:
            cmd()
            raise CheckFailed('a follower served a command without READONLY')
        except redis.exceptions.ResponseError as e:
            moved = str(e)
            expect(moved == 'MOVED 0 127.0.0.1:%d' % lead.resp_port, moved)
    # following MOVED reaches the leader
    host, port = moved.split()[2].split(':')
    r2 = redis.Redis(host=host, port=int(port), socket_timeout=10)
    expect(r2.set('mv', 'v2') is True, 'SET at the MOVED address')
    # READONLY: stale reads on the follower, writes still MOVED
    expect(r.execute_command('READONLY') in (b'OK', True), 'READONLY')
    wait_until(lambda: r.get('mv') == b'v2', 5, 'the follower to apply mv')
    expect(r.exists('mv') == 1 and r.strlen('mv') == 2, 'stale EXISTS/STRLEN')
    try:
        r.set('mv', 'x')
        raise CheckFailed('write on a READONLY follower')
    except redis.exceptions.ResponseError as e:
        expect(str(e).startswith('MOVED 0 '), str(e))
    expect(r.execute_command('READWRITE') in (b'OK', True), 'READWRITE')
    info = r.info('replication')
    expect(info['role'] == 'slave' and info['master_port'] == lead.resp_port,
           'INFO replication on a follower: %r' % info)


def test_expiry_everywhere(c):
    lead = wait_resp_leader(c)
    r = client(lead)
    before = r.info('server')['expired_keys']
    r.set('exp:1', 'gone soon', px=400)
    r.set('exp:2', 'stays')
    readers = []
    for nd in c.running():
        rr = client(nd)
        rr.execute_command('READONLY')
        readers.append((nd, rr))
        wait_until(lambda: rr.get('exp:1') == b'gone soon', 5, 'node %d to see exp:1' % nd.id)
    # gone on every node, over RESP and over HTTP (stale reads: local state)
    for nd, rr in readers:
        wait_until(lambda: rr.get('exp:1') is None, 5, 'exp:1 to expire on %d' % nd.id)
        st, _, _ = nd.request('GET', key_path('exp:1') + '?consistency=stale')
        expect(st == 404, 'HTTP GET of an expired key on node %d: %d' % (nd.id, st))
        expect(rr.ttl('exp:1') == -2 and rr.exists('exp:1') == 0, 'TTL/EXISTS after expiry')
        expect(rr.get('exp:2') == b'stays', 'other key kept')
    # the leader deleted it through raft (active expiry)
    wait_until(lambda: r.info('server')['expired_keys'] > before, 5,
               'the leader to delete the expired key')
    expect(b'exp:1' not in r.keys('exp:*'), 'KEYS after expiry')


def test_http_resp_cross(c):
    lead = wait_resp_leader(c)
    r = client(lead)
    st, _ = lead.put('x:http', b'from http \x00 bytes')
    expect(st == 204, 'HTTP PUT %d' % st)
    expect(r.get('x:http') == b'from http \x00 bytes', 'RESP reads an HTTP write')
    r.set('x:resp', b'from resp', ex=100)
    st, body = lead.get('x:resp')
    expect(st == 200 and body == b'from resp', 'HTTP reads a RESP write: %d %r' % (st, body))
    lead.put('x:resp', b'replaced')
    expect(r.get('x:resp') == b'replaced' and r.ttl('x:resp') == -1,
           'an HTTP PUT replaces the value and drops the TTL')
    r.delete('x:http')
    st, _ = lead.get('x:http')
    expect(st == 404, 'HTTP GET after RESP DEL: %d' % st)
    r.incr('x:ctr')
    st, body = lead.get('x:ctr')
    expect(body == b'1', 'INCR visible over HTTP')


def test_limits(c):
    lead = wait_resp_leader(c)
    r = client(lead)
    vmax = 64 * 1024  # --value-max of this cluster
    try:
        r.set('big', b'x' * (vmax + 1))
        raise CheckFailed('a value over value-max was accepted')
    except redis.exceptions.ResponseError as e:
        expect('exceeds the limit' in str(e), str(e))
    expect(r.set('big', b'x' * vmax) and r.strlen('big') == vmax, 'value at the limit')
    # a bulk over the parser limit: protocol error, then the server closes
    out = raw(lead, b'*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$999999999\r\n')
    expect(out == b'-ERR Protocol error: invalid bulk length\r\n', repr(out))
    out = raw(lead, b'*abc\r\n')
    expect(out.startswith(b'-ERR Protocol error'), repr(out))
    out = raw(lead, b'GET ' + b'a' * (70 * 1024) + b'\r\n')
    expect(out == b'-ERR Protocol error: too big inline request\r\n', repr(out))
    # many arguments that are each fine but together exceed the buffered
    # bytes a client may have unparsed: -ERR and a close
    big = b'*3000\r\n$4\r\nMSET\r\n' + b'$60000\r\n' + b'y' * 60000 + b'\r\n'
    out = raw(lead, big * 1 + (b'$60000\r\n' + b'y' * 60000 + b'\r\n') * 40)
    expect(b'query buffer' in out, repr(out[:200]))
    # inline commands and quoting still work, and the node is healthy
    out = raw(lead, b'SET "in line" \'v 1\'\r\nGET "in line"\r\nQUIT\r\n')
    expect(out == b'+OK\r\n$3\r\nv 1\r\n+OK\r\n', repr(out))
    expect(r.ping(), 'PING after the limit tests')
    expect(lead.alive(), 'node alive')


def test_disconnects(c):
    lead = wait_resp_leader(c)
    # half a command, then gone
    raw(lead, b'*3\r\n$3\r\nSET\r\n$4\r\nhalf\r\n$10\r\nabc', read=False)
    # 2,000 pipelined writes, gone before any reply: they still commit
    cmds = b''.join(b'*3\r\n$3\r\nSET\r\n$6\r\ngone%02d\r\n$1\r\nv\r\n' % (i % 100)
                    for i in range(2000))
    raw(lead, cmds + b'*2\r\n$4\r\nINCR\r\n$7\r\ngonectr\r\n' * 500, read=False)
    # reads in flight behind a barrier, then gone
    raw(lead, b'*2\r\n$3\r\nGET\r\n$6\r\ngone01\r\n' * 1000, read=False)
    # a reader that never reads its replies (pending replies pile up)
    s, _ = raw_until(lead, b'PING\r\n' * 1, 7)
    s.sendall(b'*2\r\n$4\r\nINCR\r\n$7\r\nslowctr\r\n' * 3000)
    time.sleep(0.2)
    s.close()
    r = client(lead)
    wait_until(lambda: r.get('gonectr') == b'500', 10, 'the departed client\'s INCRs')
    expect(r.get('half') is None, 'a half command is not executed')
    expect(r.ping() and lead.alive(), 'node healthy after departed clients')
    for nd in c.running():
        expect(nd.alive() and nd.healthy(), 'node %d healthy' % nd.id)


def test_leader_kill(wire_node):
    with RespCluster(wire_node, 3, extra=FAST, name='resp-kill') as c:
        wait_resp_leader(c)
        acked = {}
        lock = threading.Lock()
        stop = threading.Event()
        errors = []

        def writer(w):
            nodes = list(c.nodes)
            target = c.leader()
            conn = client(target)
            i = 0
            while not stop.is_set():
                k = 'w%d:%d' % (w, i)
                try:
                    conn.set(k, i)
                    with lock:
                        acked[k] = i
                    i += 1
                except redis.exceptions.ResponseError as e:
                    msg = str(e)
                    if msg.startswith('MOVED'):
                        host, port = msg.split()[2].split(':')
                        conn = redis.Redis(host=host, port=int(port), socket_timeout=5)
                    else:
                        errors.append(msg)
                        time.sleep(0.05)
                        i += 1  # the write may or may not have happened: new key
                except (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError):
                    i += 1
                    live = [nd for nd in nodes if nd.proc is not None]
                    conn = client(live[i % len(live)])
                    time.sleep(0.05)

        threads = [threading.Thread(target=writer, args=(w,)) for w in range(4)]
        for t in threads:
            t.start()
        wait_until(lambda: len(acked) > 500, 20, '500 acknowledged writes')
        old = c.leader()
        n_before = len(acked)
        old.kill9()
        t0 = time.monotonic()
        new = wait_until(lambda: (lambda l: l if l is not old else None)(c.leader()),
                         10, 'a new leader')
        wait_until(lambda: len(acked) > n_before + 500, 30,
                   '500 more acknowledged writes after the failover')
        stop.set()
        for t in threads:
            t.join(10)
        expect(time.monotonic() - t0 < 30, 'failover took too long')
        r = client(new)
        missing = [k for k, v in acked.items() if r.get(k) != str(v).encode()]
        expect(not missing, '%d acknowledged writes lost, e.g. %r' % (len(missing), missing[:5]))
        print('  %d acknowledged writes all present on the new leader (%d errors '
              'during the failover)' % (len(acked), len(errors)))


def test_auth(wire_node):
    """--resp-password (here from WIRE_RESP_PASSWORD): until AUTH every
    command but AUTH, HELLO and QUIT answers NOAUTH; a wrong password or
    user is refused; HELLO 2 AUTH authenticates; redis-py's password= and
    redis-cli -a work; a node without the option refuses AUTH."""
    os.environ['WIRE_RESP_PASSWORD'] = 's3cret pass'
    try:
        with RespCluster(wire_node, 1, extra=FAST, name='resp-auth') as c:
            nd = c.nodes[0]
            out = raw(nd, b'GET k\r\nSET k v\r\nPING\r\nMULTI\r\nAUTH wrong\r\n'
                      b'AUTH bob "s3cret pass"\r\nHELLO 2\r\nHELLO 2 AUTH default nope\r\n'
                      b'AUTH "s3cret pass"\r\nPING\r\nQUIT\r\n')
            noauth = b'-NOAUTH Authentication required.\r\n'
            wrong = b'-WRONGPASS invalid username-password pair or user is disabled.\r\n'
            expect(out.startswith(noauth * 4 + wrong * 2 + b'-NOAUTH HELLO must be called') and
                   out.endswith(wrong + b'+OK\r\n+PONG\r\n+OK\r\n'), 'before/after AUTH: %r' % out)
            out = raw(nd, b'HELLO 2 AUTH default "s3cret pass"\r\nPING\r\nQUIT\r\n')
            expect(out.startswith(b'*14\r\n') and out.endswith(b'+PONG\r\n+OK\r\n'),
                   'HELLO AUTH: %r' % out)
            r = redis.Redis(host='127.0.0.1', port=nd.resp_port, password='s3cret pass',
                            socket_timeout=10)
            def write():
                try:
                    return r.set('auth:k', 'v') is True
                except redis.exceptions.ResponseError:  # not writable yet
                    return False
            wait_until(write, 15, 'an authenticated write')
            expect(r.get('auth:k') == b'v', 'authenticated read')
            try:
                client(nd).get('auth:k')
                raise CheckFailed('a read without AUTH was served')
            except redis.exceptions.AuthenticationError:
                pass
            except redis.exceptions.ResponseError as e:
                expect('NOAUTH' in str(e), str(e))
            p = subprocess.run(['redis-cli', '-p', str(nd.resp_port), '--no-auth-warning',
                                '-a', 's3cret pass', 'get', 'auth:k'],
                               capture_output=True, timeout=30)
            expect(p.stdout.strip() == b'v', 'redis-cli -a: %r %r' % (p.stdout, p.stderr))
    finally:
        del os.environ['WIRE_RESP_PASSWORD']
    with RespCluster(wire_node, 1, extra=FAST, name='resp-noauth') as c:
        out = raw(c.nodes[0], b'AUTH x\r\nQUIT\r\n')
        expect(out.startswith(b'-ERR AUTH <password> called without any password configured'),
               'AUTH without a password configured: %r' % out)


def test_max_clients(wire_node):
    """--resp-max-clients: one connection more is told so and closed (as
    redis-server does); a freed place is taken again; INFO counts it."""
    with RespCluster(wire_node, 1, extra=FAST + ['--resp-max-clients', '3'],
                     name='resp-max') as c:
        nd = c.nodes[0]
        held = []
        for _ in range(3):
            s, out = raw_until(nd, b'PING\r\n', 7)
            expect(out == b'+PONG\r\n', 'PING on a held connection: %r' % out)
            held.append(s)
        out = raw(nd, b'PING\r\n')
        expect(out == b'-ERR max number of clients reached\r\n',
               'the connection over the limit: %r' % out)
        held.pop().close()
        wait_until(lambda: raw(nd, b'PING\r\nQUIT\r\n') == b'+PONG\r\n+OK\r\n', 5,
                   'a freed place to be served')
        info = raw(nd, b'INFO server\r\nQUIT\r\n')
        expect(b'maxclients:3\r\n' in info and b'rejected_connections:1\r\n' in info,
               'INFO: %r' % info)
        for s in held:
            s.close()


def with_cluster(tests):
    """Run the tests that share one 3-node cluster."""
    def shared(wire_node):
        with RespCluster(wire_node, 3, extra=FAST + ['--value-max', '64KiB'],
                         name='resp') as c:
            for t in tests:
                t0 = time.monotonic()
                t(c)
                print('  ok %s (%.1f s)' % (t.__name__, time.monotonic() - t0))
                sys.stdout.flush()
    shared.__name__ = 'shared_cluster'
    return shared


if __name__ == '__main__':
    run([with_cluster([test_redis_cli, test_python_redis, test_transactions,
                       test_rename_copy_getex_time, test_incrbyfloat_getrange,
                       test_followers_moved_readonly,
                       test_expiry_everywhere, test_http_resp_cross, test_limits,
                       test_disconnects]),
         test_leader_kill, test_auth, test_max_clients])
