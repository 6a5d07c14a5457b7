"""Rows of skill benchmarks paired against a reference row per coin-window, per period and pooled over periods.

    python bench/paired_rows.py --ref oracle_margin_first_bc --row oracle_margin_first_bc_batched64 \
        2022-23:runs/batch24/bench/comparison.csv 2020-21:runs/batch24/holdout/comparison.csv 2018-19:runs/batch24/period3/comparison.csv

Each positional argument is LABEL:CSV, one period's comparison.csv (`bench/benchmark_parts.py merge`). For every row and
period, and pooled over the periods: the coin-windows where both the row and the reference were tested (the sets must be
equal: a coin-window one of them lacks is an error, not a silent drop), the share where the row's mix of seeds has the
higher test Sortino (ties, e.g. the validated clone kept by both, count as not ahead; CI as below), the coin-windows ahead of the best rule
only for the reference / only for the row, and the mean Sortino difference row − reference with a bootstrap 95 % CI over
coin-windows (pooled: resampled within each period, so each period keeps its weight) and one resampling whole
half-year windows (within each period). `--seeds 3 4 5` pairs single seeds
instead of the mix (e.g. fresh seeds the reference was not selected on). Nothing is chosen here.
"""
import argparse, sys
import numpy as np
import pandas as pd


def pair(c: pd.DataFrame, ref: str, row: str, source: str = 'comparison', cells=('agent_mix',)) -> pd.DataFrame:
    """The two rows' pooled cells side by side, aligned on (window, coin): ref, row (the Sortino of `cells`, averaged over
    them when several, e.g. single seeds), and the cells ahead of the best rule: ref_won, row_won, only_ref_won, only_row_won."""
    c = c[c.kind == 'pooled'] if 'kind' in c else c
    sides = {}
    for name, v in (('ref', ref), ('row', row)):
        t = c[c.variant == v]
        if not len(t): raise SystemExit(f"{source}: no pooled rows of variant '{v}'")
        if t.duplicated(['window', 'coin']).any(): raise SystemExit(f"{source}: variant '{v}' has a coin-window twice")
        sides[name] = t.set_index(['window', 'coin'])
    a, b = sides['ref'], sides['row']
    if set(a.index) != set(b.index):
        miss = sorted(set(a.index) ^ set(b.index))
        raise SystemExit(f"{source}: '{ref}' and '{row}' were not tested on the same coin-windows, e.g. {miss[0]}")
    b = b.loc[a.index]   # aligned by label, never by position
    cells = list(cells)
    if missing := [k for k in cells if k not in c]: raise SystemExit(f"{source}: no column {missing[0]}")
    wa, wb = (t[['beats_' + k for k in cells]].to_numpy(bool) for t in (a, b))
    return pd.DataFrame(dict(ref=a[cells].to_numpy().mean(1), row=b[cells].to_numpy().mean(1), ref_won=wa.sum(1), row_won=wb.sum(1),
                             only_ref_won=(wa & ~wb).sum(1), only_row_won=(wb & ~wa).sum(1)), index=a.index)


def paired_stats(p: pd.DataFrame, period=None, n_boot: int = 4000, seed: int = 0) -> dict:
    "Share of coin-windows with the row ahead of the reference, and the mean Sortino difference with a bootstrap CI."
    d = (p.row - p.ref).to_numpy()
    groups = np.asarray(period) if period is not None else np.zeros(len(d), int)
    rng = np.random.default_rng(seed)
    idx = [np.flatnonzero(groups == g) for g in pd.unique(groups)]
    boot = np.array([(lambda x: (x.mean(), (x > 1e-9).mean()))(np.concatenate([d[i[rng.integers(0, len(i), len(i))]] for i in idx]))
                     for _ in range(n_boot)])
    (lo, slo), (hi, shi) = np.percentile(boot, [2.5, 97.5], axis=0)
    # whole windows resampled (within each period): coin-windows of one half-year share its market, so they are not independent
    win = np.array([f'{g}|{w}' for g, w in zip(groups, p.index.get_level_values('window'))])
    wsets = [[np.flatnonzero(win == u) for u in pd.unique(win[i])] for i in idx]
    wboot = [np.concatenate([d[ws[j]] for ws in wsets for j in rng.integers(0, len(ws), len(ws))]).mean() for _ in range(n_boot)]
    wlo, whi = np.percentile(wboot, [2.5, 97.5])
    return dict(n=len(d), row_ahead=int((d > 1e-9).sum()), ties=int((abs(d) <= 1e-9).sum()), ref_ahead=int((d < -1e-9).sum()),
                only_ref_won=int(p.only_ref_won.sum()), only_row_won=int(p.only_row_won.sum()),
                ref_won=int(p.ref_won.sum()), row_won=int(p.row_won.sum()), mean_diff=float(d.mean()), lo=float(lo), hi=float(hi),
                share_ahead=float((d > 1e-9).mean()), share_lo=float(slo), share_hi=float(shi), lo_windows=float(wlo), hi_windows=float(whi))


def table(specs, ref, rows, cells=('agent_mix',)) -> pd.DataFrame:
    out = []
    for row in rows:
        pooled, labels = [], []
        for spec in specs:
            label, path = spec.split(':', 1)
            p = pair(pd.read_csv(path), ref, row, path, cells)
            if any(set(p.index.get_level_values('window')) & set(q.index.get_level_values('window')) for q in pooled):
                raise SystemExit(f"{path}: windows already counted in another period")
            out.append(dict(row=row, period=label, **paired_stats(p)))
            pooled.append(p); labels += [label] * len(p)
        if len(specs) > 1:
            out.append(dict(row=row, period='pooled', **paired_stats(pd.concat(pooled), labels)))
    return pd.DataFrame(out)


def main(argv):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('specs', nargs='+', metavar='LABEL:CSV')
    ap.add_argument('--ref', default='oracle_margin_first_bc')
    ap.add_argument('--row', action='append', required=True, help='a row to pair against --ref (repeat for several)')
    ap.add_argument('--seeds', type=int, nargs='+', default=None,
                    help="pair these single seeds' Sortinos (averaged per coin-window) instead of the mix; ahead of the best rule counts seed-cells")
    args = ap.parse_args(argv)
    t = table(args.specs, args.ref, args.row, [f'agent_seed{k}' for k in args.seeds] if args.seeds else ['agent_mix'])
    show = pd.DataFrame({'row': t.row, 'period': t.period, 'coin-windows': t.n,
                         'row ahead of ref / tie / behind': [f"{a} / {b} / {c}" for a, b, c in zip(t.row_ahead, t.ties, t.ref_ahead)],
                         'row ahead of ref (95 % CI)': [f"{s:.0%} ({l:.0%}..{h:.0%})" for s, l, h in zip(t.share_ahead, t.share_lo, t.share_hi)],
                         'ahead of best rule: ref / row (only ref / only row)':
                             [f"{a} / {b} ({c} / {d})" for a, b, c, d in zip(t.ref_won, t.row_won, t.only_ref_won, t.only_row_won)],
                         'mix Sortino row − ref (95 % CI)': [f"{m:+.2f} ({l:+.2f}..{h:+.2f})" for m, l, h in zip(t.mean_diff, t.lo, t.hi)],
                         'CI resampling whole windows': [f"{l:+.2f}..{h:+.2f}" for l, h in zip(t.lo_windows, t.hi_windows)]})
    print(show.to_markdown(index=False, disable_numparse=True))


if __name__ == '__main__': main(sys.argv[1:])
