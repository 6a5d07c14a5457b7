"""Single-position decisions (`POST /v1/decide/position`) against `riskrl serve`, with a light client and with an open-loop one.

    PYTHONPATH=<code> python bench/load_wrk.py --model DIR [--duration 5] [--concurrency 1,16] [--rates 500,1000] [--audit-synchronous NORMAL] [--fault]

Starts the service of the code on PYTHONPATH (as bench/load_test.py does: a fresh SQLite audit log, an API key), posts the
kept bars of BTC hourly 2023 up to one bar close, then asks about --positions positions of that close (bodies in turn):
  wrk (Debian's `wrk`, C, closed loop: each of `c` connections sends its next request when the answer came; it costs
      the server's cores far less than a Python client) at each --concurrency, with `bench/wrk_positions.lua`;
  open loop (--rates): a Python asyncio client sends requests at a fixed rate whatever the answers (on up to 64
      connections), and times each from when it was due, so queueing in the server or the client counts; at a rate below
      saturation this is the latency a desk sees, where a closed loop at saturation measures only its own queue.
With --fault: 16 clients post the positions, the server is SIGKILLed after 3 s, and every acknowledged decision is looked up
in the audit log (the decision groups' answers must leave only after their commit).
Prints per run: requests/s, p50/p99 ms, the server's CPU-ms per decision (/proc of the server process), errors, load.
No bar posts during the runs (bench/load_test.py's stream mix has one per 20 decisions): this is the decision path alone.
"""
import argparse, asyncio, json, os, re, subprocess, sys, tempfile, time
from pathlib import Path
import numpy as np
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT/'bench'))
from load_test import Server, KEY, request_bytes, read_response, drive, pct, fault_test


def setup_bodies(model_dir, n):
    "(bars post bodies up to one close, position bodies of that close): BTC hourly, first close of 2023."
    import pandas as pd
    from riskrl_nb.data.candles import load_bundled
    from riskrl_nb.serve.schema import ServingModel
    sm, df = ServingModel(model_dir), load_bundled('BTC', '1h')
    ts = list(df.index.strftime('%Y-%m-%dT%H:%M:%SZ'))
    e = df.index.get_loc(pd.Timestamp('2023-01-02T00:00:00Z'))
    bars = dict(symbol='BTC', bars=dict(timestamp=ts[e - sm.bars_recommended + 1:e + 1],
                                        **{c: df[c].astype(float).tolist()[e - sm.bars_recommended + 1:e + 1] for c in ('open', 'high', 'low', 'close', 'volume')}))
    rng = np.random.default_rng(0)
    out = []
    for k in range(n):
        held = int(rng.integers(2, 48))
        out.append(json.dumps(dict(position=dict(position_id=f'pos-{k}', symbol='BTC', side='long' if k % 4 else 'short',
                                                 quantity=round(float(rng.uniform(0.01, 0.2)), 6), entry_price=float(df.open.iloc[e - held + 1]),
                                                 entry_time=ts[e - held + 1]),
                                   account=dict(equity=100_000.0, peak_equity=101_000.0, initial_equity=100_000.0))))
    return json.dumps(bars).encode(), out


def run_wrk(port, bodies_file, c, duration):
    "wrk closed loop on `c` connections: (requests/s, p50 ms, p99 ms, requests, non-2xx)."
    env = dict(os.environ, WRK_BODIES=str(bodies_file), WRK_KEY=KEY)
    out = subprocess.run(['wrk', '-t1', f'-c{c}', f'-d{duration}s', '--latency', '-s', str(ROOT/'bench'/'wrk_positions.lua'),
                          f'http://127.0.0.1:{port}'], capture_output=True, text=True, env=env, check=True).stdout
    ms = lambda s: float(s[:-2]) if s.endswith('ms') else float(s[:-2]) / 1e3 if s.endswith('us') else float(s[:-1]) * 1e3
    lat = dict(re.findall(r'^\s+(\d+)%\s+(\S+)$', out, re.M))
    n = int(re.search(r'(\d+) requests in', out).group(1))
    bad = re.search(r'Non-2xx or 3xx responses: (\d+)', out)
    return float(re.search(r'Requests/sec:\s+(\S+)', out).group(1)), ms(lat['50']), ms(lat['99']), n, int(bad.group(1)) if bad else 0


