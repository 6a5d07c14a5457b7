"""The agent's mix of seeds against "the book in parts": the three tuned rules sharing ONE position, a third each.

The benchmark's `rule_book` is three accounts, each rule re-entering as soon as it is out; an exit manager holds one position at
a time, so part of the book's lead can come from its overlapping entries rather than its exits. The tenth ablation's
`book_overlay` models never cut (`bench/overlay_cuts.py`: 0 own exits; their mix equals the book in parts to 1e-15), so its
comparison tables carry the book in parts per coin-window. This script judges other rows' mixes against it: same entries,
one position, only the exits differ.

    python bench/book_in_parts.py --parts docs/results/benchmark_ablation10_comparison.csv \
        --tables docs/results/benchmark_default_seeds6_comparison.csv docs/results/benchmark_relative_seeds6_comparison.csv \
                 docs/results/benchmark_ablation9_comparison.csv

A row counts only where its three rule Sortinos equal the parts table's to 1e-9 on every coin-window (the same tuned rules,
hence the same book). Prints, per table and row: coin-windows, the share where the mix beats the book in parts (bootstrap CI
over coin-windows, and over whole half-years), the mean Sortino difference, and the shares against the best rule and the
three-account book for reference. Nothing here is chosen on a test half-year.
"""
import argparse, sys
import numpy as np, pandas as pd
from riskrl_nb.eval.benchmark import share_ci
from riskrl_nb.sim.rules import RULES

KEY = ['window', 'coin']


def book_in_parts(path) -> pd.DataFrame:
    "Per (window, coin): the book in parts' Sortino (the never-cutting overlay's mix) and the three rules' Sortinos."
    t = pd.read_csv(path)
    t = t[(t.kind == 'pooled') & (t.variant == 'book_overlay')]
    seeds = [c for c in t if c.startswith('agent_seed')]
    spread = (t[seeds].max(axis=1) - t[seeds].min(axis=1)).abs().max()
    if not spread < 1e-9: sys.exit(f"{path}: the overlay's seeds differ (by {spread:.3g}): some model cut, so its mix is not the book in parts")
    return t.set_index(KEY)[['agent_mix', *RULES]].rename(columns={'agent_mix': 'book_in_parts'})


def judge(table:pd.DataFrame, parts:pd.DataFrame) -> list[dict]:
    "One dict per variant of a comparison table: its mix against the book in parts where the rules are the same."
    out = []
    for v, g in table[table.kind == 'pooled'].groupby('variant'):
        g = g.set_index(KEY).join(parts, rsuffix='_parts', how='inner')
        if g.empty or not all(np.allclose(g[r], g[f'{r}_parts'], rtol=0, atol=1e-9) for r in RULES):
            out.append(dict(variant=v, n=len(g), note='rules differ from the parts table: not compared')); continue
        win = (g.agent_mix > g.book_in_parts).to_numpy()
        ci = share_ci(win, groups=g.index.get_level_values('window'))
        out.append(dict(variant=v, n=len(g), vs_book_in_parts=ci['share'], lo=ci['lo'], hi=ci['hi'],
                        lo_cluster=ci['lo_cluster'], hi_cluster=ci['hi_cluster'],
                        mean_diff=float((g.agent_mix - g.book_in_parts).mean()),
                        vs_best_rule=float((g.agent_mix > g.best_rule_sortino).mean()),
                        vs_rule_book=float((g.agent_mix > g.rule_book).mean()) if 'rule_book' in g else np.nan,
                        book_in_parts_vs_best_rule=float((g.book_in_parts > g.best_rule_sortino).mean())))
    return out


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('--parts', required=True, help="comparison.csv of the tenth ablation's book_overlay row (never cutting)")
    p.add_argument('--tables', nargs='+', required=True, help='comparison.csv files of benchmark runs')
    a = p.parse_args(argv)
    parts = book_in_parts(a.parts)
    rows = [dict(table=f.split('/')[-1], **r) for f in a.tables for r in judge(pd.read_csv(f), parts)]
    pd.set_option('display.width', 250); pd.set_option('display.max_columns', 20)
    print(pd.DataFrame(rows).to_string(index=False, float_format=lambda x: f'{x:.2f}'))


if __name__ == '__main__':
    main()
