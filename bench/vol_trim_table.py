"""Tables and figure of the vol-trim gate (ablation 12) from `bench/vol_trim.py`'s outputs.

    python bench/vol_trim_table.py "2022-23,runs/vt12/bench" "2020-21,runs/vt12/holdout" --csv OUT.csv --png OUT.png

Per period and row (each rule + its overlay against the rule alone; best rule + overlay against the best rule; the book of the
overlaid rules against the book and against the best rule): share of coin-windows ahead on Sortino with the benchmark's
bootstrap CIs (`share_ci`: over coin-windows; over whole windows), per window counts, mean Sortino change, mean change of
total return and of the downside deviation; for the overlays: trims per trade, share of trades trimmed, fees paid by the trims
(% of the initial equity and share of all fees). Prints a markdown table, writes it as CSV, and plots the Sortino changes.
"""
import argparse, sys
from pathlib import Path
import numpy as np
import pandas as pd
import matplotlib; matplotlib.use('Agg')
import matplotlib.pyplot as plt
from riskrl_nb.eval.benchmark import share_ci

RULES = ('fixed_tp_sl', 'atr_trailing', 'hold_to_horizon')


def ci(wins, windows) -> str:
    s = share_ci(np.asarray(wins), np.asarray(windows))
    pct = lambda x: 'n/a' if x is None else f"{x:.0%}"   # one window: no CI over whole windows
    return f"**{pct(s['share'])}** ({pct(s['lo'])}–{pct(s['hi'])}; windows {pct(s['lo_cluster'])}–{pct(s['hi_cluster'])})", s


def per_window(wins, windows) -> str:
    g = pd.Series(np.asarray(wins)).groupby(np.asarray(windows), sort=True)
    return ', '.join(f"{int(v.sum())}/{len(v)}" for _, v in g)


def period_rows(label:str, d:Path) -> list:
    ov, comp = pd.read_csv(d/'overlay.csv'), pd.read_csv(d/'comparison.csv')
    rows = []
    def add(row, new, old, windows, extra=None):
        txt, s = ci(new > old, windows)
        rows.append(dict(period=label, row=row, coin_windows=len(new), ahead=txt, share=s['share'], lo=s['lo'], hi=s['hi'],
                         lo_windows=s['lo_cluster'], hi_windows=s['hi_cluster'], per_window=per_window(new > old, windows),
                         tied=int(np.sum(new == old)), behind=int(np.sum(new < old)),
                         ahead_of_untied=float(np.sum(new > old) / max(np.sum(new != old), 1)),
                         mean_sortino_change=float(np.mean(new - old)), median_sortino_change=float(np.median(new - old)), **(extra or {})))
    def overlay_extra(o):
        return dict(mean_return_change=float((o.total_return_vt - o.total_return).mean()),
                    mean_downside_dev_change_pct=float(((o.downside_dev_vt / o.downside_dev - 1) * 100).mean()),
                    trims_per_trade=float(o.trims.sum() / o.n_trades_vt.sum()), trades_trimmed=float(o.trimmed_trades.sum() / o.n_trades_vt.sum()),
                    trim_fees_pct_equity=float((o.trim_fees / o.initial_equity * 100).mean()),
                    trim_fees_share_of_fees=float(o.trim_fees.sum() / o.fees_vt.sum()),
                    mean_exposure=float(o.mean_exposure.mean()), mean_exposure_vt=float(o.mean_exposure_vt.mean()),
                    **(dict(adds_per_trade=float(o.adds.sum() / o.n_trades_vt.sum()), add_fees_pct_equity=float((o.add_fees / o.initial_equity * 100).mean()))
                       if 'adds' in o else {}))
    for r in RULES:
        o = ov[ov.rule == r].reset_index(drop=True)
        add(f'{r} + vol-trim vs {r}', o.sortino_vt.to_numpy(), o.sortino.to_numpy(), o.window.to_numpy(), overlay_extra(o))
    o = ov[ov.best].reset_index(drop=True)
    add('best rule + vol-trim vs best rule', o.sortino_vt.to_numpy(), o.sortino.to_numpy(), o.window.to_numpy(), overlay_extra(o))
    b = comp[comp.variant == 'book_vt']
    add('book of rules + vol-trim vs the book', b.agent_mix.to_numpy(), b.rule_book.to_numpy(), b.window.to_numpy(), overlay_extra(ov))
    add('book of rules + vol-trim vs best rule', b.agent_mix.to_numpy(), b.best_rule_sortino.to_numpy(), b.window.to_numpy())
    add('the book (no overlay) vs best rule', b.rule_book.to_numpy(), b.best_rule_sortino.to_numpy(), b.window.to_numpy())
    return rows