async def open_loop(port, reqs, rate, duration, conns=64):
    "Requests sent at `rate` per second whatever the answers; latency of each from when it was due. (latencies s, statuses)."
    pool = asyncio.Queue()
    for _ in range(conns): pool.put_nowait(await asyncio.open_connection('127.0.0.1', port))
    lat, statuses, tasks = [], [], []
    async def one(req, due):
        reader, writer = await pool.get()
        try:
            writer.write(req); await writer.drain()
            status, _ = await read_response(reader)
            lat.append(time.perf_counter() - due); statuses.append(status)
        finally: pool.put_nowait((reader, writer))
    t0, k = time.perf_counter(), 0
    while True:
        due = t0 + k / rate
        if due >= t0 + duration: break
        wait = due - time.perf_counter()
        if wait > 0: await asyncio.sleep(wait)
        tasks.append(asyncio.create_task(one(reqs[k % len(reqs)], due))); k += 1
    await asyncio.gather(*tasks)
    while not pool.empty(): pool.get_nowait()[1].close()
    return np.array(lat), statuses


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--model', required=True)
    ap.add_argument('--duration', type=float, default=5.0)
    ap.add_argument('--concurrency', default='1,16', help='wrk connections per run (closed loop)')
    ap.add_argument('--rates', default='500,1000', help='open-loop requests per second (empty: none)')
    ap.add_argument('--positions', type=int, default=200)
    ap.add_argument('--audit-synchronous', default='FULL', choices=['FULL', 'NORMAL'])
    ap.add_argument('--fault', action='store_true', help='only the SIGKILL test (see above)')
    args = ap.parse_args()
    if not (Path(args.model)/'serving.json').exists():   # as bench/load_test.py does: export the model first
        from riskrl_nb.serve.inference import export_policy
        export_policy(Path(args.model), verbose=False)
    if args.fault: return fault(args)
    work = Path(tempfile.mkdtemp(prefix='riskrl-wrk-'))
    bars, bodies = setup_bodies(Path(args.model), args.positions)
    (work/'bodies.jsonl').write_text('\n'.join(bodies) + '\n')
    server = Server(Path(args.model), work, args.audit_synchronous)
    rows = []
    try:
        asyncio.run(drive(server.port, [(request_bytes(server.port, bars, '/v1/bars'), 0)], 1, 10.0, 1))
        reqs = [request_bytes(server.port, b.encode(), '/v1/decide/position') for b in bodies]
        run_wrk(server.port, work/'bodies.jsonl', 4, 1)   # warm-up
        for c in [int(x) for x in args.concurrency.split(',') if x]:
            load0, cpu0 = os.getloadavg()[0], server.cpu_seconds()
            rps, p50, p99, n, bad = run_wrk(server.port, work/'bodies.jsonl', c, int(args.duration))
            rows.append(dict(client='wrk (closed loop)', load=(load0, os.getloadavg()[0]), conc=c, rps=rps, p50=p50, p99=p99, n=n, errors=bad,
                             cpu=(server.cpu_seconds() - cpu0) / max(n - bad, 1) * 1e3))
        for rate in [float(x) for x in args.rates.split(',') if x]:
            load0, cpu0 = os.getloadavg()[0], server.cpu_seconds()
            t = time.perf_counter()
            lat, st = asyncio.run(open_loop(server.port, reqs, rate, args.duration))
            wall = time.perf_counter() - t
            ok = sum(s == 200 for s in st)
            rows.append(dict(client=f'open loop {rate:.0f}/s', load=(load0, os.getloadavg()[0]), conc=None, rps=len(lat) / wall, p50=pct(lat, 50),
                             p99=pct(lat, 99), n=len(lat), errors=len(st) - ok, cpu=(server.cpu_seconds() - cpu0) / max(ok, 1) * 1e3))
        import httpx
        metrics = httpx.get(f'http://127.0.0.1:{server.port}/metrics').text
        groups = {l.split()[0]: float(l.split()[1]) for l in metrics.splitlines() if l.startswith(('riskrl_decision_groups_total', 'riskrl_grouped_requests_total'))}
    finally:
        server.stop()
    from riskrl_nb.serve.audit import AuditLog
    ver = AuditLog(server.audit).verify()
    import riskrl_nb
    print(f"server code {Path(riskrl_nb.__file__).parent}; audit synchronous={args.audit_synchronous}; {args.positions} positions of one bar close, in turn")
    print(f"{'client':<22} {'conc':>4} {'requests':>8} {'req/s':>7} {'p50 ms':>7} {'p99 ms':>7} {'CPU-ms/dec':>10} {'errors':>6} {'load':>10}")
    for r in rows:
        print(f"{r['client']:<22} {r['conc'] or '':>4} {r['n']:>8} {r['rps']:>7.0f} {r['p50']:>7.2f} {r['p99']:>7.2f} {r['cpu']:>10.3f} {r['errors']:>6} "
              f"{r['load'][0]:>4.1f}->{r['load'][1]:<4.1f}")
    if groups.get('riskrl_decision_groups_total'):
        print(f"decision groups: {groups['riskrl_grouped_requests_total'] / groups['riskrl_decision_groups_total']:.2f} requests per group")
    print(f"audit log: {ver.records} records, chain {'intact' if ver.ok else 'BROKEN: ' + ver.problem}")
    return 0 if ver.ok and all(r['errors'] == 0 for r in rows) else 1


def fault(args, kill_after=3.0):
    "SIGKILL the server while 16 clients ask about positions (load_test.fault_test on /v1/decide/position)."
    bars, bodies = setup_bodies(Path(args.model), args.positions)
    r = fault_test(Path(args.model), [b.encode() for b in bodies], args.audit_synchronous, kill_after, clients=16,
                   path='/v1/decide/position', before=[bars])
    return 0 if r['chain_ok'] and not r['lost'] and r['acknowledged'] else 1

if __name__ == '__main__':
    sys.exit(main())
