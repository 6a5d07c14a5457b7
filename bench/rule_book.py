"""A no-learning reference for policies that choose among the tuned rules: an equal-weight book of the three tuned rules.

    python bench/rule_book.py runs/bench8 [--variant stance24]

Reads the parts of a `benchmark_parts.py run` (OUT/parts/*.pkl: per-bar test returns of every policy), builds per
coin-window the equal-weight book of the three tuned rules (each rule trades a third of the capital, rebalanced every bar, as
the benchmark's mix of seeds is built), and prints per window the coin-windows where that book's Sortino beats the window's
best rule (chosen on training data), next to the given row's mix of seeds. Nothing here is chosen on the test half-year.
"""
import argparse, pickle, sys
from pathlib import Path
import pandas as pd
from riskrl_nb.core.metrics import sortino
from riskrl_nb.core.config import periods_per_year
from riskrl_nb.sim.rules import RULES


def main(argv):
    p = argparse.ArgumentParser(); p.add_argument('out'); p.add_argument('--variant', default=None)
    a = p.parse_args(argv)
    rows = []
    for f in sorted(Path(a.out, 'parts').glob('*.pkl')):
        r = pickle.loads(f.read_bytes())
        long = r['long']
        for (v, kind, w, coin), ret in r['returns'].items():
            if kind != 'pooled' or (a.variant and v != a.variant) or not all(x in ret for x in RULES): continue
            ppy = periods_per_year(pd.Series(ret.index).diff().median().total_seconds()) if len(ret) > 1 else 8760
            sub = long[(long.variant == v) & (long.window == w) & (long.coin == coin)].set_index('policy')
            best = sub.best_rule.iloc[0]
            book = sortino(ret[list(RULES)].mean(axis=1), ppy)
            rows.append(dict(variant=v, window=w, coin=coin, best_rule=best, book=book, best=sub.loc[best, 'sortino'],
                             mix=sub.loc['agent_mix', 'sortino'] if 'agent_mix' in sub.index else float('nan')))
    t = pd.DataFrame(rows)
    t['book_ahead'], t['mix_ahead'] = t.book > t.best, t.mix > t.best
    g = t.groupby(['variant', 'window'])
    s = pd.DataFrame(dict(book=g.book_ahead.sum().astype(int).astype(str) + '/' + g.size().astype(str),
                          mix=g.mix_ahead.sum().astype(int).astype(str) + '/' + g.size().astype(str)))
    tot = t.groupby('variant')
    for v in tot.groups:
        s.loc[(v, 'total'), :] = [f"{int(tot.get_group(v).book_ahead.sum())}/{len(tot.get_group(v))}",
                                  f"{int(tot.get_group(v).mix_ahead.sum())}/{len(tot.get_group(v))}"]
    print(s.rename(columns=dict(book='equal-weight book of the 3 tuned rules ahead', mix='row (mix of seeds) ahead')).to_markdown())
    print(f"mean Sortino excess over the best rule: book {(t.book - t.best).mean():+.2f}, row's mix {(t.mix - t.best).mean():+.2f}")


if __name__ == '__main__': main(sys.argv[1:])
