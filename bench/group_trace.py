"""Where a single-position decision's time goes at 16 connections: a timeline of the server's event loop.

    PYTHONPATH=<code> python bench/group_trace.py --model DIR [--concurrency 16] [--duration 8]

Starts `riskrl serve` of the code on PYTHONPATH (as bench/load_wrk.py: a fresh audit log, BTC bars posted up to one close, 200
positions of it) with a tracer patched in (this file run with `--serve`: no service code changes), drives it with wrk (closed
loop), then prints from the server's timeline (`time.perf_counter` at each point; the first 1.5 s are left out):
  - each request from the start of its ASGI call (headers parsed) to the end of its answer's body (`in -> out`);
  - each decision group: size, how long from its decision (after `DecideGroups.gather`) to its answers being handed over,
    and its `decide_each` and audit `commit` parts; the slowest 2 % of groups split the same way;
  - how long after its group ended each answer left, and the share of answers that left after the next group had started
    (round 9 found 25-88 % on the code before `gather`: the next group was decided before the previous one's answers were written).
The tracer costs the server some throughput (about 5-10 %): compare its figures with each other, and take latencies from
bench/load_wrk.py.
"""
import argparse, asyncio, json, os, signal, subprocess, sys, tempfile, time
from pathlib import Path
import numpy as np
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT/'bench'))


def serve_traced(out, argv):
    "Run `riskrl serve argv` with the tracer; the timeline is written to `out` on SIGUSR1."
    import riskrl_nb.serve.http as H
    from riskrl_nb.serve.audit import AuditLog
    from riskrl_nb.serve.engine import DecisionService
    T, pc = [], time.perf_counter
    call0, gather0, run0, commit0, decide0 = H.FastRoutes.__call__, getattr(H.DecideGroups, 'gather', None), H.DecideGroups._run, AuditLog.commit, DecisionService.decide_each
    async def call(self, scope, receive, send):
        rid = id(scope); T.append(('in', pc(), rid))
        async def send2(m):
            await send(m)
            if m['type'] == 'http.response.body': T.append(('out', pc(), rid))
        await call0(self, scope, receive, send2)
    async def gather(self):
        await gather0(self); T.append(('g0', pc(), len(self._items)))
    async def run(self):
        if gather0 is None: T.append(('g0', pc(), len(self._items)))   # code before round 9: decided at once
        await run0(self); T.append(('g1', pc(), 0))
    def commit(self):
        a = pc(); r = commit0(self); T.append(('c', a, pc() - a)); return r
    def decide_each(self, *a, **k):
        t = pc(); r = decide0(self, *a, **k); T.append(('d', t, pc() - t)); return r
    H.FastRoutes.__call__, H.DecideGroups._run, AuditLog.commit, DecisionService.decide_each = call, run, commit, decide_each
    if gather0 is not None: H.DecideGroups.gather = gather
    signal.signal(signal.SIGUSR1, lambda *a: Path(out).write_text(json.dumps(T)))
    from riskrl_nb.cli import main
    sys.exit(main(['serve'] + argv))


