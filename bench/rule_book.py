"""The agent's mix of seeds against the equal-weight book of the three tuned rules (`rule_book`, `add_rule_book` in
nbs/45_benchmark.ipynb), for comparison tables made before the benchmark computed the book itself.

    python bench/rule_book.py --parts runs/bench8 runs/holdout8 --tables docs/results/benchmark_ablation*_comparison.csv

The rules of a window are tuned on the pooled training data of all coins and do not depend on the agent, so the book of one
run's parts serves every row whose rules are the same: a row counts only where its three rule Sortinos equal the parts' to
1e-9 on every coin-window (`rules_identical`; a row with another feature set can have other warm-ups, hence other rules).
Prints per table and row: the share of coin-windows where the mix beats the best rule (chosen on training data), beats the
book, beats both, and where the book itself beats the best rule. Nothing here is chosen on a test half-year.
"""
import argparse, pickle, sys
from pathlib import Path
import pandas as pd
from riskrl_nb.eval import benchmark as B
from riskrl_nb.sim.rules import RULES


def rule_books(dirs) -> pd.DataFrame:
    "Sortino of the rule book and of each tuned rule per (window, coin), from the pooled parts of `benchmark_parts.py run` folders."
    rows = {}
    for d in dirs:
        for f in sorted(Path(d, 'parts').glob('*.pkl')):
            r = pickle.loads(f.read_bytes())
            long = B.add_rule_book(r['long'], r['returns'])
            for row in long[(long.kind == 'pooled') & long.policy.isin(['rule_book', *RULES])].itertuples():
                rows.setdefault((row.window, row.coin), {})[row.policy] = row.sortino
    t = pd.DataFrame(rows).T
    t.index.names = ['window', 'coin']
    return t


def main(argv):
    p = argparse.ArgumentParser()
    p.add_argument('--parts', nargs='+', required=True, help='benchmark_parts.py output folders (their parts/*.pkl)')
    p.add_argument('--tables', nargs='+', required=True, help='comparison.csv files of benchmark runs')
    a = p.parse_args(argv)
    book, out = rule_books(a.parts), []
    pct = lambda s: f'{s.mean():.0%}'
    for f in a.tables:
        c = pd.read_csv(f)
        for v, g in c[c.kind == 'pooled'].groupby('variant'):
            j = g.set_index(['window', 'coin']).join(book, rsuffix='_book', how='inner')
            if not len(j): continue
            same = all((j[r] - j[f'{r}_book']).abs().max() < 1e-9 for r in RULES)
            out.append(dict(table=Path(f).name, variant=v, windows=' '.join(sorted(set(j.index.get_level_values('window')))),
                            coin_windows=len(j), rules_identical=same, mix_ahead_of_best_rule=pct(j.beats_agent_mix),
                            mix_ahead_of_book=pct(j.agent_mix > j.rule_book) if same else 'n/a',
                            mix_ahead_of_both=pct((j.agent_mix > j.rule_book) & j.beats_agent_mix) if same else 'n/a',
                            book_ahead_of_best_rule=pct(j.rule_book > j.best_rule_sortino) if same else 'n/a'))
    print(pd.DataFrame(out).to_markdown(index=False))


if __name__ == '__main__': main(sys.argv[1:])
