"""Does the agent earn a place in the book? The equal-weight book of the three tuned rules (`rule_book`) against the same
book with the agent's mix of seeds as a fourth equal member (`book_plus_agent`), from the per-bar returns that
`bench/benchmark_parts.py run` keeps in its parts (issue 13).

    python bench/agent_in_book.py --parts runs/def6/bench runs/holdout20+runs/holdout21 [--variant V] [--label ...]

A book of exit policies beats its best member by diversification alone (docs/results/rule_book.md); the question here is
the agent's marginal value: if its exits carried information the rules lack, adding it to the book would lift the book's
Sortino more often than not. Nothing is chosen here: both books have equal weights and no parameter, the rules are tuned
on each window's training data, the agent is the committed run's. Prints per folder and variant: coin-windows, the share
where the book with the agent is ahead of the book without it (bootstrap CI over coin-windows, `share_ci`), the mean
Sortino difference, the shares of both books and of the mix ahead of the best rule, and the median correlation of the
mix's per-bar returns with the book's.
"""
import argparse, pickle, sys
from pathlib import Path
import numpy as np, pandas as pd
from riskrl_nb.core.metrics import book_returns, sortino
from riskrl_nb.core.config import periods_per_year
from riskrl_nb.eval.benchmark import share_ci
from riskrl_nb.sim.rules import RULES


def coin_windows(parts: dict) -> pd.DataFrame:
    "One row per pooled (variant, window, coin) of one parts pickle: Sortinos of the best rule, the book, the mix and the book with the mix."
    rows = []
    for (variant, kind, window, coin), f in parts['returns'].items():
        seeds = [c for c in f if c.startswith('agent_seed')]
        if kind != 'pooled' or not seeds or not all(r in f for r in RULES): continue
        long = parts['long']
        best = long[(long.variant == variant) & (long.kind == kind) & (long.window == window) & (long.coin == coin)].best_rule.iloc[0]
        ppy = periods_per_year(pd.Series(f.index).diff().median().total_seconds()) if len(f) > 1 else 8760
        mix, book = book_returns(f[seeds]), book_returns(f[list(RULES)])
        plus = book_returns(pd.concat([f[list(RULES)], mix.rename('agent_mix')], axis=1))
        rows.append(dict(variant=variant, window=window, coin=coin, best_rule=sortino(f[best], ppy), rule_book=sortino(book, ppy),
                         agent_mix=sortino(mix, ppy), book_plus_agent=sortino(plus, ppy),
                         corr=float(np.corrcoef(mix, book)[0, 1]) if mix.std() > 0 and book.std() > 0 else np.nan))
    return pd.DataFrame(rows)


def judge(t: pd.DataFrame, n_boot: int = 10_000) -> dict:
    "Shares over coin-windows (a tie is not a win) with the bootstrap CI of the book with the agent ahead of the book."
    ci = share_ci((t.book_plus_agent > t.rule_book).to_numpy(), None, n_boot)
    return dict(coin_windows=len(t), plus_ahead_of_book=ci['share'], ci_low=ci['lo'], ci_high=ci['hi'],
                mean_diff=float((t.book_plus_agent - t.rule_book).mean()),
                book_vs_best_rule=float((t.rule_book > t.best_rule).mean()), plus_vs_best_rule=float((t.book_plus_agent > t.best_rule).mean()),
                mix_vs_best_rule=float((t.agent_mix > t.best_rule).mean()), median_corr=float(t['corr'].median()))


def main(argv):
    p = argparse.ArgumentParser()
    p.add_argument('--parts', nargs='+', required=True,
                   help='benchmark_parts.py output folders (their parts/*.pkl); A+B pools the folders of one period into one row')
    p.add_argument('--variant', default=None, help='only this variant')
    p.add_argument('--label', nargs='*', default=None, help='one label per --parts folder (default: the folder)')
    a = p.parse_args(argv)
    out = []
    for k, d in enumerate(a.parts):
        files = sorted(f for one in d.split('+') for f in Path(one, 'parts').glob('*.pkl'))
        if not files: sys.exit(f'{d}: no parts/*.pkl')
        t = pd.concat([coin_windows(pickle.loads(f.read_bytes())) for f in files], ignore_index=True)
        if a.variant: t = t[t.variant == a.variant]
        for v, g in t.groupby('variant'):
            r = judge(g)
            out.append({'run': a.label[k] if a.label else d, 'variant': v, 'windows': ' '.join(sorted(g.window.unique())),
                        'coin-windows': r['coin_windows'],
                        'book + agent ahead of book (CI)': f"{r['plus_ahead_of_book']:.0%} ({r['ci_low']:.0%}–{r['ci_high']:.0%})",
                        'mean Sortino, book + agent − book': f"{r['mean_diff']:+.3f}".replace('-0.000', '0.000'),
                        'ahead of best rule: book / book + agent / mix': f"{r['book_vs_best_rule']:.0%} / {r['plus_vs_best_rule']:.0%} / {r['mix_vs_best_rule']:.0%}",
                        'corr(mix, book), median': f"{r['median_corr']:.2f}"})
    print(pd.DataFrame(out).to_markdown(index=False))


if __name__ == '__main__': main(sys.argv[1:])
