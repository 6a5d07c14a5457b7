"""What the dashboard and the alerts cost the decision service, measured in one process against a decision itself.

    .venv/bin/python bench/dashboard_cost.py --model DIR [--n 400]

1. The hot path: `RiskMonitor.observe` (the engine observer: one row appended to the ring) per decision, beside the
   time of one whole `DecisionService.decide` (features, ONNX, limits, audit append) on the same requests.
2. Off the hot path: one dashboard snapshot (`Dashboard.update`, computed in a worker thread at most once a second and
   shared by every viewer) with a full ring and 100 decisions since the previous one, with the last 50 decisions, and one alert check (`Alerter.check`, the alert thread, every 1 s), each
   also as a share of one core at that rate.
Ratios are taken in the same process and run, so they hold on a loaded machine better than the absolute times.
"""
import argparse, sys, tempfile, time
from pathlib import Path
import numpy as np

ROOT = Path(__file__).resolve().parents[1]


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--model', required=True, help='exported model folder')
    ap.add_argument('--n', type=int, default=400, help='decisions timed')
    args = ap.parse_args()
    import pandas as pd
    from riskrl_nb.agents.bundle import load_bundle
    from riskrl_nb.data.candles import load_bundled
    from riskrl_nb.serve.alerts import Alerter, RiskMonitor
    from riskrl_nb.serve.audit import AuditLog
    from riskrl_nb.serve.dashboard import Dashboard
    from riskrl_nb.serve.engine import DecisionService, replay_requests
    from riskrl_nb.serve.limits import load_limits
    from riskrl_nb.serve.schema import DecideRequest, ServingModel
    sm = ServingModel(args.model)
    df = load_bundled('BTC', '1h')
    a = df.index.get_loc(pd.Timestamp('2023-01-01T00:00:00Z'))
    cases = replay_requests(load_bundle(args.model), df, a, len(df) - 1, sm.bars_recommended, max_cases=args.n)
    reqs = [DecideRequest.model_validate(b) for b, _, _ in cases]
    work = Path(tempfile.mkdtemp(prefix='riskrl-dash-cost-'))
    svc = DecisionService(sm, AuditLog(work/'audit.db', synchronous='NORMAL'), load_limits(overrides=dict(max_bar_age_bars=None)))
    mon = RiskMonitor(ring=2000)
    seen = []
    svc.observers.append(lambda r, v, d: seen.append((r, v, d)))   # keep the arguments to time `observe` on them alone
    t_decide = []
    for r in reqs:
        t0 = time.perf_counter(); svc.decide(r); t_decide.append(time.perf_counter() - t0)
    t_obs = []
    for _ in range(max(1, 2000 // len(seen) + 1)):
        for args_ in seen:
            t0 = time.perf_counter(); mon.observe(*args_); t_obs.append(time.perf_counter() - t0)
    dash = Dashboard(svc, mon, interval_s=0.0)   # no caching: every call computes the snapshot
    t_snap = []
    for k in range(30):
        for a_ in seen[:100]: mon.observe(*a_)   # 100 new decisions since the last snapshot (100 a second), not timed
        t0 = time.perf_counter(); dash.update(mon.ring[-1]['seq'] - 50); t_snap.append(time.perf_counter() - t0)
    al = Alerter(load_limits(), mon)
    t_check = []
    for _ in range(30):
        t0 = time.perf_counter(); al.check(); t_check.append(time.perf_counter() - t0)
    dec, obs = np.median(t_decide) * 1e6, np.median(t_obs) * 1e6
    snap, chk = np.median(t_snap) * 1e3, np.median(t_check) * 1e3
    print(f"{len(reqs)} decisions, ring of {len(mon.ring)} rows")
    print(f"hot path: observe {obs:.1f} us per decision (p99 {np.percentile(t_obs, 99) * 1e6:.1f} us) vs decide {dec:.0f} us "
          f"(median, audit synchronous=NORMAL): {obs / dec:.2%} of a decision")
    print(f"dashboard: one snapshot with a full ring {snap:.2f} ms (p99 {np.percentile(t_snap, 99) * 1e3:.2f} ms) "
          f"= {snap / 1000:.2%} of a core at one snapshot a second (a worker thread, shared by every viewer)")
    print(f"alert thread: one check {chk:.2f} ms = {chk / 1000:.2%} of a core at alert_check_s 1 s")


if __name__ == '__main__':
    sys.exit(main())
