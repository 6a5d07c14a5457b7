"""Tables and figure of the regime-rules gate (ablation 14) from `bench/regime_rules.py`'s outputs.

    python bench/regime_rules_table.py "2022-23,runs/rr14/bench" "2020-21,runs/rr14/holdout" --csv OUT.csv --png OUT.png \
        [--picks-csv PICKS.csv] [--scan-csv SCAN.csv]

Per period: the regime rule against the best rule (the gate), against the book of the rules and against each rule, as the
share of coin-windows ahead on Sortino with the benchmark's bootstrap CIs (`share_ci`: over coin-windows; over whole windows),
per-window counts and the mean Sortino change; the chosen settings and tables per window; how often each regime and rule is
picked on the test trades (with their mean trade return); with scan.csv, every grid setting's test share (a diagnostic, never
used to choose). Prints markdown, writes CSVs, and plots the Sortino change per coin-window.
"""
import argparse, json, sys
from pathlib import Path
import numpy as np
import pandas as pd
import matplotlib; matplotlib.use('Agg')
import matplotlib.pyplot as plt
from riskrl_nb.eval.benchmark import share_ci

RULES = ('fixed_tp_sl', 'atr_trailing', 'hold_to_horizon')


def gate_rows(label:str, d:Path, variant:str='regime_rule', name:str='regime rule') -> list:
    "The gate's rows of one period: `variant`'s agent_mix (called `name`) against the best rule, the book and each rule; the book against the best rule."
    comp = pd.read_csv(d/'comparison.csv')
    c = comp[comp.variant == variant]
    rows = []
    def add(row, new, old):
        new, old, w = np.asarray(new, float), np.asarray(old, float), c.window.to_numpy()
        s = share_ci(new > old, w)
        per = ', '.join(f"{int(v.sum())}/{len(v)}" for _, v in pd.Series(new > old).groupby(w, sort=True))
        rows.append(dict(period=label, row=row, coin_windows=len(new), share=s['share'], lo=s['lo'], hi=s['hi'],
                         lo_windows=s['lo_cluster'], hi_windows=s['hi_cluster'], tied=int(np.sum(new == old)), behind=int(np.sum(new < old)),
                         per_window=per, mean_sortino_change=float(np.mean(new - old)), median_sortino_change=float(np.median(new - old))))
    add(f'{name} vs best rule', c.agent_mix, c.best_rule_sortino)
    add(f'{name} vs the book of rules', c.agent_mix, c.rule_book)
    for r in RULES: add(f'{name} vs {r}', c.agent_mix, c[r])
    add('the book vs best rule', c.rule_book, c.best_rule_sortino)
    return rows


def pick_rows(label:str, d:Path) -> pd.DataFrame:
    p = pd.read_csv(d/'picks.csv')
    g = p.groupby(['regime', 'rule']).agg(trades=('trade_return', 'size'), mean_trade_return=('trade_return', 'mean')).reset_index()
    g['share_of_trades'] = g.trades / len(p)
    g['best_rule_share'] = float((p.rule == p.best_rule).mean())
    return g.assign(period=label)


def table_rows(label:str, d:Path) -> pd.DataFrame:
    t = json.loads((d/'tuned.json').read_text())
    return pd.DataFrame([dict(period=label, window=x['window'], best_rule=x['best_rule'], n_regimes=x['chosen']['n_regimes'],
                              min_trades=x['chosen']['min_trades'], table=' / '.join(x['table']), training_trades=' / '.join(map(str, x['counts'])))
                         for x in t])


def scan_rows(label:str, d:Path) -> pd.DataFrame:
    f = d/'scan.csv'
    if not f.exists(): return pd.DataFrame()
    s = pd.read_csv(f)
    out = []
    for (k, m), g in s.groupby(['n_regimes', 'min_trades']):
        ci = share_ci((g.sortino > g.sortino_best).to_numpy(), g.window.to_numpy())
        out.append(dict(period=label, n_regimes=k, min_trades=m, share=ci['share'], lo=ci['lo'], hi=ci['hi'],
                        tied=int((g.sortino == g.sortino_best).sum()), mean_sortino_change=float((g.sortino - g.sortino_best).mean()),
                        chosen_in=int(g.groupby('window').chosen.first().sum())))
    return pd.DataFrame(out)


def plot(periods, path, variant:str='regime_rule', policy_name:str='regime rule'):
    fig, axes = plt.subplots(1, len(periods), figsize=(6 * len(periods), 4.2), sharey=True)
    for ax, (label, d) in zip(np.atleast_1d(axes), periods):
        c = pd.read_csv(d/'comparison.csv'); c = c[c.variant == variant]
        series = {'vs best rule': (c.agent_mix - c.best_rule_sortino).to_numpy(), 'vs the book': (c.agent_mix - c.rule_book).to_numpy(),
                  'book vs best rule': (c.rule_book - c.best_rule_sortino).to_numpy()}
        for k, (name, v) in enumerate(series.items()):
            x = k + np.random.default_rng(k).uniform(-0.18, 0.18, len(v))
            ax.scatter(x, v, s=14, alpha=0.7, color=np.where(v > 0, 'tab:green', np.where(v < 0, 'tab:red', 'grey')))
            ax.plot([k - 0.3, k + 0.3], [np.mean(v)] * 2, color='black', lw=2)
            ax.annotate(f"{np.mean(v > 0):.0%} ahead, {np.mean(v == 0):.0%} tied", (k, 1.02), xycoords=('data', 'axes fraction'), ha='center', fontsize=8)
        ax.axhline(0, color='grey', lw=0.8)
        ax.set_xticks(range(len(series)), list(series), fontsize=8)
        ax.set_title(f"{label}: Sortino difference per coin-window ({policy_name}; grey: tie)", fontsize=9, pad=16)
    np.atleast_1d(axes)[0].set_ylabel('Sortino difference (black: mean)')
    fig.tight_layout(); fig.savefig(path, dpi=110); plt.close(fig)


def main(argv):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('periods', nargs='+', help='LABEL,DIR (a bench/regime_rules.py --out folder)')
    p.add_argument('--csv', type=Path); p.add_argument('--png', type=Path)
    p.add_argument('--picks-csv', type=Path); p.add_argument('--scan-csv', type=Path); p.add_argument('--tables-csv', type=Path)
    args = p.parse_args(argv)
    periods = [(s.split(',')[0], Path(s.split(',')[1])) for s in args.periods]
    g = pd.DataFrame([r for label, d in periods for r in gate_rows(label, d)])
    if args.csv: g.to_csv(args.csv, index=False)
    print(g.to_markdown(index=False, floatfmt='.3f'))
    t = pd.concat([table_rows(label, d) for label, d in periods])
    if args.tables_csv: t.to_csv(args.tables_csv, index=False)
    print(t.to_markdown(index=False))
    pk = pd.concat([pick_rows(label, d) for label, d in periods])
    if args.picks_csv: pk.to_csv(args.picks_csv, index=False)
    print(pk.to_markdown(index=False, floatfmt='.4f'))
    sc = pd.concat([scan_rows(label, d) for label, d in periods])
    if len(sc):
        if args.scan_csv: sc.to_csv(args.scan_csv, index=False)
        print(sc.to_markdown(index=False, floatfmt='.3f'))
    if args.png: plot(periods, args.png)


if __name__ == '__main__': main(sys.argv[1:])
