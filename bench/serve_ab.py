"""The service of this code against the service of another revision, in interleaved runs: requests/s, p50/p99 and CPU per decision.

    python bench/serve_ab.py --model DIR --ref REV [--rounds 8] [--duration 6] [--connections 16] [--open RATE]

Extracts the package as committed at REV (`git archive`) into a temporary folder and starts two `riskrl serve` processes (as
bench/load_wrk.py: fresh SQLite audit logs, audit FULL, BTC bars posted up to one close, 200 positions of it): A runs REV's
code, B this working tree's (PYTHONPATH). Then alternates runs against A and B (A B, B A, A B, ...) so both see the same
machine: closed loop with wrk on --connections connections, or with --open an open-loop client at RATE requests per second
(latency from when each request was due). Prints each run and the medians per server. Machines shared with other jobs are
noisy: compare the two medians of one call, not figures across calls.
"""
import argparse, asyncio, os, sys, tempfile
from pathlib import Path
import numpy as np
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT/'bench'))
from load_test import Server, request_bytes, drive, pct
from load_wrk import setup_bodies, run_wrk, open_loop
from service_profile import package_at


def start(model, work, name, code):
    d = work/name; d.mkdir(); old = dict(os.environ)
    os.environ['PYTHONPATH'] = str(code)
    try: return Server(model, d, 'FULL')
    finally: os.environ.clear(); os.environ.update(old)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--model', required=True)
    ap.add_argument('--ref', required=True, help='git revision of server A (e.g. main)')
    ap.add_argument('--rounds', type=int, default=8)
    ap.add_argument('--duration', type=int, default=6)
    ap.add_argument('--connections', type=int, default=16)
    ap.add_argument('--open', type=float, help='open loop at this many requests per second instead of wrk')
    a = ap.parse_args()
    work = Path(tempfile.mkdtemp(prefix='riskrl-serve-ab-'))
    model = Path(a.model).resolve()
    bars, bodies = setup_bodies(model, 200)
    (work/'bodies.jsonl').write_text('\n'.join(bodies) + '\n')
    servers = {f'A {a.ref}': start(model, work, 'A', package_at(a.ref, work/'ref')), 'B this code': start(model, work, 'B', ROOT)}
    runs = {k: [] for k in servers}
    try:
        for s in servers.values():
            asyncio.run(drive(s.port, [(request_bytes(s.port, bars, '/v1/bars'), 0)], 1, 10.0, 1)); run_wrk(s.port, work/'bodies.jsonl', 16, 2)
        names = list(servers)
        for r in range(a.rounds):
            for k in (names if r % 2 == 0 else names[::-1]):
                s = servers[k]; c0 = s.cpu_seconds()
                if a.open:
                    reqs = [request_bytes(s.port, b.encode(), '/v1/decide/position') for b in bodies]
                    lat, st = asyncio.run(open_loop(s.port, reqs, a.open, a.duration))
                    rps, p50, p99, n, bad = len(lat) / a.duration, pct(lat, 50), pct(lat, 99), len(lat), sum(x != 200 for x in st)
                else: rps, p50, p99, n, bad = run_wrk(s.port, work/'bodies.jsonl', a.connections, a.duration)
                cpu = (s.cpu_seconds() - c0) / max(n, 1) * 1e3
                runs[k].append((rps, p50, p99, cpu))
                print(f"{k:<16} {rps:7.0f} req/s  p50 {p50:5.2f}  p99 {p99:6.2f} ms  {cpu:.3f} CPU-ms/decision  errors {bad}  load {os.getloadavg()[0]:.2f}", flush=True)
        what = f"open loop {a.open:g}/s" if a.open else f"wrk -c{a.connections}"
        print(f"medians of {a.rounds} interleaved {a.duration}-s runs ({what}):")
        for k, v in runs.items():
            m = np.median(np.array(v), axis=0)
            print(f"  {k:<16} {m[0]:7.0f} req/s  p50 {m[1]:5.2f}  p99 {m[2]:6.2f} ms  {m[3]:.3f} CPU-ms/decision   p99 of each run: {' '.join(f'{x[2]:.2f}' for x in v)}")
    finally:
        for s in servers.values(): s.stop()


if __name__ == '__main__':
    main()
