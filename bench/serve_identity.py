"""Does this code's service answer and audit exactly as another revision's? The same varied request sequence through both.

    python bench/serve_identity.py --model DIR --ref REV [--n 1500]

Builds the service of this code and of the package at REV (`service_profile.ref_package`, imported as `riskrl_ref`) as
`riskrl serve` does, posts BTC hourly bars and sends the stateful mix of bench/load_test.py (a bar post, then 20 single
positions per close) with the positions varied (side, size, equity, peak given or not, best return given or not, 5 % on a
symbol with no stream: 422), two blocks in three sent 16 at a time (decision groups) and one in three one by one, then
120 full-bar requests (`/v1/decide`, 60 one by one, 60 together). Compares every answer (status and body, less the audit
hash, which covers the record's time) and every audit record (sequence number, kind, payload), after replacing the
breakers' "open until HH:MM:SSZ" (wall clock) in both. Exit status 1 and the first differences when anything differs.
"""
import argparse, asyncio, json, os, re, sqlite3, sys, tempfile
from collections import Counter
from pathlib import Path
import numpy as np
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT/'bench'))
import service_profile as sp
from load_test import stream_bodies, make_bodies

UNTIL = re.compile(rb'open until \d\d:\d\d:\d\dZ')


def varied(model, n, seed=7) -> tuple[list, list]:
    "(setup, items): the stream mix with positions varied."
    setup, reqs = stream_bodies(Path(model), 'stream', n)
    rng, items = np.random.default_rng(seed), []
    for path, body, k in reqs:
        if path == '/v1/decide/position':
            d = json.loads(body)
            d['position']['side'] = 'short' if rng.random() < 0.4 else 'long'
            d['position']['quantity'] = round(float(rng.uniform(0.01, 1.2)), 6)
            d['account']['equity'] = round(float(rng.uniform(97_000, 130_000)), 2)
            if rng.random() < 0.3: d['account'].pop('peak_equity')
            if rng.random() < 0.2: d['position']['best_return'] = round(float(rng.uniform(0, 0.1)), 6)
            if rng.random() < 0.05: d['position']['symbol'] = 'ETH'
            body = json.dumps(d).encode()
        items.append((path, body, k))
    return setup, items


async def run(call, setup, items, full) -> list:
    out = [await call(p, b) for p, b, _ in setup]
    group = []
    async def flush():
        out.extend(await asyncio.gather(*(call(p, b) for p, b, _ in group))); group.clear()
    for j, (path, body, k) in enumerate(items):
        if k and (j // 40) % 3 != 2:
            group.append((path, body, k))
            if len(group) >= 16: await flush()
            continue
        if group: await flush()
        out.append(await call(path, body))
    if group: await flush()
    out += [await call('/v1/decide', b) for b in full[:60]]
    out += await asyncio.gather(*(call('/v1/decide', b) for b in full[60:]))
    return out


def strip(status, body):
    body = UNTIL.sub(b'open until T', body)
    try: d = json.loads(body)
    except ValueError: return status, body
    if isinstance(d, dict): d.pop('audit_hash', None)
    return status, d


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--model', required=True)
    ap.add_argument('--ref', required=True)
    ap.add_argument('--n', type=int, default=1500)
    a = ap.parse_args()
    os.environ['RISKRL_API_KEYS'] = sp.KEY
    from riskrl_nb.serve import http as new
    ref = sp.ref_package(a.ref)
    work = Path(tempfile.mkdtemp(prefix='riskrl-identity-'))
    setup, items = varied(a.model, a.n)
    full = make_bodies(Path(a.model), 'desk', 120)
    got = {}
    for tag, mod in (('ref', ref), ('new', new)):
        answers = asyncio.run(run(sp.build(mod, a.model, work, 'NORMAL', tag), setup, items, full))
        con = sqlite3.connect(work/f'audit-{tag}.db')
        recs = [(s, k, UNTIL.sub(b'open until T', p.encode()).decode()) for s, k, p in con.execute('SELECT seq, kind, payload FROM audit ORDER BY seq')]
        got[tag] = ([strip(s, b) for s, b in answers], recs)
    (a1, r1), (a2, r2) = got['ref'], got['new']
    print(f"{len(a1)} answers {dict(Counter(s for s, _ in a1))}; {len(r1)} audit records {dict(Counter(k for _, k, _ in r1))}")
    print('deciding policies and actions:', dict(Counter((d.get('policy'), d.get('action')) for s, d in a1 if s == 200 and isinstance(d, dict) and 'action' in d)))
    bad = [j for j, (x, y) in enumerate(zip(a1, a2)) if x != y] + ([-1] if len(a1) != len(a2) else [])
    badr = [j for j, (x, y) in enumerate(zip(r1, r2)) if x != y] + ([-1] if len(r1) != len(r2) else [])
    print(f"{a.ref} against this code: {len(bad)} answers differ, {len(badr)} audit records differ")
    for j in bad[:3]: print('  answer', j, a1[j], '\n   this code', a2[j])
    for j in badr[:3]: print('  record', j, r1[j], '\n   this code', r2[j])
    sys.exit(1 if bad or badr else 0)


if __name__ == '__main__':
    main()
