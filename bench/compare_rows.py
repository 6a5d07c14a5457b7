"""Coin-by-coin check that a re-run row reproduces a committed comparison table (e.g. the third ablation's).

    python bench/compare_rows.py docs/results/benchmark_ablation3_comparison.csv runs/bench4/table.csv --variant oracle_margin_first_bc

Compares every Sortino column (agent seeds, mix, picked seed, rules) of the variant's pooled rows present in both tables.
"""
import argparse, sys
import numpy as np
import pandas as pd


def compare(old:pd.DataFrame, new:pd.DataFrame, variant:str) -> pd.DataFrame:
    keys = ['variant', 'kind', 'window', 'coin']
    o = old[(old.variant == variant) & (old.kind == 'pooled')].set_index(keys)
    n = new[(new.variant == variant) & (new.kind == 'pooled')].set_index(keys)
    idx, cols = o.index.intersection(n.index), [c for c in o.columns if c in n.columns and o[c].dtype.kind == 'f']
    d = (n.loc[idx, cols] - o.loc[idx, cols]).abs()
    return d.groupby(level='window').max().assign(cells=n.loc[idx].groupby(level='window').size())


if __name__ == '__main__':
    p = argparse.ArgumentParser(); p.add_argument('old'); p.add_argument('new'); p.add_argument('--variant', required=True)
    a = p.parse_args()
    new = pd.read_csv(a.new)
    if 'agent_mix' not in new.columns:   # the long table of a merge: one row per policy
        new = new.pivot_table(index=['variant', 'kind', 'window', 'coin'], columns='policy', values='sortino').reset_index()
    d = compare(pd.read_csv(a.old), new, a.variant)
    print(d.to_string())
    worst = float(np.nanmax(d.drop(columns='cells').to_numpy())) if len(d) else float('nan')
    print(f"largest absolute Sortino difference over {int(d.cells.sum())} coin-windows: {worst:.3g}")
    sys.exit(0 if worst < 1e-9 else 1)
