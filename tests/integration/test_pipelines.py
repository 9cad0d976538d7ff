"""Pipelines kept in the cluster: real `wire-node serve` processes.

  python3 tests/integration/test_pipelines.py BUILD/daemon/wire-node

A generator (deterministic: record N is a pure function of N) feeds jq and
a file sink whose relative path lands in each node's own working directory
(cluster.py), so every node that ever ran the pipeline leaves a file; the
union of those files is what was delivered.

- kill -9 of the leader at a random moment mid-stream, once and three times
  in a row: the new leader resumes from the committed positions and every
  record is delivered at least once (prints the time from the kill to
  records flowing again);
- a graceful restart of the whole cluster mid-stream (each leader in turn
  gets SIGTERM: it drains, commits its final positions and hands over)
  delivers every record exactly once;
- pause, resume, replace and delete under load; validation errors as JSON
  with LINE:COL; requests on a follower are served by the leader;
- a sink that cannot work is reported `failed` with its error; resume
  restarts it.
"""

import json
import os
import random
import shutil
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from cluster import Cluster, CheckFailed, expect, run, wait_until  # noqa: E402

FAST = ['--election-timeout', '300', '--heartbeat-timeout', '50']


def definition(name, count, rate, expr='.seq', path='out.txt', exactly_once=False):
    return ('name: %s\n'
            'sources:\n'
            '  - {id: gen, type: generator, count: %d, rate: %d}\n'
            'operations:\n'
            "  - {id: pick, type: jq, inputs: [gen], expr: '%s'}\n"
            'sinks:\n'
            '  - {id: out, type: file, inputs: [pick], path: %s, exactly_once: %s}\n'
            % (name, count, rate, expr, path, 'true' if exactly_once else 'false')).encode()


def submit(node, body, method='POST', name=None):
    path = '/pipelines' if name is None else '/pipelines/' + name
    st, _, data = node.request(method, path, body, {'Content-Type': 'application/yaml'})
    return st, data


def info(node, name):
    st, doc = node.json('GET', '/pipelines/' + name)
    expect(st == 200, 'GET /pipelines/%s: %s %s' % (name, st, doc))
    return doc


def out_path(nd, fname='out.txt'):
    return os.path.join(nd.work, fname)


def lines(nd, fname='out.txt'):
    try:
        with open(out_path(nd, fname), 'rb') as f:
            return f.read().splitlines()
    except FileNotFoundError:
        return []


def union_counts(c, count, fname='out.txt'):
    """Per seq, how many times it was delivered over every node's file."""
    seen = bytearray(count)
    extra = 0
    for nd in c.nodes:
        for ln in lines(nd, fname):
            v = int(ln)
            expect(0 <= v < count, 'node %d wrote an unexpected record %r' % (nd.id, ln))
            if seen[v] < 255:
                seen[v] += 1
            if seen[v] > 1:
                extra += 1
    missing = [i for i in range(count) if seen[i] == 0]
    return missing, extra


def wait_finished(c, name, timeout):
    def done():
        d = info(c.leader(), name)
        if d['state'] == 'failed':
            raise CheckFailed('pipeline failed: %s' % d.get('error'))
        return d if d['state'] == 'stopped' and (d.get('runtime') or {}).get('finished') else None
    return wait_until(done, timeout, 'pipeline %s to finish' % name, interval=0.2)


def file_size(nd, fname='out.txt'):
    try:
        return os.path.getsize(out_path(nd, fname))
    except FileNotFoundError:
        return 0


def kill_leader_and_time_resume(c, name):
    """kill -9 the leader; seconds until a new leader's sink grows."""
    lead = c.leader()
    t0 = time.monotonic()
    lead.kill9()
    sizes = {nd.id: file_size(nd) for nd in c.running()}

    def flowing():
        # A file that grows between two looks (a new leader may first cut
        # its file back to what it committed).
        for nd in c.running():
            now = file_size(nd)
            grew = now > sizes[nd.id]
            sizes[nd.id] = now
            if grew:
                return nd
        return None
    nd = wait_until(flowing, 15, 'records to flow again after killing node %d' % lead.id,
                    interval=0.01)
    return lead, nd, time.monotonic() - t0


