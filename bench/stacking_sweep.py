"""The stacker sweep's table (issue 13, docs/results/benchmark_stacking.md): per row and period, the share of coin-windows
ahead of the best rule and ahead of the book of the rules, with bootstrap CIs over coin-windows; pooled over the periods;
the row chosen on the first period and whether it is confirmed on the others; Spearman of the rows' shares between periods.

    python bench/stacking_sweep.py runs/stack22/bench/comparison.csv runs/stack22/holdout/comparison.csv \
        runs/stack22/period3/comparison.csv --prefix oracle_margin_first_bc_stacking_ --reference s0

The first file is the selection period: the chosen row has the highest share ahead of the best rule there (ties: the share
ahead of the book). Confirmed: on every other period its share ahead of the best rule is at least the reference row's, and
pooled over all periods the lower end of its 95 % CI is above 50 %. Only rows named `<prefix><tag>` compete.
"""
import argparse, sys
from pathlib import Path
import pandas as pd
from riskrl_nb.eval.benchmark import share_ci


def wins(path, prefix) -> pd.DataFrame:
    "One row per (tag, window, coin) of the pooled rows named <prefix><tag>: ahead of the best rule, ahead of the book."
    c = pd.read_csv(path)
    c = c[(c.kind == 'pooled') & c.variant.str.startswith(prefix)]
    if not len(c): raise SystemExit(f"{path}: no pooled rows named {prefix}*")
    return pd.DataFrame(dict(tag=c.variant.str[len(prefix):], window=c.window, coin=c.coin,
                             best=c.beats_agent_mix.astype(bool), book=c.agent_mix > c.rule_book))


def cell(w, col) -> str:
    ci = share_ci(w[col].to_numpy(), w.window.to_numpy())
    return f"{ci['share']:.0%} ({ci['lo']:.0%}–{ci['hi']:.0%})"


def sweep(files, prefix, reference) -> tuple:
    "(markdown table, lines of the choice): `files` the comparison.csv of each period, the first the selection period."
    per = [wins(f, prefix).assign(period=k) for k, f in enumerate(files)]
    names = [Path(f).parent.name for f in files]
    share = pd.DataFrame({k: p.groupby('tag').best.mean() for k, p in enumerate(per)})   # share ahead of the best rule, tag x period
    book0 = per[0].groupby('tag').book.mean()
    order = pd.DataFrame(dict(best=share[0], book=book0)).sort_values(['best', 'book'], ascending=False)
    chosen = order.index[0]
    rows = []
    for tag in order.index:
        r = {'row': tag}
        for k, p in enumerate(per):
            w = p[p.tag == tag]
            r[f'{names[k]} vs best rule'] = cell(w, 'best') if len(w) else '–'
            r[f'{names[k]} vs book'] = cell(w, 'book') if len(w) else '–'
        allw = pd.concat([p[p.tag == tag] for p in per])
        complete = all((p.tag == tag).any() for p in per)
        r['pooled vs best rule'] = cell(allw, 'best') if complete else '–'
        r['pooled vs book'] = cell(allw, 'book') if complete else '–'
        rows.append(r)
    lines = [f"chosen on {names[0]}: {chosen} ({order.best.iloc[0]:.0%} ahead of the best rule, {order.book.iloc[0]:.0%} of the book)"]
    if len(per) > 1 and all((p.tag == chosen).any() for p in per[1:]):
        ok = [share.loc[chosen, k] >= share.loc[reference, k] for k in range(1, len(per))]
        ci = share_ci(pd.concat([p[p.tag == chosen] for p in per]).best.to_numpy())
        lines.append(f"confirmed: {all(ok) and ci['lo'] > 0.5} (at least the reference {reference} on "
                     + ', '.join(f"{names[k]} {share.loc[chosen, k]:.0%} vs {share.loc[reference, k]:.0%}" for k in range(1, len(per)))
                     + f"; pooled {ci['share']:.0%}, CI {ci['lo']:.0%}–{ci['hi']:.0%})")
    for k in range(1, len(per)):
        both = share[[0, k]].dropna()
        if len(both) > 2:
            lines.append(f"Spearman of the rows' shares ahead of the best rule, {names[0]} vs {names[k]}: "
                         f"{both[0].corr(both[k], method='spearman'):+.2f} over {len(both)} rows")
    return pd.DataFrame(rows).to_markdown(index=False), lines


def main(argv):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('files', nargs='+', metavar='CSV'); p.add_argument('--prefix', required=True)
    p.add_argument('--reference', required=True, help='the tag of the shipped settings')
    a = p.parse_args(argv)
    table, lines = sweep(a.files, a.prefix, a.reference)
    print(table); print(); print('\n'.join(lines))


if __name__ == '__main__': main(sys.argv[1:])
