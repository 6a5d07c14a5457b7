"""Where the p99 of single-position decisions at 16 connections comes from: Python's garbage collector, A/B in the same conditions.

    PYTHONPATH=$PWD python bench/p99_gc_ab.py --model DIR [--rounds 6] [--duration 3] [--threshold 50000,20,100] [--audit-synchronous NORMAL]
        [--b-audit-synchronous NORMAL]

Starts two `riskrl serve` processes of the code on PYTHONPATH (as bench/load_wrk.py: fresh audit logs, BTC bars posted up to one
close, 200 positions of it), A as it is and B with `gc.set_threshold(THRESHOLD)` (and/or another audit durability), both timing every collection of the
collector (a `sitecustomize` on the servers' PYTHONPATH adds a `gc.callbacks` entry; no service code changes). Then
alternates wrk runs (16 connections, closed loop, DURATION s) against A and B, ROUNDS times each, so both see the same
machine load. Prints per run: requests/s, p50 / p99 ms (wrk; and the server's own, from its decision log lines), CPU-ms per decision, and the collections that
started during the run (count and total / longest ms per generation); then the medians per server and the load average.
"""
import argparse, asyncio, json, os, sys, tempfile, time
from pathlib import Path
import numpy as np
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT/'bench'))
from load_test import Server, request_bytes, drive
from load_wrk import setup_bodies, run_wrk

HOOK = '''import gc, os, time
_out = os.environ.get('BENCH_GC_OUT')
if _out:   # each collection's generation, duration and wall time, one line each, written at once (uvicorn re-raises SIGTERM: no atexit)
    _th = os.environ.get('BENCH_GC_THRESHOLD')
    if _th: gc.set_threshold(*[int(x) for x in _th.split(',')])
    _f, _t = open(_out, 'w', buffering=1), [0.0]
    _f.write(repr(gc.get_threshold()) + '\\n')
    def _cb(phase, info):
        if phase == 'start': _t[0] = time.perf_counter()
        else: _f.write(f"{info['generation']} {time.perf_counter() - _t[0]:.7f} {time.time():.6f}\\n")
    gc.callbacks.append(_cb)
'''


def start(model, work, name, threshold, synchronous):
    d = work/name; d.mkdir()
    old = dict(os.environ)
    os.environ.update(PYTHONPATH=f"{work/'hook'}:{old.get('PYTHONPATH', '')}", BENCH_GC_OUT=str(d/'gc.txt'), BENCH_GC_THRESHOLD=threshold or '')
    try: return Server(model, d, synchronous)
    finally: os.environ.clear(); os.environ.update(old)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--model', required=True)
    ap.add_argument('--rounds', type=int, default=6)
    ap.add_argument('--duration', type=int, default=3)
    ap.add_argument('--threshold', default='50000,20,100', help="B's gc.set_threshold (A: Python's default)")
    ap.add_argument('--connections', type=int, default=16)
    ap.add_argument('--audit-synchronous', default='FULL', choices=['FULL', 'NORMAL'])
    ap.add_argument('--b-audit-synchronous', choices=['FULL', 'NORMAL'], help="B's audit durability (default: A's); with --threshold '' B differs from A only in this")
    a = ap.parse_args()
    b_sync = a.b_audit_synchronous or a.audit_synchronous
    work = Path(tempfile.mkdtemp(prefix='riskrl-gc-'))
    (work/'hook').mkdir(); (work/'hook'/'sitecustomize.py').write_text(HOOK)
    bars, bodies = setup_bodies(Path(a.model), 200)
    (work/'bodies.jsonl').write_text('\n'.join(bodies) + '\n')
    servers = {'A default': start(Path(a.model), work, 'A', '', a.audit_synchronous),
               f"B threshold {a.threshold or 'default'}, audit {b_sync}": start(Path(a.model), work, 'B', a.threshold, b_sync)}
    runs, lines = {k: [] for k in servers}, {k: 0 for k in servers}
    try:
        for s in servers.values():
            asyncio.run(drive(s.port, [(request_bytes(s.port, bars, '/v1/bars'), 0)], 1, 10.0, 1))
            run_wrk(s.port, work/'bodies.jsonl', 4, 1)   # warm-up
        for r in range(a.rounds):
            for k, s in (servers.items() if r % 2 == 0 else reversed(servers.items())):
                _, line0 = s.server_latencies(lines[k])
                load0, cpu0, t0 = os.getloadavg()[0], s.cpu_seconds(), time.time()
                rps, p50, p99, n, bad = run_wrk(s.port, work/'bodies.jsonl', a.connections, a.duration)
                lat, lines[k] = s.server_latencies(line0)   # the server's own latency of each decision (its log lines)
                runs[k].append(dict(rps=rps, p50=p50, p99=p99, s50=np.percentile(lat, 50) * 1e3, s99=np.percentile(lat, 99) * 1e3, n=n, bad=bad, cpu=(s.cpu_seconds() - cpu0) / max(n - bad, 1) * 1e3,
                                    t0=t0, t1=time.time(), load=(load0, os.getloadavg()[0])))
    finally:
        for s in servers.values(): s.stop()
    print(f"server code {os.environ.get('PYTHONPATH', '')}; {a.connections} connections, wrk closed loop, {a.duration} s runs alternating; A's audit {a.audit_synchronous}")
    for (k, s), name in zip(servers.items(), 'AB'):
        f = work/name/'gc.txt'
        g = None
        if f.exists():
            lines = f.read_text().splitlines()
            g = dict(threshold=lines[0], pauses=[(int(x), float(y), float(z)) for x, y, z in (l.split() for l in lines[1:] if l.count(' ') == 2)])
        print(f"\n{k} (thresholds {g['threshold'] if g else '?'})")
        print(f"  {'req/s':>7} {'p50 ms':>7} {'p99 ms':>7} {'server p50/p99':>14} {'CPU-ms/dec':>10} {'load':>10}  collections in the run: gen0 n/total ms/max ms | gen1 | gen2")
        for x in runs[k]:
            col = ''
            if g:
                p = [(gen, dt) for gen, dt, t in g['pauses'] if x['t0'] <= t <= x['t1']]
                for gen in (0, 1, 2):
                    d = [dt * 1e3 for q, dt in p if q == gen]
                    col += f"{len(d)}/{sum(d):.1f}/{max(d, default=0):.2f} | "
            print(f"  {x['rps']:>7.0f} {x['p50']:>7.2f} {x['p99']:>7.2f} {x['s50']:>6.2f}/{x['s99']:<7.2f} {x['cpu']:>10.3f} {x['load'][0]:>4.1f}->{x['load'][1]:<4.1f}  {col[:-3]}")
        med = lambda key: float(np.median([x[key] for x in runs[k]]))
        print(f"  median: {med('rps'):.0f} req/s, p50 {med('p50'):.2f} ms, p99 {med('p99'):.2f} ms (server's own: {med('s50'):.2f} / {med('s99'):.2f}), {med('cpu'):.3f} CPU-ms/decision")
    return 0


if __name__ == '__main__':
    sys.exit(main())
