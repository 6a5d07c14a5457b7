"""Which rule the hierarchical stance policies of a benchmark run chose on the test half-years, per window.

    python bench/stance_choices.py runs/bench8 [--variants stance24 stance168] [--out runs/bench8/stance_choices.csv]

Reads OUT/table.csv (written by `benchmark_parts.py merge`), re-runs every stance model (`train.algo: hierarchical`) on each
coin's test half-year exactly as the benchmark does (`CoinEvaluator`), and counts its choices. The re-run's Sortino must equal
the table's (and its counts the table's `chose_*` columns where the run already recorded them), else it stops. Prints, per
variant and window, the share of choices that went to each rule, the share that went to the window's best rule (chosen on
training data), and how many models chose one rule for 90 % or more of their choices.
"""
import argparse, json, sys
from pathlib import Path
import numpy as np
import pandas as pd
from riskrl_nb.agents.bundle import load_bundle
from riskrl_nb.eval.benchmark import CoinEvaluator, bench_window, bench_metrics, evaluation_period, load_coin, model_path
from riskrl_nb.sim.execution import run_backtest
from riskrl_nb.sim.rules import RULES


def main(argv):
    p = argparse.ArgumentParser(); p.add_argument('out'); p.add_argument('--variants', nargs='+'); p.add_argument('--csv')
    p.add_argument('--train-months', type=int, default=12)
    a = p.parse_args(argv)
    out = Path(a.out)
    long = pd.read_csv(out/'table.csv')
    agents = long[long.policy.str.match(r'agent_seed\d+$') & (long.kind == 'pooled')]
    if a.variants: agents = agents[agents.variant.isin(a.variants)]
    ev, rows, bundles = CoinEvaluator({}), [], {}
    for r in agents.itertuples():
        seed = int(r.policy.removeprefix('agent_seed'))
        w = bench_window(r.window, train_months=a.train_months)
        mdir = model_path(out, r.variant, 'pooled', w, seed)
        if mdir not in bundles: bundles[mdir] = load_bundle(mdir)
        b = bundles[mdir]
        if b.cfg.train.algo != 'hierarchical': continue
        if r.coin not in ev.frames: ev.frames[r.coin] = load_coin(r.coin)
        pol = b.policy(b.scaler.transform(ev.features(r.coin, b.cfg)))
        sim = ev.sim(r.coin, b.cfg)
        res = run_backtest(sim, pol, *evaluation_period(ev.frames[r.coin], b, w.test_start, w.test_end)[:2])
        counts = {n: pol.choices.count(n) for n in pol.controller.names}
        s = bench_metrics(res, sim)['sortino']
        if not np.isclose(s, r.sortino, rtol=1e-9, atol=1e-12, equal_nan=True):
            sys.exit(f"{mdir} {r.coin}: re-run Sortino {s} differs from the table's {r.sortino}")
        recorded = {n: getattr(r, f'chose_{n}', np.nan) for n in counts}
        if all(np.isfinite(v) for v in recorded.values()) and any(int(recorded[n]) != counts[n] for n in counts):
            sys.exit(f"{mdir} {r.coin}: re-run choices {counts} differ from the table's {recorded}")
        rows.append(dict(variant=r.variant, window=r.window, coin=r.coin, seed=seed, best_rule=r.best_rule, sortino=s,
                         n_trades=res.trades.shape[0], **{f'chose_{n}': c for n, c in counts.items()}))
    t = pd.DataFrame(rows)
    t.to_csv(a.csv or out/'stance_choices.csv', index=False)
    cols = [f'chose_{n}' for n in RULES]
    t['total'] = t[cols].sum(axis=1)
    t['chose_best'] = [row[f'chose_{row["best_rule"]}'] for _, row in t.iterrows()]
    g = t.groupby(['variant', 'window'])
    summary = g[cols + ['chose_best', 'total']].sum()
    for c in cols + ['chose_best']: summary[c] = (summary[c] / summary.total * 100).round(0).astype(int).astype(str) + ' %'
    summary['best rule (train)'] = g.best_rule.first()
    per_model = t.groupby(['variant', 'window', 'seed'])[cols].sum()
    top = per_model.max(axis=1) / per_model.sum(axis=1)
    summary['models >= 90 % one rule'] = (top >= 0.9).groupby(['variant', 'window']).sum().astype(str) + ' / ' + top.groupby(['variant', 'window']).size().astype(str)
    summary['choices per coin and seed'] = (g.total.mean()).round(0).astype(int)
    summary = summary.drop(columns='total').rename(columns={c: c.removeprefix('chose_') for c in cols + ['chose_best']})
    print(summary.reset_index().to_markdown(index=False))
    print(f"\n{len(t)} re-runs, every Sortino equal to the table's")


if __name__ == '__main__': main(sys.argv[1:])
