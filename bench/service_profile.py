"""CPU per decision of the stateful service hot path in-process (no sockets), and where it goes.

    python bench/service_profile.py --model DIR [--n 3000] [--profile] [--concurrency 16] [--ref main]

Builds the service as `riskrl serve` does (SQLite audit WAL synchronous=FULL, group commit, metrics, dashboard),
posts the kept bars of BTC hourly 2023 once, then for each bar close posts the new bar and asks 20 positions
(`POST /v1/decide/position`, one position per request) straight through the ASGI app (no HTTP server: what the
server process adds on top is in bench/load_test.py). Prints CPU-ms per decision (process time / decisions) and,
with --profile, the top functions by cumulative and own time (cProfile).

With --ref REV (e.g. `--ref main`) the package as committed at REV is extracted (`git archive`) under the name
`riskrl_ref` and a second service is built from it in the same process; both answer the same request sequence in
alternating blocks of --block requests, so the printed ratio of CPU per decision holds on a loaded machine.
"""
import argparse, asyncio, cProfile, io, os, pstats, sys, tempfile, time, json
from pathlib import Path
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT/'bench'))
from load_test import stream_bodies, KEY


def asgi_caller(app):
    "call(path, body) -> (status, body bytes): one request through the ASGI app."
    headers = [(b'host', b'test'), (b'x-api-key', KEY.encode()), (b'content-type', b'application/json')]
    async def call(path, body):
        scope = dict(type='http', asgi={'version': '3.0'}, http_version='1.1', method='POST', scheme='http', path=path, raw_path=path.encode(),
                     query_string=b'', root_path='', headers=headers + [(b'content-length', str(len(body)).encode())],
                     client=('127.0.0.1', 1), server=('127.0.0.1', 80), state={})
        sent, out = [False], {}
        async def receive():
            if sent[0]: await asyncio.sleep(3600)
            sent[0] = True; return dict(type='http.request', body=body, more_body=False)
        async def send(msg):
            if msg['type'] == 'http.response.start': out['status'] = msg['status']
            elif msg['type'] == 'http.response.body': out['body'] = out.get('body', b'') + msg.get('body', b'')
        await app(scope, receive, send)
        return out['status'], out.get('body', b'')
    return call


def package_at(rev, folder) -> Path:
    "`folder`, holding the package `riskrl_nb` as committed at `rev` (`git archive`): put it on PYTHONPATH to run that code."
    import subprocess, tarfile, io
    folder = Path(folder); folder.mkdir(parents=True, exist_ok=True)
    tar = subprocess.run(['git', '-C', str(ROOT), 'archive', rev, 'riskrl_nb'], check=True, capture_output=True).stdout
    tarfile.open(fileobj=io.BytesIO(tar)).extractall(folder, filter='data')
    return folder


def ref_package(rev):
    "The riskrl_nb package as committed at `rev`, importable as `riskrl_ref` (absolute imports renamed)."
    import re
    out = package_at(rev, tempfile.mkdtemp(prefix='riskrl-ref-'))
    (out/'riskrl_nb').rename(out/'riskrl_ref')
    for f in (out/'riskrl_ref').rglob('*.py'): f.write_text(re.sub(r'\briskrl_nb\b', 'riskrl_ref', f.read_text()))
    sys.path.insert(0, str(out))
    import importlib
    return importlib.import_module('riskrl_ref.serve.http')


def build(http_mod, model, work, sync, tag):
    "The service and its ASGI caller as `riskrl serve` builds them, from the module `http_mod` (this code or the reference)."
    (work/'limits.yaml').write_text('max_bar_age_bars: null\n')
    ns = argparse.Namespace(model=model, audit=str(work/f'audit-{tag}.db'), limits=str(work/'limits.yaml'), host='127.0.0.1', port=0,
                            audit_synchronous=sync)
    svc, keys = http_mod.build_service(ns)
    return asgi_caller(http_mod.create_app(svc, keys, logger=http_mod.json_logger(stream=open(os.devnull, 'w'))))


async def run_requests(call, items, concurrency:int=1) -> int:
    """Send (path, body, decisions) items through `call`; every answer must be 200; the decisions made. Bar posts go one at a time;
    with `concurrency` > 1 the decision requests between two bar posts are sent `concurrency` at a time (`asyncio.gather`), as
    concurrent clients' requests reach the server in the same event-loop turn."""
    nd, group = 0, []
    async def flush():
        nonlocal nd
        for st, b in await asyncio.gather(*(call(path, body) for path, body, _ in group)): assert st == 200, (st, b[:300])
        nd += sum(k for _, _, k in group); group.clear()
    for item in items:
        if concurrency > 1 and item[2] > 0:
            group.append(item)
            if len(group) >= concurrency: await flush()
            continue
        if group: await flush()
        st, b = await call(item[0], item[1])
        assert st == 200, (st, b[:300])
        nd += item[2]
    if group: await flush()
    return nd


