"""Where `riskrl evaluate` spends its CPU per bar, stage by stage (the profile behind bench/evaluate.py's figure).

    .venv/bin/python bench/evaluate_stages.py [--model DIR]

Runs `evaluate` (fast path, report on) on a short and a long period of BTC hourly (as bench/evaluate.py) with
each stage wrapped in a CPU timer: the backtests, every metrics.json section, the two CSV files, the plots and the
quantstats tearsheet. CPU-microseconds per bar is the slope (long - short) / (bars difference) of each stage.
"""
import argparse, collections, functools, sys, tempfile, time, warnings
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT/'bench'))
SHORT, LONG = ('2022-01-01', '2022-06-30'), ('2022-01-01', '2023-12-31')   # one start: the regime detector is fitted on the bars before it, a cost that must cancel


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--model', help='model folder (trained if omitted)')
    args = ap.parse_args()
    warnings.simplefilter('ignore')
    import pandas as pd
    import riskrl_nb.eval.evaluation as ev, riskrl_nb.eval.report as rp
    from riskrl_nb.core.config import load_config
    from riskrl_nb.agents.training import train
    from inference import TINY
    tmp = Path(tempfile.mkdtemp())
    model = Path(args.model) if args.model else train(load_config(overrides=TINY), tmp/'model', progress=False, verbose=False)
    T = collections.defaultdict(float)
    def timed(f, label):
        @functools.wraps(f)
        def g(*a, **k):
            t = time.process_time()
            try: return f(*a, **k)
            finally: T[label] += time.process_time() - t
        return g
    for n in ['backtest_all', 'policy_metrics']: setattr(ev, n, timed(getattr(ev, n), n))
    for n in ['plot_equity', 'plot_trades', 'write_tearsheet', 'write_report']: setattr(rp, n, timed(getattr(rp, n), n))
    from riskrl_nb.core.config import resolve
    for k, f in list(ev.SECTIONS.items()): ev.SECTIONS[k] = timed(resolve(f), f'section {k}')   # 'module:function' entries
    pd.DataFrame.to_csv = timed(pd.DataFrame.to_csv, 'to_csv (trades.csv)')
    ev.write_equity_csv = timed(ev.write_equity_csv, 'write_equity_csv (equity.csv)')
    ev.evaluate(model, out_dir=tmp/'w', start=SHORT[0], end=SHORT[1])   # warm-up
    res = {}
    for per in (SHORT, LONG):
        T.clear(); t = time.process_time()
        m = ev.evaluate(model, out_dir=tmp/'w', start=per[0], end=per[1])
        T['evaluate (total)'] = time.process_time() - t
        res[per] = (dict(T), m['data']['bars'])
    (s, bs), (l, bl) = res.values()
    print(f"{'stage':32s} {'short s':>8s} {'long s':>8s} {'us/bar':>8s}   (bars {bs} and {bl}; write_report includes the plots and the tearsheet)")
    for k in sorted(l, key=lambda k: -(l[k] - s.get(k, 0))):
        print(f"{k:32s} {s.get(k, 0):8.2f} {l[k]:8.2f} {(l[k] - s.get(k, 0)) / (bl - bs) * 1e6:8.1f}")


if __name__ == '__main__':
    main()