def analyse(T, skip=1.5):
    t_beg = T[0][1] + skip
    ins, L = {}, []
    for k, t, x in T:
        if k == 'in': ins[x] = t
        elif k == 'out' and x in ins: L.append((ins[x], t - ins.pop(x)))
    L = np.array([l for l in L if l[0] > t_beg]); ms = L[:, 1] * 1e3
    print(f"requests: {len(ms)}; in -> out ms p50 {np.percentile(ms, 50):.2f} p90 {np.percentile(ms, 90):.2f} p99 {np.percentile(ms, 99):.2f} max {ms.max():.2f}")
    G, cur = [], None
    for k, t, x in T:
        if k == 'g0': cur = (t, x)
        elif k == 'g1' and cur is not None: G.append((cur[0], t, cur[1])); cur = None
    G = np.array([g for g in G if g[0] > t_beg])
    D = sorted((t, x) for k, t, x in T if k == 'd'); C = sorted((t, x) for k, t, x in T if k == 'c')
    def part(E, a, b):
        i = np.searchsorted([e[0] for e in E], a)
        return E[i][1] * 1e3 if i < len(E) and E[i][0] < b else np.nan
    R = np.array([((b - a) * 1e3, part(D, a, b), part(C, a, b), n) for a, b, n in G])
    slow = R[:, 0] > np.percentile(R[:, 0], 98)
    print(f"groups: {len(R)}, size mean {R[:, 3].mean():.2f} (median {np.median(R[:, 3]):.0f}, max {R[:, 3].max():.0f}); "
          f"decided -> answers ms p50 {np.median(R[:, 0]):.2f} p99 {np.percentile(R[:, 0], 99):.2f}")
    print(f"  median group: decide {np.nanmedian(R[:, 1]):.2f} ms, commit {np.nanmedian(R[:, 2]):.2f} ms | slowest 2 %: "
          f"{np.median(R[slow, 0]):.2f} ms, decide {np.nanmedian(R[slow, 1]):.2f}, commit {np.nanmedian(R[slow, 2]):.2f}, size {R[slow, 3].mean():.1f}")
    c = np.array([x for t, x in C if t > t_beg]) * 1e3
    print(f"audit commits: p50 {np.median(c):.3f} ms, p99 {np.percentile(c, 99):.3f}, max {c.max():.2f}")
    last, between, d = None, 0, []
    for t, k in sorted((t, k) for k, t, x in T if k in ('g0', 'g1', 'out') and t > t_beg):
        if k == 'g1': last, started = t, False
        elif k == 'g0': started = True
        elif last is not None: d.append(t - last); between += started
    d = np.array(d) * 1e3
    print(f"answers: left p50 {np.median(d):.3f} ms / p99 {np.percentile(d, 99):.3f} ms after their group ended; "
          f"{between / len(d):.0%} after the next group had started")


def main():
    if len(sys.argv) > 2 and sys.argv[1] == '--serve': return serve_traced(sys.argv[2], sys.argv[3:])
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--model', required=True)
    ap.add_argument('--concurrency', type=int, default=16)
    ap.add_argument('--duration', type=int, default=8)
    args = ap.parse_args()
    import load_test
    from load_wrk import setup_bodies, run_wrk
    from load_test import KEY, free_port, drive, request_bytes
    work = Path(tempfile.mkdtemp(prefix='riskrl-trace-'))
    bars, bodies = setup_bodies(Path(args.model), 200)
    (work/'bodies.jsonl').write_text('\n'.join(bodies) + '\n')
    (work/'limits.yaml').write_text('max_bar_age_bars: null\n')
    port, out = free_port(), work/'trace.json'
    proc = subprocess.Popen([sys.executable, __file__, '--serve', str(out), '--model', args.model, '--port', str(port), '--audit', str(work/'audit.db'),
                             '--limits', str(work/'limits.yaml')], stdout=subprocess.DEVNULL, stderr=open(work/'server.log', 'w'),
                            env=dict(os.environ, RISKRL_API_KEYS=KEY, PYTHONWARNINGS='ignore'))
    try:
        import httpx
        for _ in range(600):
            try:
                if httpx.get(f'http://127.0.0.1:{port}/readyz', timeout=1).status_code == 200: break
            except httpx.TransportError: time.sleep(0.1)
        asyncio.run(drive(port, [(request_bytes(port, bars, '/v1/bars'), 0)], 1, 10.0, 1))
        run_wrk(port, work/'bodies.jsonl', 4, 1)   # warm-up
        rps, p50, p99, n, bad = run_wrk(port, work/'bodies.jsonl', args.concurrency, args.duration)
        proc.send_signal(signal.SIGUSR1)
        for _ in range(100):
            if out.exists() and out.stat().st_size: time.sleep(0.5); break
            time.sleep(0.1)
    finally:
        proc.terminate(); proc.wait(15)
    import riskrl_nb
    print(f"server code {Path(riskrl_nb.__file__).parent}; wrk -c{args.concurrency}: {rps:.0f} requests/s, p50 {p50:.2f} ms, p99 {p99:.2f} ms (traced server), "
          f"{bad} errors; load {os.getloadavg()[0]:.1f}")
    analyse(json.loads(out.read_text()))
    return 0 if bad == 0 else 1


if __name__ == '__main__':
    sys.exit(main())