def ab(args):
    "This code against the reference package, alternating blocks of the same requests; CPU per decision of each and the ratio."
    os.environ['RISKRL_API_KEYS'] = KEY
    import gc
    from riskrl_nb.serve import http as new
    ref = ref_package(args.ref)
    work = Path(tempfile.mkdtemp(prefix='riskrl-ab-'))
    calls = {'ref': build(ref, args.model, work, args.audit_synchronous, 'ref'), 'new': build(new, args.model, work, args.audit_synchronous, 'new')}
    setup, reqs = stream_bodies(Path(args.model), args.mix, args.n)
    cpu, dec = {k: 0.0 for k in calls}, {k: 0 for k in calls}
    async def go():
        for call in calls.values(): await run_requests(call, setup); await run_requests(call, reqs[:100])   # warm-up
        rest = reqs[100:]
        for a in range(0, len(rest), args.block):
            for k in (('ref', 'new') if (a // args.block) % 2 == 0 else ('new', 'ref')):
                gc.collect()
                c0 = time.process_time(); dec[k] += await run_requests(calls[k], rest[a:a + args.block], args.concurrency); cpu[k] += time.process_time() - c0
    asyncio.run(go())
    ms = {k: cpu[k] / dec[k] * 1e3 for k in calls}
    print(f"{args.mix}, concurrency {args.concurrency}, audit synchronous={args.audit_synchronous}, in-process ASGI, {dec['new']} decisions each, load {os.getloadavg()[0]:.2f}: "
          f"CPU-ms per decision {args.ref} {ms['ref']:.3f}, this code {ms['new']:.3f}: {ms['ref'] / ms['new']:.2f}x")


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--model', required=True)
    ap.add_argument('--n', type=int, default=3000, help='requests (bar posts included)')
    ap.add_argument('--mix', default='stream', choices=['stream', 'stream20'])
    ap.add_argument('--profile', action='store_true')
    ap.add_argument('--audit-synchronous', default='FULL', choices=['FULL', 'NORMAL'], help='NORMAL: no fsync per commit (shows the rest of the cost)')
    ap.add_argument('--top', type=int, default=35)
    ap.add_argument('--concurrency', type=int, default=1, help='decision requests sent together between two bar posts (asyncio.gather)')
    ap.add_argument('--ref', help='git revision to compare with in this process (e.g. main)')
    ap.add_argument('--block', type=int, default=105, help='--ref: requests per alternating block')
    args = ap.parse_args()
    if args.ref: return ab(args)
    os.environ['RISKRL_API_KEYS'] = KEY
    import logging
    from riskrl_nb.serve.http import build_service, create_app, json_logger
    work = Path(tempfile.mkdtemp(prefix='riskrl-prof-'))
    (work/'limits.yaml').write_text('max_bar_age_bars: null\n')
    ns = argparse.Namespace(model=args.model, audit=str(work/'audit.db'), limits=str(work/'limits.yaml'), host='127.0.0.1', port=0,
                            audit_synchronous=args.audit_synchronous)
    svc, keys = build_service(ns)
    app = create_app(svc, keys, logger=json_logger(stream=open(os.devnull, 'w')))
    call = asgi_caller(app)
    setup, reqs = stream_bodies(Path(args.model), args.mix, args.n)
    run = lambda items: run_requests(call, items, args.concurrency)
    async def go():
        await run(setup); await run(reqs[:200])   # warm-up
        rest = reqs[200:]
        pr = cProfile.Profile(time.process_time) if args.profile else None   # CPU time, not wall (fsync waits)
        c0, w0 = time.process_time(), time.perf_counter()
        if pr: pr.enable()
        nd = await run(rest)
        if pr: pr.disable()
        c1, w1 = time.process_time(), time.perf_counter()
        return nd, len(rest), c1 - c0, w1 - w0, pr
    nd, nr, cpu, wall, pr = asyncio.run(go())
    print(f"{args.mix}, concurrency {args.concurrency}, audit synchronous={args.audit_synchronous}: {nr} requests, {nd} decisions; CPU {cpu / nd * 1e3:.3f} ms per decision ({cpu / nr * 1e3:.3f} per request), "
          f"wall {wall / nr * 1e3:.3f} ms per request (incl. fsync); load {os.getloadavg()[0]:.2f}{' (cProfile on: slower)' if pr else ''}")
    if pr:
        s = io.StringIO(); st = pstats.Stats(pr, stream=s)
        st.sort_stats('cumulative').print_stats(args.top); st.sort_stats('tottime').print_stats(args.top)
        print(s.getvalue())


if __name__ == '__main__':
    main()
