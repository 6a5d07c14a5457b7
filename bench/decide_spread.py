"""How steady is one decision group's CPU with no network: `decide_each` of 16 stream positions plus the audit commit, in a loop.

    python bench/decide_spread.py --model DIR [--groups 1500] [--rotate]

Builds the service as `riskrl serve` does (audit synchronous NORMAL: no fsync, so the disk does not count), posts BTC hourly
bars, and decides the same 16 positions (or, with --rotate, 16 of ~95 in turn) --groups times after a warm-up, with
`gc.freeze()` as `riskrl serve` does. Prints CPU-µs per decision and the wall time of one group (p50 / p90 / p98 / p99 / max).
Under `wrk -c16` the same groups are much less steady (bench/group_trace.py): the difference is the machine, not the code.
"""
import argparse, asyncio, gc, os, sys, tempfile, time
from pathlib import Path
import numpy as np
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT/'bench'))
import service_profile as sp


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--model', required=True)
    ap.add_argument('--groups', type=int, default=1500)
    ap.add_argument('--rotate', action='store_true')
    a = ap.parse_args()
    os.environ['RISKRL_API_KEYS'] = sp.KEY
    from riskrl_nb.serve import http
    from riskrl_nb.serve.schema import PositionRequest
    work = Path(tempfile.mkdtemp(prefix='riskrl-spread-'))
    (work/'limits.yaml').write_text('max_bar_age_bars: null\n')
    ns = argparse.Namespace(model=a.model, audit=str(work/'audit.db'), limits=str(work/'limits.yaml'), host='127.0.0.1', port=0, audit_synchronous='NORMAL')
    svc, keys = http.build_service(ns)
    app = http.create_app(svc, keys, logger=http.json_logger(stream=open(os.devnull, 'w')))
    setup, reqs = sp.stream_bodies(Path(a.model), 'stream', 100)
    asyncio.run(sp.run_requests(sp.asgi_caller(app), setup + reqs[:1]))
    pos = [PositionRequest.model_validate_json(b) for p, b, k in reqs if p == '/v1/decide/position']
    group = lambda j: [(pos[(16 * j + q) % len(pos)] if a.rotate else pos[q], 'k') for q in range(16)]
    for j in range(50): svc.decide_each(group(j), lambda k, e: None); svc.audit.commit()
    gc.collect(); gc.freeze()
    ts, c0 = [], time.process_time()
    for j in range(a.groups):
        t0 = time.perf_counter(); svc.decide_each(group(j), lambda k, e: None); svc.audit.commit(); ts.append(time.perf_counter() - t0)
    cpu = (time.process_time() - c0) / (16 * a.groups) * 1e6
    q = np.percentile(np.array(ts) * 1e3, [50, 90, 98, 99, 100])
    print(f"{'rotating over %d positions' % len(pos) if a.rotate else 'the same 16 positions'}: {cpu:.1f} CPU-us per decision; "
          f"one group of 16 + commit, ms: p50 {q[0]:.2f} p90 {q[1]:.2f} p98 {q[2]:.2f} p99 {q[3]:.2f} max {q[4]:.2f}; load {os.getloadavg()[0]:.2f}")


if __name__ == '__main__':
    main()
