"""The equal-weight book of the three tuned rules (`rule_book`) against the window's best rule, per period, from comparison.csv files
that have the book (benchmarks since `add_rule_book`, nbs/45_benchmark.ipynb), as docs/results/rule_book.md tabulates it.

    python bench/book_vs_best.py runs/period3/comparison.csv docs/results/benchmark_ablation9{,_holdout}_comparison.csv

The rules of a window do not depend on the agent, so one row per (window, coin) is kept (the first variant's pooled rows; the
script stops if another variant's book or best rule differs). Prints per file: coin-windows, the share where the book's test
Sortino beats the best rule's (chosen on training data) with `share_ci`'s bootstrap CIs over coin-windows and over whole
windows, the mean Sortino difference, the count per window, which rule was best per window, in how many coin-windows that rule
(chosen on training data) was also the best of the three rules on the test half-year, and the book's wins split by that.
Nothing is chosen here.
"""
import sys
import numpy as np
import pandas as pd
from riskrl_nb.eval.benchmark import share_ci
from riskrl_nb.sim.rules import RULES


def book_table(path) -> tuple[dict, pd.DataFrame]:
    c = pd.read_csv(path)
    c = c[c.kind == 'pooled']
    if 'rule_book' not in c: raise SystemExit(f"{path}: no rule_book column (made before the benchmark built the book)")
    first = c[c.variant == c.variant.iloc[0]].set_index(['window', 'coin'])
    for v, g in c.groupby('variant'):
        g = g.set_index(['window', 'coin']).reindex(first.index)
        if not (np.allclose(g.rule_book, first.rule_book, atol=1e-9) and (g.best_rule == first.best_rule).all()):
            raise SystemExit(f"{path}: variant {v} has another book or best rule than {c.variant.iloc[0]}")
    f = first.reset_index()
    ahead = (f.rule_book > f.best_rule_sortino).to_numpy()
    ci = share_ci(ahead, f.window.to_numpy())
    per = f.assign(ahead=ahead).groupby('window', sort=True)
    held = (f[list(RULES)].idxmax(axis=1) == f.best_rule).to_numpy()   # the rule chosen on training data was the best of the three on test
    row = dict(file=str(path), windows=' '.join(sorted(f.window.unique())), coin_windows=len(f), book_ahead=f"{ci['share']:.0%}",
               ci=f"{ci['lo']:.0%}–{ci['hi']:.0%}", ci_windows=f"{ci['lo_cluster']:.0%}–{ci['hi_cluster']:.0%}" if ci['lo_cluster'] is not None else 'n/a',
               mean_book_minus_best=f"{(f.rule_book - f.best_rule_sortino).mean():+.2f}",
               per_window=', '.join(f"{int(g.ahead.sum())}/{len(g)}" for _, g in per),
               best_rule=', '.join(f"{w}: {g.best_rule.iloc[0]}" for w, g in per),
               chosen_best_on_test=f"{int(held.sum())}/{len(f)}", book_ahead_where_chosen_best=f"{int(ahead[held].sum())}/{int(held.sum())}",
               book_ahead_elsewhere=f"{int(ahead[~held].sum())}/{int((~held).sum())}")
    return row, f


if __name__ == '__main__':
    print(pd.DataFrame([book_table(p)[0] for p in sys.argv[1:]]).to_markdown(index=False, disable_numparse=True))