def check_delivery(c, name, count, exactly_once):
    wait_finished(c, name, 120)
    if exactly_once:
        # Restarted followers cut their files back once they caught up.
        c.wait_ready()
        try:
            wait_until(lambda: union_counts(c, count)[1] == 0, 10,
                       'every node to cut back its uncommitted records', interval=0.5)
        except CheckFailed:
            pass  # reported below with the numbers
    missing, extra = union_counts(c, count)
    expect(not missing, '%d records never delivered (first: %s)' % (len(missing), missing[:5]))
    if exactly_once:
        expect(extra == 0, '%d records delivered more than once' % extra)
    return extra


def kill_once(wire_node, exactly_once):
    count = 2000000
    with Cluster(wire_node, 3, extra=FAST, name='pipe-kill') as c:
        st, data = submit(c.follower(), definition('p1', count, 400000, exactly_once=exactly_once))
        expect(st == 201, 'POST through a follower: %s %s' % (st, data))
        lead = c.leader()
        wait_until(lambda: file_size(lead) > 0, 10, 'the leader to write')
        time.sleep(random.uniform(0.5, 2.5))
        dead, new, secs = kill_leader_and_time_resume(c, 'p1')
        print('  records flowing again %.3f s after kill -9 of the leader (node %d -> %d)'
              % (secs, dead.id, new.id))
        expect(secs < 10, 'resume took %.1f s' % secs)
        dead.start()
        extra = check_delivery(c, 'p1', count, exactly_once)
        print('  %d of %d records delivered twice (%s)' % (
            extra, count, 'exactly_once' if exactly_once else 'at-least-once'))
        d = info(c.leader(), 'p1')
        expect(d['committed']['gen']['position'], 'committed position: %s' % d['committed'])


def test_kill_leader_mid_stream(wire_node):
    kill_once(wire_node, False)


def test_kill_leader_mid_stream_exactly_once(wire_node):
    kill_once(wire_node, True)


def test_three_kills_in_a_row_exactly_once(wire_node):
    count = 2000000
    with Cluster(wire_node, 3, extra=FAST, name='pipe-kill3') as c:
        st, data = submit(c.leader(), definition('p3', count, 150000, exactly_once=True))
        expect(st == 201, 'POST: %s %s' % (st, data))
        lead = c.leader()
        wait_until(lambda: file_size(lead) > 0, 10, 'the leader to write')
        times = []
        for k in range(3):
            time.sleep(random.uniform(0.3, 1.2))
            dead, new, secs = kill_leader_and_time_resume(c, 'p3')
            times.append(secs)
            dead.start()
            c.wait_ready()
        times.sort()
        print('  resume after kill -9: %s s (median %.3f)' % (
            ', '.join('%.3f' % t for t in times), times[1]))
        check_delivery(c, 'p3', count, True)


def test_graceful_whole_cluster_restart(wire_node):
    count = 1000000
    with Cluster(wire_node, 3, extra=FAST, name='pipe-restart') as c:
        st, data = submit(c.leader(), definition('pr', count, 250000))
        expect(st == 201, 'POST: %s %s' % (st, data))
        lead = c.leader()
        wait_until(lambda: file_size(lead) > 100000, 10, 'the leader to write')
        # Every node gets SIGTERM, always the current leader first: each
        # drains, commits its final positions and hands leadership over.
        for _ in range(2):
            lead = c.leader()
            expect(lead.stop() == 0, 'node %d exit code' % lead.id)
        last = c.running()[0]
        expect(last.stop() == 0, 'node %d exit code' % last.id)
        for nd in c.nodes:
            nd.start()
        c.wait_ready()
        check_delivery(c, 'pr', count, True)


