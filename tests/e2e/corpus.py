"""Deterministic NDJSON test corpora for the libwire e2e tests.

make_corpus() writes log-like records that are deliberately awkward for a
JSON pipeline: every level plus odd ones (missing, null, "ERROR", a number),
nested objects and arrays, raw UTF-8 and \\u escapes (surrogate pairs
included, and lone low surrogates jq turns into U+FFFD), escaped
quotes/backslashes/control characters and "\\/", numbers
written as 1.0, 1e3, 1E+2, -0, -0.0, 0.10, huge integers and extreme
doubles, missing and null fields, duplicate keys (jq: last one wins),
shuffled key order, and some lines with non-canonical whitespace (spaces
around ':' and ',', leading tabs, trailing blanks, CRLF endings).  Every line
is one valid JSON object, so `jq -c EXPR corpus` is the reference.
"""

import json
import random

LEVELS = ['debug'] * 15 + ['info'] * 55 + ['warn'] * 15 + ['error'] * 12
USERS = ['alice', 'bob', 'carol', 'dave', 'u042', 'u7', 'zo\u00eb', 'bob']
MSGS = [
    'GET /api/items 200 12ms',
    'POST /api/login 401 3ms',
    'na\u00efve caf\u00e9 \u2615 ok',
    'emoji \U0001F600 and CJK \u6f22\u5b57',
    'quote " and backslash \\ inside',
    'line1\nline2\ttabbed',
    'ctrl \u0001\u001f and DEL \u007f',
    '',
    'x' * 300,
]


class Raw:
    """A value written verbatim into the JSON text."""

    def __init__(self, text):
        self.text = text


RAW_NUMBERS = ['1.0', '1e3', '1E+2', '-0', '-0.0', '0.10', '12345678901234567890',
               '1.7976931348623157e308', '5e-324', '-12.5e-1', '100000000000000000000000']


def _number(r):
    k = r.random()
    if k < 0.55:
        return r.randint(-50, 100)
    if k < 0.70:
        return round(r.uniform(-100, 100), r.randint(0, 4))
    if k < 0.82:
        return Raw(r.choice(RAW_NUMBERS))
    if k < 0.88:
        return str(r.randint(0, 40))  # a string: `.n + 1` is a jq runtime error
    if k < 0.93:
        return None
    return KeyError  # missing


def _msg(r):
    m = r.choice(MSGS)
    k = r.random()
    if k < 0.15:
        return Raw(json.dumps(m, ensure_ascii=True))  # \u escapes, surrogate pairs
    if k < 0.20:
        return Raw('"path \\/api\\/v1 \\u00e9\\r\\b\\f"')  # escapes jq normalises
    if k < 0.205:
        # a lone low surrogate (jq 1.6: U+FFFD; a lone high one is a jq parse error)
        return Raw('"lone \\udc00 low, pair \\ud83d\\ude00"')
    return m


def _items(r):
    k = r.random()
    if k < 0.35:
        return KeyError
    if k < 0.40:
        return 'notalist'
    if k < 0.45:
        return {'k': r.randint(0, 9), 'j': [1, 2]}
    if k < 0.50:
        return []
    return [r.choice([r.randint(0, 99), 'it%d' % r.randint(0, 9), {'sku': r.randint(1, 5)},
                      None, True, Raw('2.50')]) for _ in range(r.randint(1, 4))]


def _record(r, i):
    rec = {}
    rec['id'] = i
    rec['ts'] = '2026-11-22T10:%02d:%02d.%03dZ' % (i // 60000 % 60, i // 1000 % 60, i % 1000)
    k = r.random()
    if k < 0.015:
        pass  # no level
    elif k < 0.02:
        rec['level'] = None
    elif k < 0.025:
        rec['level'] = 'ERROR'
    elif k < 0.03:
        rec['level'] = 3
    else:
        rec['level'] = r.choice(LEVELS)
    if r.random() < 0.95:
        rec['user'] = r.choice(USERS)
    elif r.random() < 0.5:
        rec['user'] = None
    rec['msg'] = _msg(r)
    for key, fn in (('n', _number), ('items', _items)):
        v = fn(r)
        if v is not KeyError:
            rec[key] = v
    if r.random() < 0.8:
        rec['x'] = r.choice([r.randint(0, 9), 'x%d' % r.randint(0, 9), {'deep': [1, {'z': None}]}])
    k = r.random()
    if k < 0.5:
        rec['y'] = r.choice([0, 2, False, None, 'yy', [1]])
    if r.random() < 0.3:
        rec['meta'] = {'host': 'h%d' % r.randint(1, 3), 'tags': ['a', 'b'][:r.randint(0, 2)],
                       'deep': {'a': {'b': [1, {'c': None}, [[]], {}]}}}
    if r.random() < 0.05:  # shuffled key order
        keys = list(rec)
        r.shuffle(keys)
        rec = {key: rec[key] for key in keys}
    return rec


def _dump(rec, r):
    raws = []

    def sub(v):
        if isinstance(v, Raw):
            raws.append(v.text)
            return '@@R%d@@' % (len(raws) - 1)
        if isinstance(v, list):
            return [sub(x) for x in v]
        if isinstance(v, dict):
            return {k: sub(x) for k, x in v.items()}
        return v

    rec = sub(rec)
    weird = r.random() < 0.06
    seps = (r.choice([' , ', ',\t', ', ']), r.choice([' : ', ':  ', ' :'])) if weird else (',', ':')
    text = json.dumps(rec, ensure_ascii=False, separators=seps)
    for j, t in enumerate(raws):
        text = text.replace('"@@R%d@@"' % j, t, 1)
    if r.random() < 0.002:  # duplicate key, jq keeps the last
        text = '{"level":"debug",' + text[1:]
    if weird:
        text = r.choice(['', ' ', '\t', '  ']) + text + r.choice(['', ' ', '\t '])
        if r.random() < 0.1:
            text += '\r'
    return text


def make_corpus(path, n=50000, seed=1):
    """Write n records; return n."""
    r = random.Random(seed)
    with open(path, 'w', encoding='utf-8', newline='\n') as f:
        buf = []
        for i in range(n):
            buf.append(_dump(_record(r, i), r))
            if len(buf) == 4096:
                f.write('\n'.join(buf) + '\n')
                buf = []
        if buf:
            f.write('\n'.join(buf) + '\n')
    return n


def make_canonical_corpus(path, n=20000, seed=2):
    """Simpler records in compact canonical form (what jq -c prints), for
    tests whose operators forward records unchanged (route, pass-through)."""
    r = random.Random(seed)
    with open(path, 'w', encoding='utf-8', newline='\n') as f:
        for i in range(n):
            rec = {'id': i, 'level': r.choice(LEVELS), 'user': r.choice(USERS),
                   'msg': r.choice(MSGS[:6]), 'n': r.randint(-5, 50)}
            if r.random() < 0.2:
                rec['meta'] = {'tags': ['a', 'b'], 'x': None}
            f.write(json.dumps(rec, ensure_ascii=False, separators=(',', ':')) + '\n')
    return n


if __name__ == '__main__':
    import sys
    make_corpus(sys.argv[1], int(sys.argv[2]) if len(sys.argv) > 2 else 50000)
