"""How the `book_overlay` agents of a benchmark run use their cuts, and what the book in parts does alone (issue 13, ablation 10).

    python bench/overlay_cuts.py runs/bench10 runs/holdout10 [--variant book_overlay] [--out cuts.csv | --rows cuts.csv]

For every model folder RUN/models/VARIANT/<window>/seed<k> of a `benchmark_parts.py` run, re-runs the agent on each coin's test
half-year exactly as the benchmark does (`CoinEvaluator.sim`, `evaluation_period`, `bundle.policy`) and counts its trades and
its own cuts (exit reasons `agent_close_tp` / `agent_close_sl`: the agent closed the open parts). Per window (with the first
seed's tuned rules) it runs the **book in parts** (`BookRules`: the overlay that never cuts, one position at a time) the same
way, and compares its Sortino with the benchmark's book (`rule_book`, the mean of the three rules' per-bar returns: three
independent accounts) and the agents' mix, both read from RUN/table.csv (written by `benchmark_parts.py merge`).
"""
import argparse, sys
from pathlib import Path
import numpy as np
import pandas as pd
from riskrl_nb.agents.bundle import load_bundle
from riskrl_nb.eval import benchmark as B
from riskrl_nb.sim.execution import run_backtest
from riskrl_nb.sim.residual import BookRules, reference_rules

CUTS = ['agent_close_tp', 'agent_close_sl']


def run_dir(out:Path, variant:str) -> pd.DataFrame:
    rows, frames = [], {}
    for wdir in sorted((out/'models'/variant).iterdir()):
        window = B.bench_window(wdir.name, train_months=12)   # only its test half-year is used
        seeds = sorted(wdir.glob('seed*'), key=lambda p: int(p.name[4:]))
        ev = None
        for sdir in seeds:
            bundle = load_bundle(sdir)
            for p in bundle.cfg.data.paths:
                if p not in frames: frames[p] = B.load_coin(p)
            ev = ev or B.CoinEvaluator({B.coin_name(frames[p]): frames[p] for p in bundle.cfg.data.paths})
            for coin in ev.frames:
                cfg, sim = bundle.cfg, ev.sim(coin, bundle.cfg)
                a, b, _ = B.evaluation_period(ev.frames[coin], bundle, window.test_start, window.test_end)
                pol = bundle.policy(bundle.scaler.transform(ev.features(coin, cfg)))
                res = run_backtest(sim, pol, a, b)
                t = res.trades
                rows.append(dict(window=window.name, coin=coin, policy=f'agent_{sdir.name}', n_trades=len(t),
                                 cuts=int(t.exit_reason.isin(CUTS).sum()) if len(t) else 0, decisions=len(pol.actions),
                                 cut_decisions=int(sum(x != 0 for x in pol.actions)), sortino=B.bench_metrics(res, sim)['sortino']))
                if sdir == seeds[0]:
                    res = run_backtest(sim, BookRules(reference_rules(cfg, bundle.baselines, sim.market)), a, b)
                    rows.append(dict(window=window.name, coin=coin, policy='book_in_parts', n_trades=len(res.trades), cuts=0,
                                     decisions=res.decisions, cut_decisions=0, sortino=B.bench_metrics(res, sim)['sortino']))
    return pd.DataFrame(rows)


def summary(out:Path, cuts:pd.DataFrame, variant:str) -> dict:
    agents = cuts[cuts.policy.str.startswith('agent_')]
    parts = cuts[cuts.policy == 'book_in_parts'].set_index(['window', 'coin']).sortino
    table = pd.read_csv(out/'table.csv')
    table = table[(table.variant == variant) & (table.kind == 'pooled')]
    wide = table.pivot_table(index=['window', 'coin'], columns='policy', values='sortino')
    n = table.pivot_table(index=['window', 'coin'], columns='policy', values='n_trades')
    j = wide.join(parts.rename('book_in_parts'), how='inner')
    return {'run': str(out), 'coin_windows': len(j),
            'own_exit_share (cuts / trades, all seeds)': f"{agents.cuts.sum() / max(agents.n_trades.sum(), 1):.1%}",
            'cut decisions / decisions': f"{agents.cut_decisions.sum() / max(agents.decisions.sum(), 1):.2%}",
            'seeds that never cut (of models)': f"{int((agents.groupby(['window', 'policy']).cuts.sum() == 0).sum())} of {agents.groupby(['window', 'policy']).ngroups}",
            'trades per coin-window: agent (seed mean)': f"{agents.n_trades.mean():.1f}",
            'book in parts': f"{cuts[cuts.policy == 'book_in_parts'].n_trades.mean():.1f}",
            'rules (mean of three)': f"{n['rule_book'].mean():.1f}",
            'book in parts ahead of the rule book': f"{(j.book_in_parts > j.rule_book).mean():.0%}",
            'mean Sortino, book in parts - rule book': f"{(j.book_in_parts - j.rule_book).mean():+.2f}",
            'mix ahead of the book in parts (by > 1e-6)': f"{(j.agent_mix - j.book_in_parts > 1e-6).mean():.0%}",
            'mix behind the book in parts (by > 1e-6)': f"{(j.book_in_parts - j.agent_mix > 1e-6).mean():.0%}",
            'max abs Sortino, mix - book in parts': f"{(j.agent_mix - j.book_in_parts).abs().max():.1e}",
            'mean Sortino, mix - book in parts': f"{(j.agent_mix - j.book_in_parts).mean():+.2f}",
            'mean Sortino, mix - rule book': f"{(j.agent_mix - j.rule_book).mean():+.2f}"}


def main(argv):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('runs', nargs='+', type=Path)
    p.add_argument('--variant', default='book_overlay')
    p.add_argument('--out', type=Path, help='write the per coin-window, per policy rows here (CSV)')
    p.add_argument('--rows', type=Path, help='summarise the rows of an earlier --out CSV instead of re-running the policies')
    args = p.parse_args(argv)
    alls, rows = [], []
    done = pd.read_csv(args.rows) if args.rows else None
    for out in args.runs:
        cuts = run_dir(out, args.variant).assign(run=str(out)) if done is None else done[done.run == str(out)]
        alls.append(cuts); rows.append(summary(out, cuts, args.variant))
    print(pd.DataFrame(rows).set_index('run').T.to_markdown())
    if args.out: pd.concat(alls, ignore_index=True).to_csv(args.out, index=False)


if __name__ == '__main__': main(sys.argv[1:])