def test_pause_resume_replace_delete(wire_node):
    with Cluster(wire_node, 3, extra=FAST, name='pipe-ops') as c:
        lead, fol = c.leader(), c.follower()
        # Validation errors: JSON, 400, every problem with LINE:COL.
        bad = (b'name: bad\nsources:\n  - {id: s, type: nope}\n'
               b'sinks:\n  - {id: o, type: file, inputs: [missing], path: x}\n')
        st, _, data = fol.request('POST', '/pipelines', bad)
        doc = json.loads(data)
        expect(st == 400 and doc['error']['code'] == 'invalid_pipeline',
               'invalid definition: %s %s' % (st, data))
        errs = doc['error']['errors']
        expect(len(errs) >= 2 and all(e['line'] > 0 and e['col'] > 0 for e in errs),
               'errors with positions: %s' % errs)
        expect(':3:' in doc['error']['message'], 'FILE:LINE:COL text: %s' % doc['error']['message'])
        st, _, data = fol.request('POST', '/pipelines', b'name: [unclosed\n')
        expect(st == 400, 'YAML syntax error: %s %s' % (st, data))

        body = definition('ops', 50000000, 50000)
        st, _ = submit(fol, body)
        expect(st == 201, 'create: %s' % st)
        st, data = submit(lead, body)
        expect(st == 409, 'create twice: %s %s' % (st, data))
        wait_until(lambda: info(fol, 'ops')['state'] == 'running', 10, 'running')
        st, doc = fol.json('GET', '/pipelines')
        expect(st == 200 and [p['name'] for p in doc['pipelines']] == ['ops'], 'list: %s' % doc)
        # The generator knows how far it is from its end: lag in records.
        gen = wait_until(lambda: next((n for n in (info(fol, 'ops').get('runtime') or {}).get('nodes', [])
                                       if n['id'] == 'gen' and 'lag' in n), None), 10, 'source lag')
        expect(gen['lag_unit'] == 'records' and 0 < gen['lag'] < 50000000,
               'source lag: %s' % gen)
        st, _ = fol.json('GET', '/pipelines/none')
        expect(st == 404, 'unknown pipeline: %s' % st)

        # Pause: drains, commits, stops writing.
        wait_until(lambda: file_size(lead) > 0, 10, 'records')
        st, doc = fol.json('POST', '/pipelines/ops/pause')
        expect(st == 200 and doc['paused'] is True, 'pause: %s %s' % (st, doc))
        wait_until(lambda: info(lead, 'ops')['state'] == 'paused', 10, 'paused')
        time.sleep(0.3)
        n_paused = len(lines(lead))
        d = info(lead, 'ops')
        expect(int(d['committed']['gen']['position'].split(':')[1].rstrip('}')) == n_paused,
               'committed position %s after pause, %d records written'
               % (d['committed'], n_paused))
        time.sleep(0.5)
        expect(len(lines(lead)) == n_paused, 'records written while paused')

        # Resume: continues where it stopped, nothing twice.
        st, doc = fol.json('POST', '/pipelines/ops/resume')
        expect(st == 200 and doc['paused'] is False, 'resume: %s %s' % (st, doc))
        wait_until(lambda: len(lines(lead)) > n_paused + 1000, 10, 'records after resume')
        got = [int(x) for x in lines(lead)]
        expect(got[n_paused] == n_paused, 'first record after resume: %d, expected %d'
               % (got[n_paused], n_paused))

        # Replace: the new definition resumes from the committed positions.
        st, _ = submit(fol, definition('ops', 50000000, 50000, expr='.seq + 100000000'),
                       'PUT', 'ops')
        expect(st == 200, 'replace: %s' % st)
        wait_until(lambda: any(int(x) >= 100000000 for x in lines(lead)[-5:]), 10,
                   'records of the new definition')
        got = [int(x) for x in lines(lead)]
        first_new = next(i for i, v in enumerate(got) if v >= 100000000)
        expect(got[first_new] - 100000000 == first_new,
               'new definition resumed at seq %d after %d records'
               % (got[first_new] - 100000000, first_new))
        st, _ = submit(fol, definition('other', 10, 10), 'PUT', 'ops')
        expect(st == 400, 'PUT with a different name: %s' % st)

        # Delete: runner stops, definition and positions gone.
        st, _, _ = fol.request('DELETE', '/pipelines/ops')
        expect(st == 204, 'delete: %s' % st)
        st, _, _ = fol.request('DELETE', '/pipelines/ops')
        expect(st == 404, 'delete twice: %s' % st)
        time.sleep(0.5)
        n = len(lines(lead))
        time.sleep(0.5)
        expect(len(lines(lead)) == n, 'records written after delete')
        # Created again under that name: starts afresh (positions deleted).
        os.unlink(out_path(lead))
        st, _ = submit(fol, definition('ops', 10, 1000))
        expect(st == 201, 'create again: %s' % st)
        wait_until(lambda: len(lines(lead)) == 10, 10, 'the new pipeline to run')
        expect([int(x) for x in lines(lead)] == list(range(10)), 'fresh start: %s' % lines(lead))


