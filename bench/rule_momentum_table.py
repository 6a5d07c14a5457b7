"""Tables and figure of the rule-momentum gate (ablation 13) from `bench/rule_momentum.py`'s outputs.

    python bench/rule_momentum_table.py "2022-23,runs/rm13/bench" "2020-21,runs/rm13/holdout" --csv OUT.csv \
        --picks-csv PICKS.csv --scan-csv SCAN.csv --png OUT.png

Per period: the selector against the best rule (the gate), the book of the rules and each rule; the book against the best
rule (reference): share of coin-windows ahead on Sortino with the benchmark's `share_ci` (over coin-windows; over whole
windows), per-window counts, mean and median Sortino change, share ahead on total return. Then how often the selector picked
each rule and fell back (per window, with the tuned setting), and, from scan.csv, every grid setting fixed on the test
windows (a diagnostic after the choice). Prints markdown tables, writes them as CSV, plots the Sortino differences.
"""
import argparse, sys
from pathlib import Path
import numpy as np
import pandas as pd
sys.path.insert(0, str(Path(__file__).resolve().parent))
from vol_trim_table import ci, per_window, strip_figure

RULES = ('fixed_tp_sl', 'atr_trailing', 'hold_to_horizon')


def load(d:Path) -> pd.DataFrame:
    "Per coin-window of the `rule_momentum` variant: Sortino and total return of the selector, each rule, the book and the best rule."
    t = pd.read_csv(d/'table.csv')
    t = t[t.variant == 'rule_momentum']
    keys = ['window', 'coin']
    s = t.pivot_table(index=keys, columns='policy', values='sortino', aggfunc='first')
    r = t.pivot_table(index=keys, columns='policy', values='total_return', aggfunc='first').add_suffix('_return')
    out = s.join(r).reset_index()
    best = t.groupby(keys).best_rule.first().reindex(pd.MultiIndex.from_frame(out[keys])).to_numpy()
    out['best_rule'] = best
    out['best_rule_sortino'] = [row[b] for b, (_, row) in zip(best, out.iterrows())]
    out['best_rule_return'] = [row[b + '_return'] for b, (_, row) in zip(best, out.iterrows())]
    return out


def period_rows(label:str, d:Path) -> list:
    c, rows = load(d), []
    sel, sel_ret = c.agent_mix.to_numpy(), c.agent_mix_return.to_numpy()
    def add(row, new, old, new_ret=None, old_ret=None):
        txt, s = ci(new > old, c.window.to_numpy())
        extra = {}
        if new_ret is not None:
            r = ci(new_ret > old_ret, c.window.to_numpy())[1]
            extra = dict(ahead_on_return=r['share'], return_lo=r['lo'], return_hi=r['hi'])
        rows.append(dict(period=label, row=row, coin_windows=len(new), ahead=txt, share=s['share'], lo=s['lo'], hi=s['hi'],
                         lo_windows=s['lo_cluster'], hi_windows=s['hi_cluster'], per_window=per_window(new > old, c.window.to_numpy()),
                         tied=int(np.sum(new == old)), mean_sortino_change=float(np.mean(new - old)),
                         median_sortino_change=float(np.median(new - old)), **extra))
    add('selector vs best rule (the gate)', sel, c.best_rule_sortino.to_numpy(), sel_ret, c.best_rule_return.to_numpy())
    add('selector vs the book of rules', sel, c.rule_book.to_numpy(), sel_ret, c.rule_book_return.to_numpy())
    for r in RULES: add(f'selector vs {r}', sel, c[r].to_numpy(), sel_ret, c[r + '_return'].to_numpy())
    add('the book vs best rule (reference)', c.rule_book.to_numpy(), c.best_rule_sortino.to_numpy(), c.rule_book_return.to_numpy(),
        c.best_rule_return.to_numpy())
    # the mix of one seed is the selector itself: its Sortino from the book's returns equals the selector's own
    rows[0]['max_abs_mix_minus_selector'] = float(np.max(np.abs(c.agent_mix - c.agent_seed0)))
    return rows


