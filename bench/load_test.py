"""Load test of `riskrl serve` on loopback: sustained requests/s and latency percentiles, 0 errors expected; optional crash test.

    .venv/bin/python bench/load_test.py [--model DIR] [--duration 15] [--concurrency 1,4,16] [--fault]

Starts the service itself on 127.0.0.1 (a free port, an API key, a fresh SQLite audit log with
synchronous=FULL), then drives it with a minimal keep-alive HTTP/1.1 client on asyncio (pre-encoded
requests, so the client costs little CPU on the same machine). Bounded: each run stops after
--duration seconds or --max-requests requests. Two request mixes of real BTC hourly 2023 bars:
  cold: every request has a different bar window (the feature cache never hits: the worst case);
  desk: 20 positions per bar close share the bars (how a desk asks at each close: cache hits).
Two mixes of the stateful API (issue 14) on the same workload as desk (20 positions per bar close, consecutive
closes), after the kept bars were posted once: each close posts its new bar to /v1/bars, then
  stream: 20 POST /v1/decide/position, one position each (no bars in the request);
  stream20: one POST /v1/decide/positions with the 20 positions.
cpu/dec is the server's CPU per decision (bar posts included), the figure that decides capacity; the
stream mixes are also reported as ratios to the desk mix's cpu/dec, measured in the same server process.
Client-side latency is the full round trip; server-side latency is what the service logs (decision
and durable audit commit); cpu/req is the server process's CPU time per request, which does not
depend on how busy the machine is. With --fault the server is SIGKILLed mid-load and every acknowledged decision is
looked up in the audit log. Results also go to bench/out/load_test.json. Target (issue 9): p99 < 5 ms
for a single decision (concurrency 1) on 2 cores, for both mixes. Each acknowledged decision waits for
one fsync of the audit WAL (synchronous=FULL), so the disk's fsync time (probed before and after the
runs; it varies on a shared virtual disk from ~0.2 to ~4 ms) is part of every latency figure.
With --sse each mix and concurrency runs three times, without / with / without a dashboard viewer connected to
/dashboard/events (a thread of this process reading the server-sent events, as a browser does); the p99 with the viewer
is printed as a ratio to the mean of the two runs without it (issue 18: the dashboard must not slow decisions down).
"""
import argparse, asyncio, bisect, json, os, signal, socket, subprocess, sys, tempfile, threading, time
from pathlib import Path
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
KEY = 'load-test-key-0123456789'
sys.path.insert(0, str(ROOT/'bench'))


def free_port():
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0)); return s.getsockname()[1]