def test_failed_sink(wire_node):
    with Cluster(wire_node, 1, extra=FAST, name='pipe-fail') as c:
        lead = c.leader()
        st, _ = submit(lead, definition('f', 100, 1000, path='no/such/dir/out.txt'))
        expect(st == 201, 'create: %s' % st)
        d = wait_until(lambda: (lambda d: d if d['state'] == 'failed' else None)(info(lead, 'f')),
                       10, 'state failed')
        expect('no/such/dir' in d.get('error', ''), 'error names the path: %s' % d)
        os.makedirs(os.path.join(lead.work, 'no/such/dir'))
        st, doc = lead.json('POST', '/pipelines/f/resume')
        expect(st == 200, 'resume: %s' % st)
        wait_until(lambda: (info(lead, 'f').get('runtime') or {}).get('generation') == doc['generation'],
                   10, 'the resumed generation to run')
        wait_finished(c, 'f', 20)
        expect(len(lines(lead, 'no/such/dir/out.txt')) == 100, 'records after resume')


def test_demo(wire_node):
    """`wire-node demo DIR`: a single-node cluster running the demo."""
    import signal
    import subprocess
    import tempfile
    from cluster import Node, free_port
    d = tempfile.mkdtemp(prefix='wire-it-demo-', dir='/tmp')
    http, raft = free_port(), free_port()
    log = open(os.path.join(d, 'demo.log'), 'wb')
    proc = subprocess.Popen([wire_node, 'demo', d, '--http', '127.0.0.1:%d' % http,
                             '--raft', '127.0.0.1:%d' % raft], stdout=log, stderr=subprocess.STDOUT)
    try:
        nd = Node(wire_node, 1, d)
        nd.http_port = http
        wait_until(lambda: nd.request('GET', '/pipelines/demo', timeout=1)[0] == 200, 15,
                   'the demo pipeline to be submitted')
        doc = wait_until(lambda: (lambda x: x if (x.get('runtime') or {}).get('finished') else None)(
            nd.json('GET', '/pipelines/demo')[1]), 30, 'the demo to finish', interval=0.2)
        outs = {n['id']: n['out'] for n in doc['runtime']['nodes']}
        got = {}
        for sink, fname in (('errors_out', 'errors.ndjson'), ('warnings_out', 'warnings.ndjson')):
            with open(os.path.join(d, fname), 'rb') as f:
                got[sink] = [json.loads(x) for x in f.read().splitlines()]
            expect(len(got[sink]) == outs[sink] > 0,
                   '%s: %d lines, sink says %s' % (fname, len(got[sink]), outs[sink]))
        expect(all(set(r) == {'seq', 'user', 'msg'} for r in got['errors_out']),
               'errors projected to seq, user, msg: %s' % got['errors_out'][:2])
        expect(all(r['level'] == 'warn' for r in got['warnings_out']), 'warnings kept whole')
        proc.send_signal(signal.SIGTERM)
        expect(proc.wait(15) == 0, 'demo exit code %s' % proc.returncode)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        log.close()
        shutil.rmtree(d, ignore_errors=True)


if __name__ == '__main__':
    tests = [test_pause_resume_replace_delete, test_failed_sink, test_kill_leader_mid_stream,
             test_kill_leader_mid_stream_exactly_once, test_three_kills_in_a_row_exactly_once,
             test_graceful_whole_cluster_restart, test_demo]
    run(tests)