def scan_rows(periods) -> pd.DataFrame:
    "Per period and grid setting (scan.csv, a diagnostic after the choice): share of coin-windows where best rule + that fixed setting beats the best rule."
    rows = []
    for label, d in periods:
        f = d/'scan.csv'
        if not f.exists(): continue
        sc = pd.read_csv(f)
        keys = ['vt_target_vol', 'vt_window', 'vt_band']
        for k, g in sc.groupby(keys):
            b = g[g.best]
            rows.append(dict(period=label, **dict(zip(keys, k)), best_rule_ahead=float((b.sortino_vt > b.sortino).mean()),
                             best_rule_mean_change=float((b.sortino_vt - b.sortino).mean()),
                             any_rule_ahead=float((g.sortino_vt > g.sortino).mean()), coin_windows=len(b)))
    return pd.DataFrame(rows)


def strip_panel(ax, series:dict):
    "One column of points per {name: per coin-window differences}: green ahead, red behind, grey tied; the mean as a bar; shares above."
    for k, (name, v) in enumerate(series.items()):
        v = np.asarray(v)
        x = k + np.random.default_rng(k).uniform(-0.18, 0.18, len(v))
        ax.scatter(x, v, s=14, alpha=0.7, color=np.where(v > 0, 'tab:green', np.where(v < 0, 'tab:red', 'grey')))
        ax.plot([k - 0.3, k + 0.3], [np.mean(v)] * 2, color='black', lw=2)
        ax.annotate(f"{np.mean(v > 0):.0%} ahead\n{np.mean(v == 0):.0%} tied", (k, 1.01), xycoords=('data', 'axes fraction'), ha='center', fontsize=7)
    ax.axhline(0, color='grey', lw=0.8)
    ax.set_xticks(range(len(series)), [n.replace('_', ' ') for n in series], rotation=20, fontsize=8)


def strip_figure(periods, path, panel, ylabel:str):
    "One `strip_panel` per period: `panel(label, folder)` gives ({name: per coin-window differences}, title)."
    fig, axes = plt.subplots(1, len(periods), figsize=(7.5 * len(periods), 4.8), sharey=True)
    for ax, (label, d) in zip(np.atleast_1d(axes), periods):
        series, title = panel(label, d)
        strip_panel(ax, series)
        ax.set_title(title, fontsize=9, pad=26)
    np.atleast_1d(axes)[0].set_ylabel(ylabel)
    fig.tight_layout(); fig.savefig(path, dpi=110); plt.close(fig)


def plot(periods, path):
    def panel(label, d):
        ov, comp = pd.read_csv(d/'overlay.csv'), pd.read_csv(d/'comparison.csv')
        b = comp[comp.variant == 'book_vt']
        series = {r: (ov[ov.rule == r].sortino_vt - ov[ov.rule == r].sortino).to_numpy() for r in RULES}
        series['best rule'] = (ov[ov.best].sortino_vt - ov[ov.best].sortino).to_numpy()
        series['book'] = (b.agent_mix - b.rule_book).to_numpy()
        return series, f"{label}: Sortino with vol-trim − without (per coin-window; grey: never trimmed)"
    strip_figure(periods, path, panel, 'Sortino change (black: mean)')


def main(argv):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('periods', nargs='+', help='LABEL,DIR (a bench/vol_trim.py --out folder)')
    p.add_argument('--csv', type=Path); p.add_argument('--png', type=Path)
    p.add_argument('--scan-csv', type=Path, help='per grid setting, fixed on the test half-years (scan.csv of each folder)')
    args = p.parse_args(argv)
    periods = [(s.split(',')[0], Path(s.split(',')[1])) for s in args.periods]
    t = pd.DataFrame([r for label, d in periods for r in period_rows(label, d)])
    if args.csv: t.to_csv(args.csv, index=False)
    cols = ['period', 'row', 'coin_windows', 'ahead', 'tied', 'behind', 'ahead_of_untied', 'per_window', 'mean_sortino_change', 'mean_return_change',
            'mean_downside_dev_change_pct', 'trims_per_trade', 'trades_trimmed', 'trim_fees_pct_equity', 'trim_fees_share_of_fees']
    cols += [c for c in ('adds_per_trade', 'add_fees_pct_equity') if c in t]
    print(t[cols].to_markdown(index=False, floatfmt='+.3f'))
    sc = scan_rows(periods)
    if len(sc):
        if args.scan_csv: sc.to_csv(args.scan_csv, index=False)
        w = sc.pivot_table(index=['vt_target_vol', 'vt_window', 'vt_band'], columns='period', values=['best_rule_ahead', 'best_rule_mean_change'])
        print(w.round(3).to_markdown())
    if args.png: plot(periods, args.png)


if __name__ == '__main__': main(sys.argv[1:])