def pick_rows(periods) -> pd.DataFrame:
    "Per period and window: the tuned setting, trades, and the share of trades managed by each rule, and fallbacks."
    rows = []
    for label, d in periods:
        ch = pd.read_csv(d/'choices.csv')
        for w, g in list(ch.groupby('window', sort=True)) + [('all', ch)]:
            n = g.trades.sum()
            rows.append(dict(period=label, window=w, best_rule=g.best_rule.iloc[0] if w != 'all' else '',
                             setting='' if w == 'all' else f"{g.lookback.iloc[0]} h / {g.scope.iloc[0]} / {g.min_trades.iloc[0]}",
                             trades=int(n), fallback=g.fallbacks.sum() / n, **{r: g[f'chose_{r}'].sum() / n for r in RULES}))
    return pd.DataFrame(rows)


def scan_rows(periods) -> pd.DataFrame:
    "Per period and grid setting fixed on every test window (scan.csv; a diagnostic after the choice): shares ahead of the best rule and the book."
    rows = []
    for label, d in periods:
        f = d/'scan.csv'
        if not f.exists(): continue
        sc = pd.read_csv(f).merge(load(d)[['window', 'coin', 'rule_book']], on=['window', 'coin'])
        for k, g in sc.groupby(['lookback', 'scope', 'min_trades']):
            rows.append(dict(period=label, lookback=k[0], scope=k[1], min_trades=k[2], coin_windows=len(g),
                             ahead_of_best_rule=float((g.sortino > g.best_rule_sortino).mean()),
                             mean_change=float((g.sortino - g.best_rule_sortino).mean()),
                             ahead_of_book=float((g.sortino > g.rule_book).mean()),
                             fallback=float(g.fallbacks.sum() / g.trades.sum()), tuned_in_windows=int(g.groupby('window').tuned.first().sum())))
    return pd.DataFrame(rows)


def plot(periods, path):
    def panel(label, d):
        c = load(d)
        return ({'selector − best rule': c.agent_mix - c.best_rule_sortino, 'selector − book': c.agent_mix - c.rule_book,
                 **{f'selector − {r}': c.agent_mix - c[r] for r in RULES}, 'book − best rule': c.rule_book - c.best_rule_sortino},
                f"{label}: test Sortino differences per coin-window\n(grey: tied; the selector fell back to the best rule on every trade)")
    strip_figure(periods, path, panel, 'Sortino difference (black: mean)')


def main(argv):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('periods', nargs='+', help='LABEL,DIR (a bench/rule_momentum.py --out folder)')
    p.add_argument('--csv', type=Path); p.add_argument('--picks-csv', type=Path); p.add_argument('--scan-csv', type=Path)
    p.add_argument('--png', type=Path)
    args = p.parse_args(argv)
    periods = [(s.split(',')[0], Path(s.split(',')[1])) for s in args.periods]
    t = pd.DataFrame([r for label, d in periods for r in period_rows(label, d)])
    if args.csv: t.to_csv(args.csv, index=False)
    cols = ['period', 'row', 'coin_windows', 'ahead', 'tied', 'per_window', 'mean_sortino_change', 'median_sortino_change', 'ahead_on_return']
    print(t[cols].to_markdown(index=False, floatfmt='+.2f'))
    print(f"selector's own Sortino vs its one-seed mix: largest difference {t.max_abs_mix_minus_selector.max():.2g}")
    pk = pick_rows(periods)
    if args.picks_csv: pk.to_csv(args.picks_csv, index=False)
    print(pk.to_markdown(index=False, floatfmt='.0%'))
    sc = scan_rows(periods)
    if len(sc):
        if args.scan_csv: sc.to_csv(args.scan_csv, index=False)
        w = sc.pivot_table(index=['lookback', 'scope', 'min_trades'], columns='period', values=['ahead_of_best_rule', 'mean_change', 'ahead_of_book'])
        print(w.round(2).to_markdown())
    if args.png: plot(periods, args.png)


if __name__ == '__main__': main(sys.argv[1:])