def make_bodies(model_dir, kind, n, seed=0):
    "n request bodies (bytes) on BTC hourly 2023: 'cold' = all different bar windows, 'desk' = 20 positions per bar close."
    import pandas as pd
    from riskrl_nb.data.candles import load_bundled
    from riskrl_nb.serve.schema import ServingModel
    sm = ServingModel(model_dir)
    df = load_bundled('BTC', '1h')
    nb = sm.bars_recommended
    lo = df.index.get_loc(pd.Timestamp('2023-01-01T00:00:00Z'))
    rng = np.random.default_rng(seed)
    ts = list(df.index.strftime('%Y-%m-%dT%H:%M:%SZ'))
    cols = {c: df[c].astype(float).tolist() for c in ('open', 'high', 'low', 'close', 'volume')}
    per_close = 1 if kind == 'cold' else 20
    ends = rng.choice(np.arange(lo, len(df)), n // per_close + 1, replace=False)
    out = []
    for e in ends:
        bars = dict(timestamp=ts[e - nb + 1:e + 1], **{c: v[e - nb + 1:e + 1] for c, v in cols.items()})
        for k in range(per_close):
            held = int(rng.integers(1, 48))
            price = float(df.open.iloc[e - held + 1])
            body = dict(position=dict(position_id=f'pos-{e}-{k}', symbol='BTC', side='long', quantity=round(float(rng.uniform(0.01, 0.2)), 6),
                                      entry_price=price, entry_time=ts[e - held + 1]),
                        account=dict(equity=100_000.0, peak_equity=101_000.0, initial_equity=100_000.0), bars=bars)
            out.append(json.dumps(body).encode())
    return out[:n]


def stream_bodies(model_dir, kind, n, run=0, seed=0):
    "(path, body, decisions) for the stateful mixes: per bar close a /v1/bars post, then 20 positions (`stream`: one per request)."
    import pandas as pd
    from riskrl_nb.data.candles import load_bundled
    from riskrl_nb.serve.schema import ServingModel
    sm = ServingModel(model_dir)
    df = load_bundled('BTC', '1h')
    ts = list(df.index.strftime('%Y-%m-%dT%H:%M:%SZ'))
    cols = {c: df[c].astype(float).tolist() for c in ('open', 'high', 'low', 'close', 'volume')}
    bars = lambda a, b: dict(timestamp=ts[a:b], **{c: v[a:b] for c, v in cols.items()})
    closes = n // 21 + 1
    lo = df.index.get_loc(pd.Timestamp('2023-01-01T00:00:00Z')) + run * closes
    rng = np.random.default_rng(seed + run)
    setup = [('/v1/bars', json.dumps(dict(symbol='BTC', bars=bars(lo - sm.bars_recommended, lo))).encode(), 0)]
    out = []
    for e in range(lo, lo + closes):
        out.append(('/v1/bars', json.dumps(dict(symbol='BTC', bars=bars(e - 1, e + 1))).encode(), 0))   # a re-sent bar is ignored
        pos = []
        for k in range(20):
            held = int(rng.integers(2, 48))
            pos.append(dict(position=dict(position_id=f'pos-{e}-{k}', symbol='BTC', side='long', quantity=round(float(rng.uniform(0.01, 0.2)), 6),
                                          entry_price=float(df.open.iloc[e - held + 1]), entry_time=ts[e - held + 1]),
                            account=dict(equity=100_000.0, peak_equity=101_000.0, initial_equity=100_000.0)))
        if kind == 'stream20': out.append(('/v1/decide/positions', json.dumps(dict(requests=pos)).encode(), 20))
        else: out += [('/v1/decide/position', json.dumps(p).encode(), 1) for p in pos]
    return setup, out


def request_bytes(port, body, path='/v1/decide'):
    return (f'POST {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nX-API-Key: {KEY}\r\nContent-Type: application/json\r\n'
            f'Content-Length: {len(body)}\r\n\r\n').encode() + body


async def read_response(reader):
    head = await reader.readuntil(b'\r\n\r\n')
    status = int(head.split(b' ', 2)[1])
    length = next(int(l.split(b':')[1]) for l in head.split(b'\r\n') if l.lower().startswith(b'content-length'))
    return status, await reader.readexactly(length)


async def drive(port, reqs, concurrency, duration, max_requests, acked=None):
    """Closed-loop clients on keep-alive connections over `reqs` [(request bytes, decisions)]; returns (latencies s, statuses, wall s, decisions answered).
    Requests of 0 decisions (the stateful mixes' bar posts) keep their order: a client sends any request only once every bar post before it in
    `reqs` is answered, as a desk posts each close before asking about it and before the next close (else concurrent clients post closes out
    of order, the stream refuses the older bar, and positions are asked about before their close is posted)."""
    lat, statuses, counter, ndec = [], [], [0], [0]
    t_end = time.perf_counter() + duration
    posts = [k for k, (_, n) in enumerate(reqs) if n == 0]
    done, turn = [0], asyncio.Condition()
    async def worker(w):
        reader, writer = await asyncio.open_connection('127.0.0.1', port)
        k = w
        try:
            while time.perf_counter() < t_end and counter[0] < max_requests:
                req, n = reqs[k % len(reqs)]
                j = (k // len(reqs)) * len(posts) + bisect.bisect_left(posts, k % len(reqs))   # bar posts before this request
                if done[0] < j:   # not its turn yet (no deadlock: the earliest unanswered post waits for nothing)
                    try:
                        async with turn: await asyncio.wait_for(turn.wait_for(lambda: done[0] >= j), max(t_end - time.perf_counter(), 1e-3))
                    except asyncio.TimeoutError: break   # the run ended first
                counter[0] += 1
                t0 = time.perf_counter()
                writer.write(req); await writer.drain()
                status, body = await read_response(reader)
                if n == 0:
                    async with turn: done[0] += 1; turn.notify_all()
                lat.append(time.perf_counter() - t0); statuses.append(status)
                if status == 200: ndec[0] += n
                if acked is not None and status == 200:
                    d = json.loads(body); acked.append((d['decision_id'], d['audit_hash']))
                k += concurrency
        except (ConnectionError, asyncio.IncompleteReadError):
            statuses.append('connection_lost')
        finally:
            writer.close()
    t0 = time.perf_counter()
    await asyncio.gather(*(worker(w) for w in range(concurrency)))
    return np.array(lat), statuses, time.perf_counter() - t0, ndec[0]


class SSEViewer:
    "A dashboard viewer: reads /dashboard/events in a thread (reconnecting when a stream ends) and counts the updates."
    def __init__(self, port):
        import httpx
        self.url, self.updates, self.stop = f'http://127.0.0.1:{port}/dashboard/events', 0, threading.Event()
        self.client = httpx.Client(headers={'X-API-Key': KEY}, timeout=30)
        self.thread = threading.Thread(target=self._run, daemon=True); self.thread.start()

    def _run(self):
        while not self.stop.is_set():
            try:
                with self.client.stream('GET', self.url) as r:
                    for line in r.iter_lines():
                        if line.startswith('event: update'): self.updates += 1
                        if self.stop.is_set(): return
            except Exception: time.sleep(0.2)

    def close(self):
        self.stop.set(); self.thread.join(7)


class Server:
    def __init__(self, model_dir, workdir, synchronous='FULL'):
        self.port, self.workdir = free_port(), Path(workdir)
        (self.workdir/'limits.yaml').write_text('max_bar_age_bars: null\n')   # replayed 2023 bars are old by design
        self.audit, self.log_path = self.workdir/'audit.db', self.workdir/'server.log'
        env = dict(os.environ, RISKRL_API_KEYS=KEY, PYTHONWARNINGS='ignore')
        self.log = open(self.log_path, 'w')
        self.proc = subprocess.Popen([str(Path(sys.executable).parent/'riskrl'), 'serve', '--model', str(model_dir), '--port', str(self.port),
                                      '--audit', str(self.audit), '--limits', str(self.workdir/'limits.yaml'),
                                      '--audit-synchronous', synchronous],
                                     stdout=subprocess.DEVNULL, stderr=self.log, env=env)
        import httpx
        for _ in range(600):
            try:
                if httpx.get(f'http://127.0.0.1:{self.port}/readyz', timeout=1).status_code == 200: return
            except httpx.TransportError: time.sleep(0.1)
        raise RuntimeError('server did not start: ' + self.log_path.read_text()[-1000:])

    def server_latencies(self, since_line=0):
        lines = self.log_path.read_text().splitlines()[since_line:]
        return np.array([json.loads(l)['latency_ms'] for l in lines if '"event": "decision"' in l]) / 1e3, since_line + len(lines)

    def cpu_seconds(self):
        "User + system CPU seconds the server process has used (a measure of its own cost, whatever the machine's load)."
        f = Path(f'/proc/{self.proc.pid}/stat').read_text().rsplit(')', 1)[1].split()
        return (int(f[11]) + int(f[12])) / os.sysconf('SC_CLK_TCK')

    def stop(self, sig=signal.SIGTERM):
        if self.proc.poll() is None: self.proc.send_signal(sig); self.proc.wait(15)
        self.log.close()


def fsync_probe(work, n=50):
    "Median time of one SQLite WAL commit with synchronous=FULL here (the disk's share of each decision)."
    from riskrl_nb.serve.audit import AuditLog
    a = AuditLog(Path(work)/'probe.db')
    ts = []
    for k in range(n):
        t = time.perf_counter(); a.append('probe', {'k': k}); ts.append(time.perf_counter() - t)
    return float(np.median(ts) * 1e3)


def pct(x, q): return float(np.percentile(x, q) * 1e3) if len(x) else float('nan')


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--model', help='exported model folder (a small model is trained and exported if omitted)')
    ap.add_argument('--duration', type=float, default=15.0, help='seconds per run')
    ap.add_argument('--max-requests', type=int, default=50_000, help='requests per run at most')
    ap.add_argument('--concurrency', default='1,4,16')
    ap.add_argument('--mixes', default='cold,desk,stream,stream20')
    ap.add_argument('--fault', action='store_true', help='also kill the server mid-load and check the audit log')
    ap.add_argument('--sse', action='store_true', help='run each mix without / with / without a dashboard viewer on /dashboard/events')
    ap.add_argument('--audit-synchronous', default='FULL', choices=['FULL', 'NORMAL'], help="the service's audit durability (default FULL)")
    args = ap.parse_args()
    work = Path(tempfile.mkdtemp(prefix='riskrl-load-'))
    if args.model: model_dir = Path(args.model)
    else:
        from inference import TINY
        from riskrl_nb.core.config import load_config
        from riskrl_nb.agents.training import train
        model_dir = train(load_config(overrides=TINY), work/'model', progress=False, verbose=False)
    if not (model_dir/'serving.json').exists():
        from riskrl_nb.serve.inference import export_policy
        export_policy(model_dir, verbose=False)
    concs = [int(x) for x in args.concurrency.split(',')]
    mixes = {m: [('/v1/decide', b, 1) for b in make_bodies(model_dir, m, 2000)] for m in args.mixes.split(',') if not m.startswith('stream')}
    runs = [(m, c) for m in args.mixes.split(',') if m.startswith('stream') for c in concs]
    streams = {(m, c): stream_bodies(model_dir, m, 4000, run=r) for r, (m, c) in enumerate(runs)}   # fresh bar closes for each run
    fsync_before = fsync_probe(work)
    server = Server(model_dir, work, args.audit_synchronous)
    rows, line = [], 0
    try:
        reqs = {m: [(request_bytes(server.port, b, path), k) for path, b, k in bodies] for m, bodies in mixes.items()}
        for key, (setup, bodies) in streams.items():
            reqs[key] = [(request_bytes(server.port, b, path), k) for path, b, k in bodies]
            asyncio.run(drive(server.port, [(request_bytes(server.port, b, path), k) for path, b, k in setup], 1, 10.0, 1))
        asyncio.run(drive(server.port, next(iter(reqs.values())), 2, 2.0, 300))   # warm-up (imports, caches, JIT)
        _, line = server.server_latencies()
        for m in [*mixes, *dict.fromkeys(m for m, _ in streams)]:
            for c, sse in [(c, s) for c in concs for s in ((False, True, False) if args.sse else (False,))]:
                viewer = SSEViewer(server.port) if sse else None
                if viewer: time.sleep(1.0)   # connected and past its first update
                load0, cpu0 = os.getloadavg()[0], server.cpu_seconds()
                lat, st, wall, ndec = asyncio.run(drive(server.port, reqs[m] if m in reqs else reqs[(m, c)], c, args.duration, args.max_requests))
                cpu = server.cpu_seconds() - cpu0
                if viewer: viewer.close()
                srv, line = server.server_latencies(line)
                errors = sum(s != 200 for s in st)
                rows.append(dict(mix=m, concurrency=c, sse=sse, sse_updates=viewer.updates if viewer else None, requests=len(lat), wall_s=round(wall, 2), req_per_s=len(lat) / wall, errors=errors,
                                 p50_ms=pct(lat, 50), p99_ms=pct(lat, 99), max_ms=float(lat.max() * 1e3) if len(lat) else None,
                                 server_p50_ms=pct(srv, 50), server_p99_ms=pct(srv, 99), load_avg=[load0, os.getloadavg()[0]],
                                 server_cpu_ms_per_request=cpu / max(len(lat), 1) * 1e3, decisions=ndec,
                                 server_cpu_ms_per_decision=cpu / max(ndec, 1) * 1e3,
                                 body_bytes=int(np.mean([len(b) for _, b, _ in (mixes[m] if m in mixes else streams[(m, c)][1])]))))
        import httpx
        metrics = httpx.get(f'http://127.0.0.1:{server.port}/metrics').text
        cache = [l for l in metrics.splitlines() if l.startswith('riskrl_feature_cache_hit_ratio')]
        groups = {l.split()[0]: float(l.split()[1]) for l in metrics.splitlines() if l.startswith(('riskrl_decision_groups_total', 'riskrl_grouped_requests_total'))}
    finally:
        server.stop()
    from riskrl_nb.serve.audit import AuditLog
    ver = AuditLog(server.audit).verify()
    print(f"model {model_dir}; service: 1 process (uvicorn, uvloop, httptools), SQLite audit WAL synchronous={args.audit_synchronous}; "
          f"client: asyncio keep-alive HTTP/1.1 on the same {os.cpu_count()}-core machine (shared with other work: see load)")
    print(f"{'mix':<8} {'sse':>3} {'conc':>4} {'requests':>8} {'req/s':>8} {'p50 ms':>7} {'p99 ms':>7} {'max ms':>7} {'srv p50':>8} {'srv p99':>8} {'cpu/req':>8} {'cpu/dec':>8} {'errors':>6} {'load':>10}")
    for r in rows:
        print(f"{r['mix']:<8} {'yes' if r['sse'] else 'no':>3} {r['concurrency']:>4} {r['requests']:>8} {r['req_per_s']:>8.0f} {r['p50_ms']:>7.2f} {r['p99_ms']:>7.2f} "
              f"{r['max_ms']:>7.1f} {r['server_p50_ms']:>8.2f} {r['server_p99_ms']:>8.2f} {r['server_cpu_ms_per_request']:>8.2f} "
              f"{r['server_cpu_ms_per_decision']:>8.3f} {r['errors']:>6} {r['load_avg'][0]:>4.1f}->{r['load_avg'][1]:<4.1f}")
    if args.sse:
        for m in dict.fromkeys(r['mix'] for r in rows):
            for c in concs:
                off = [r for r in rows if (r['mix'], r['concurrency'], r['sse']) == (m, c, False)]
                on = next(r for r in rows if (r['mix'], r['concurrency'], r['sse']) == (m, c, True))
                for k in ('p99_ms', 'server_p99_ms', 'p50_ms'):
                    on[f'{k}_ratio_vs_no_viewer'] = on[k] / np.mean([r[k] for r in off])
                print(f"dashboard viewer connected ({on['sse_updates']} SSE updates), {m} c={c}: p99 {on['p99_ms']:.2f} ms vs "
                      f"{np.mean([r['p99_ms'] for r in off]):.2f} ms without (ratio {on['p99_ms_ratio_vs_no_viewer']:.2f}); server p99 ratio "
                      f"{on['server_p99_ms_ratio_vs_no_viewer']:.2f}; p50 ratio {on['p50_ms_ratio_vs_no_viewer']:.2f}")
    base = {r['concurrency']: r['server_cpu_ms_per_decision'] for r in rows if r['mix'] == 'desk' and not r['sse']}
    for r in rows:
        if r['mix'].startswith('stream') and r['concurrency'] in base and not r['sse']:
            r['cpu_ratio_vs_desk'] = base[r['concurrency']] / r['server_cpu_ms_per_decision']
            print(f"stateful {r['mix']} c={r['concurrency']}: {r['server_cpu_ms_per_decision']:.3f} CPU-ms per decision, "
                  f"{r['cpu_ratio_vs_desk']:.1f}x less than the stateless desk mix ({base[r['concurrency']]:.3f}); "
                  f"target <= 0.3 ms: {'PASS' if r['server_cpu_ms_per_decision'] <= 0.3 else 'FAIL'}")
    print(f"audit log: {ver.records} records, chain {'intact' if ver.ok else 'BROKEN: ' + ver.problem}; {cache[0] if cache else ''}; "
          f"fsync of one audit commit on this disk: {fsync_before:.2f} ms before the runs, {fsync_probe(work):.2f} ms after (p50 of 50)")
    if groups.get('riskrl_decision_groups_total'):
        print(f"decision groups (all runs): {groups['riskrl_grouped_requests_total']:.0f} single-position requests in {groups['riskrl_decision_groups_total']:.0f} groups "
              f"({groups['riskrl_grouped_requests_total'] / groups['riskrl_decision_groups_total']:.2f} per group)")
    single = [r for r in rows if r['concurrency'] == 1 and r['mix'] != 'stream20' and not r['sse']]
    for r in single:
        print(f"target p99 < 5 ms for a single decision ({r['mix']}): {'PASS' if r['p99_ms'] < 5 else 'FAIL'} ({r['p99_ms']:.2f} ms, {r['errors']} errors)")
    result = dict(rows=rows, audit_records=ver.records, audit_ok=ver.ok, fsync_ms_before=fsync_before)
    if args.fault: result['fault'] = fault_test(model_dir, [b for _, b, _ in mixes[next(iter(mixes))]], args.audit_synchronous)
    out = ROOT/'bench'/'out'; out.mkdir(parents=True, exist_ok=True)
    (out/'load_test.json').write_text(json.dumps(result, indent=1))
    return 0 if all(r['errors'] == 0 for r in rows) and ver.ok else 1


def fault_test(model_dir, bodies, synchronous='FULL', kill_after=3.0, clients=8, path='/v1/decide', before=()):
    """SIGKILL the server while `clients` clients post `bodies` to `path` (after the `before` bodies, posted to /v1/bars);
    every acknowledged decision must be in the audit log with its hash."""
    from riskrl_nb.serve.audit import AuditLog
    work = Path(tempfile.mkdtemp(prefix='riskrl-fault-'))
    server = Server(model_dir, work, synchronous)
    if before: asyncio.run(drive(server.port, [(request_bytes(server.port, b, '/v1/bars'), 0) for b in before], 1, 10.0, len(before)))
    reqs = [(request_bytes(server.port, b, path), 1) for b in bodies]
    acked = []
    async def run():
        task = asyncio.create_task(drive(server.port, reqs, clients, 60, 10**6, acked))
        await asyncio.sleep(kill_after)
        server.proc.send_signal(signal.SIGKILL)
        return await task
    lat, st, wall, _ = asyncio.run(run())
    server.proc.wait(10); server.log.close()
    log = AuditLog(server.audit)
    ver = log.verify()
    on_disk = {r.seq: r.hash for r in log.records()}
    lost = [a for a in acked if on_disk.get(a[0]) != a[1]]
    print(f"fault test ({path}, audit synchronous={synchronous}): server SIGKILLed after {kill_after:.0f} s under {clients} clients; "
          f"{len(acked)} decisions acknowledged, {len(on_disk)} records on disk, {len(lost)} acknowledged records lost; "
          f"chain {'intact' if ver.ok else 'BROKEN'}; in-flight requests cut: {sum(s == 'connection_lost' for s in st)}; "
          f"load {os.getloadavg()[0]:.1f}")
    return dict(acknowledged=len(acked), on_disk=len(on_disk), lost=len(lost), chain_ok=ver.ok)

if __name__ == '__main__':
    sys.exit(main())
