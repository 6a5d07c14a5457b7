"""The premise of ablation 12, checked on the test half-years: does trailing volatility predict the next hours' downside, and their return?

    python bench/vol_trim_premise.py --windows 2020H1 2020H2 2021H1 2021H2 2022H1 2022H2 2023H1 2023H2 --csv OUT.csv

Per coin and test half-year (hourly candles of the bundled coins), at every bar t: the annualised vol of the last `--window`
log returns up to t (`trailing_vol`, nb 21a) against the next `--ahead` bars' downside semideviation and mean log return
(bars t+1..t+ahead, after t: what a trim at t+1's open would change). Spearman correlations per coin-window, and the pooled
mean of both by quintile of trailing vol within each coin-window. Market-wide (every bar, not only bars with a position open).
"""
import argparse, sys
from pathlib import Path
import numpy as np
import pandas as pd
from scipy.stats import spearmanr
from riskrl_nb.eval import benchmark as B
from riskrl_nb.sim.vol_trim import trailing_vol

COINS = ['ADA', 'BNB', 'BTC', 'DOGE', 'ETH', 'LINK', 'LTC', 'TRX', 'XLM', 'XRP']


def forward(r:np.ndarray, h:int) -> tuple:
    "(downside semideviation, mean) of r[t+1..t+h] for every t (nan where fewer than h bars follow)."
    n = len(r); dn, mu = np.full(n, np.nan), np.full(n, np.nan)
    c2, c1 = np.r_[0, np.cumsum(np.minimum(r, 0) ** 2)], np.r_[0, np.cumsum(r)]
    t = np.arange(n - h)
    dn[t] = np.sqrt((c2[t + h + 1] - c2[t + 1]) / h); mu[t] = (c1[t + h + 1] - c1[t + 1]) / h
    return dn, mu


def main(argv):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('--windows', nargs='+', required=True)
    p.add_argument('--window', type=int, default=72); p.add_argument('--ahead', type=int, default=24)
    p.add_argument('--csv', type=Path)
    args = p.parse_args(argv)
    rows, pooled = [], []
    for c in COINS:
        df = B.load_coin(c)
        close = df.close.to_numpy(float)
        r = np.r_[np.nan, np.diff(np.log(close))]
        vol = trailing_vol(close, args.window)
        dn, mu = forward(np.nan_to_num(r), args.ahead)
        for w in args.windows:
            win = B.bench_window(w, train_months=12)
            try: s = B.period_slice(df, win.test_start, win.test_end)
            except Exception: continue
            idx = np.arange(s.start, s.stop)
            ok = idx[np.isfinite(vol[idx]) & np.isfinite(dn[idx])]
            if len(ok) < 500: continue
            q = pd.qcut(vol[ok], 5, labels=False)
            rows.append(dict(window=w, coin=c, bars=len(ok), spearman_vol_next_downside=spearmanr(vol[ok], dn[ok]).statistic,
                             spearman_vol_next_mean=spearmanr(vol[ok], mu[ok]).statistic))
            pooled.append(pd.DataFrame(dict(period='2020-21' if w < '2022' else '2022-23', quintile=q + 1, next_downside=dn[ok],
                                            next_mean=mu[ok])))
    t = pd.DataFrame(rows)
    t['period'] = np.where(t.window < '2022', '2020-21', '2022-23')
    print(t.groupby('period')[['spearman_vol_next_downside', 'spearman_vol_next_mean']].agg(['mean', 'min', 'max']).round(3).to_markdown())
    q = pd.concat(pooled).groupby(['period', 'quintile']).agg(next_downside=('next_downside', 'mean'), next_mean=('next_mean', 'mean'))
    q['mean_over_downside'] = q.next_mean / q.next_downside
    print((q * [1e4, 1e4, 1]).round(3).rename(columns={'next_downside': 'next_downside_bp', 'next_mean': 'next_mean_bp'}).to_markdown())
    if args.csv: t.to_csv(args.csv, index=False); q.reset_index().to_csv(args.csv.with_name(args.csv.stem + '_quintiles.csv'), index=False)


if __name__ == '__main__': main(sys.argv[1:])
