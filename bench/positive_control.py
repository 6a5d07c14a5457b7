"""A positive control for the skill benchmark: synthetic coins with a *planted* exit signal, and a null world.

On the bundled candles no configuration has beaten the best tuned rule out of sample, and the features rank cuts at
ROC-AUC 0.52 (ablation 11). That reading needs a control: does the pipeline (`riskrl benchmark`, the default config,
the benchmark's budget) find an edge where one exists? The control worlds are the library's (`write_control_coins`,
nbs/10_candles.ipynb; `riskrl benchmark --control planted|null` runs on them): ten synthetic coins in the bundled format,
a Markov chain of three regimes (mean stay 200 bars), hourly 2020-01-01..2023-12-31.
- **planted**: the high-volatility regime falls 6 a year (about -0.07 % a bar), the calm one rises 5, the choppy one 1.
  Trailing volatility tells the regime within a few bars, so an exit manager that cuts when volatility jumps should beat
  rules that do not look at it.
- **null**: the same volatilities, drift 0 in every regime: nothing in the candles tells the future return.

    python bench/positive_control.py make --out DIR --world planted    # DIR/SYN0.csv.gz .. SYN9.csv.gz, regimes, info.json
    python bench/positive_control.py make --out DIR --world planted --start 2018-01-01   # a longer world: test 2019H1..2023H2
    riskrl benchmark --control planted --steps 16000 --out RUN          # = --coins DIR/SYN?.csv.gz --windows 2022H1 2022H2 2023H1 2023H2 --loo none --train-months 12

    python bench/positive_control.py gate --kind state --synthetic DIR RUN/models/default --windows ... --out G   # the informed ceiling
    python bench/positive_control.py gate --kind vol RUN/models/default --windows ... --out G     # a 2-parameter vol cut, tuned on training
    python bench/positive_control.py gate --kind reversal RUN/models/default --windows ... --out G  # cut a long after a k-sigma rise
    python bench/positive_control.py table LABEL:G/summary.json:best_rule_vt LABEL:RUN/summary.json ...   # the results table
    python bench/positive_control.py table docs/results/positive_control_summary.json                   # the committed rows
    python bench/positive_control.py real       # what the basic features know of the next day's return on the bundled coins, by year

`gate` runs bench/vol_trim.py's evaluation (its windows, tuned rules, test half-years, tables; variant names keep its `_vt`
suffix) with the vol-trim overlay replaced by `StateCut`: the tuned rule, closed at the next open where a flag is set.

This is never a reported result about markets; it is a check of the machinery (docs/results/positive_control.md).
"""
import argparse, json, sys
from pathlib import Path
import numpy as np, pandas as pd
from scipy.stats import spearmanr
from riskrl_nb.data.candles import load_candles, write_control_coins, CONTROL_WORLDS, CONTROL_SPAN
from riskrl_nb.data.features import basic_features
from riskrl_nb.core.config import FeatureConfig, RiskrlError
from riskrl_nb.sim.execution import ExitPolicy, Decision
from riskrl_nb.sim.vol_trim import _closes   # a base decision that closes the whole position

def information(df:pd.DataFrame, horizon:int=24) -> dict:
    "Spearman correlations of the basic features with the next `horizon` bars' log return (from the next bar's open)."
    f = basic_features(df, FeatureConfig())
    fwd = np.log(df.open.shift(-horizon - 1) / df.open.shift(-1))
    ok = f.notna().all(axis=1) & fwd.notna()
    return {c: round(float(spearmanr(f.loc[ok, c], fwd[ok])[0]), 4) for c in f.columns}


def in_trade_means(bins=((-9, 0), (0, 1), (1, 2), (2, 9))) -> pd.DataFrame:
    "The next 24 bars' mean log return (bp, from the next open) at bars inside the default entries' trades, by z-score bin and year."
    from riskrl_nb.core.config import bundled_symbols, EntryConfig
    from riskrl_nb.data.candles import load_bundled
    from riskrl_nb.data.entries import make_entries
    rows = []
    for s in bundled_symbols():
        df = load_bundled(s)
        logc, op = np.log(df.close.to_numpy()), np.log(df.open.to_numpy())
        sd = pd.Series(logc).diff().rolling(168, min_periods=168).std().to_numpy()
        z = np.r_[np.full(24, np.nan), logc[24:] - logc[:-24]] / (sd * np.sqrt(24))
        inside = np.zeros(len(df), bool)
        for e in np.flatnonzero(make_entries(df, EntryConfig()) > 0): inside[e:min(e + 120, len(df) - 26)] = True
        idx = np.flatnonzero(inside & np.isfinite(z))
        fwd, years = (op[idx + 25] - op[idx + 1]) * 1e4, df.index.year.to_numpy()[idx]
        for y in np.unique(years):
            k = years == y
            for lo, hi in bins:
                m = k & (z[idx] >= lo) & (z[idx] < hi)
                if m.any(): rows.append(dict(coin=s, year=y, bin=f'z {lo}..{hi}', mean_bp=float(fwd[m].mean())))
    return pd.DataFrame(rows).pivot_table(index='year', columns='bin', values='mean_bp', aggfunc='mean')


def make(out:Path, world:str, coins:int=10, seed:int=0, span:tuple=CONTROL_SPAN) -> dict:
    "Write the control world's coins (`write_control_coins`, nb 10) and info.json: per coin the drift by regime and the features' information."
    info = dict(world=world, seed=seed, span=list(span), regimes=[list(r) for r in CONTROL_WORLDS[world]], coins={})
    for path in write_control_coins(out, world, coins, seed, span):
        df, regime = load_candles(path), np.load(path.with_name(path.name.replace('.csv.gz', '.regime.npy')))
        r1 = np.log(df.close).diff().shift(-1)   # next bar's return, by the regime at the bar
        info['coins'][path.name] = dict(bars=len(df), share_by_regime=np.bincount(regime, minlength=3).tolist(),
                                        next_bar_drift_bp_by_regime=[round(float(r1[regime == k].mean() * 1e4), 3) for k in range(3)],
                                        spearman_next_24=information(df))
    feats = list(next(iter(info['coins'].values()))['spearman_next_24'])
    info['mean_spearman_next_24'] = {c: round(float(np.mean([v['spearman_next_24'][c] for v in info['coins'].values()])), 4) for c in feats}
    (out/'info.json').write_text(json.dumps(info, indent=1))
    return info


class StateCut(ExitPolicy):
    "A tuned rule, closed at the next open when `flags(market)[i]` is set at a decision bar (the base rule's own closes come first)."
    def __init__(self, base:ExitPolicy, flags, params:dict, long_only:bool=False):
        self.base, self.flags_of, self.name, self.long_only = base, flags, f'{base.name}_cut', long_only
        self.params = dict(rule=base.name, **base.params, **params)
        self._of, self.trims, self.adds = None, [], []

    def reset(self, sim):
        self.base.reset(sim)
        if self._of is not sim.market: self._flags, self._of = self.flags_of(sim.market), sim.market
        self.trims, self.adds = [], []

    def on_signal(self, sim, i, side): return self.base.on_signal(sim, i, side)

    def decide(self, sim, i):
        d = self.base.decide(sim, i)
        if _closes(d): return d
        if not self._flags[i]: return d
        if self.long_only and sim.side != 1: raise RuntimeError('this cut reads rises: long positions only')
        self.trims.append((i, abs(sim.units), sim.side))
        return Decision(close_fraction=1.0, reason='state_cut')


def regime_flags(folder:Path):
    "flags(market): the hidden high-volatility regime of the synthetic coin `market.symbol` (SYN<i>; the informed ceiling)."
    regimes = {f.name.split('.')[0]: np.load(f) == 2 for f in sorted(folder.glob('SYN*.regime.npy'))}
    def flags(m):
        r = regimes[m.symbol]
        if len(r) != len(m.close): raise RuntimeError(f"{m.symbol}: {len(r)} regimes for {len(m.close)} bars")
        return r
    return flags


def gate(argv):
    "Each tuned rule cut by a flag, through bench/vol_trim.py's evaluation (same windows, coins, metrics, tables)."
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    import vol_trim as VT
    from riskrl_nb.sim.rules import make_baseline
    from riskrl_nb.sim.vol_trim import trailing_vol, tune_vol_trim
    p = argparse.ArgumentParser()
    p.add_argument('--kind', choices=['state', 'vol', 'reversal'], required=True,
                   help='state: cut in the hidden crash regime (ceiling); vol: cut when trailing vol > a tuned threshold; reversal: cut a long after a rise of > k sigmas')
    p.add_argument('--synthetic', type=Path, help='the folder `make` wrote (state)')
    a, rest = p.parse_known_args(argv)
    if a.kind == 'state':
        flags = regime_flags(a.synthetic)
        policy = lambda rule, rp, params, ppy=8760: StateCut(make_baseline(rule, rp), flags, {})
        VT.VOL_TRIM_GRID = {'none': (0,)}
    elif a.kind == 'vol':
        def policy(rule, rp, params, ppy=8760):
            f = lambda m: np.nan_to_num(trailing_vol(m.close, int(params['window']), ppy), nan=0.0) > params['threshold']
            return StateCut(make_baseline(rule, rp), f, dict(params))
        VT.VOL_TRIM_GRID = dict(threshold=(0.6, 0.8, 1.0, 1.2, 1.5), window=(24, 72))
    else:   # reversal, long positions only (the default entries): cut after a rise of `threshold` sigmas over `window` bars
        def policy(rule, rp, params, ppy=8760):
            def f(m):
                w, logc = int(params['window']), np.log(m.close)
                sd = pd.Series(logc).diff().rolling(168, min_periods=168).std().to_numpy()
                z = np.r_[np.full(w, np.nan), logc[w:] - logc[:-w]] / (sd * np.sqrt(w))
                return np.nan_to_num(z, nan=0.0) > params['threshold']
            return StateCut(make_baseline(rule, rp), f, dict(params), long_only=True)
        VT.VOL_TRIM_GRID = dict(threshold=(1.0, 1.5, 2.0, 2.5, 3.0), window=(24, 48))
    VT.tune_vol_trim = lambda sims, periods, rules, grid, ppy=8760: tune_vol_trim(sims, periods, rules, grid, ppy, make_policy=policy)
    VT.vol_trim_policy = policy
    VT.main(rest)


def table(argv):
    "A markdown row per LABEL:summary.json[:VARIANT] (a benchmark's or a gate's): mix ahead of the best rule (CI), the seed picked, the book, Sortino excess, DSR, PBO."
    print('| row | coin-windows | ahead of the best rule (95 % CI) | seed picked on validation | ahead of the rule book | mean Sortino − best rule | deflated Sharpe | PBO |')
    print('|---|---:|---|---:|---:|---:|---:|---:|')
    rows = []
    for arg in argv:
        if Path(arg).is_file():   # the committed docs/results/positive_control_summary.json: {label: {command, result}}
            rows += [(label, v['result']) for label, v in json.loads(Path(arg).read_text()).items()]; continue
        label, path, *variant = arg.split(':')
        res = json.loads(Path(path).read_text())['results']
        rows.append((label, res[f'{variant[0]}/pooled' if variant else next(iter(res))]))
    for label, r in rows:
        mix = r['share_beating_best_rule']['agent_mix']
        pick = r['share_beating_best_rule'].get('agent_pick', {}).get('share')
        pct = lambda x: '–' if x is None else f'{100 * x:.0f} %'
        print(f"| {label} | {r['coin_windows']} | **{pct(mix['share'])}** ({100 * mix['lo']:.0f}–{100 * mix['hi']:.0f}) | {pct(pick)} | "
              f"{pct(r['share_beating_rule_book']['share'])} | {r['mean_sortino_minus_best_rule']['agent_mix']:+.2f} | "
              f"{r['deflated_sharpe']['dsr']:.3f} | {r['pbo']['pbo']:.2f} |")


def _day(s):
    "`--start`'s value, refused by argparse (exit 2, one line) unless pandas reads it as a date."
    try: pd.Timestamp(s)
    except ValueError: raise argparse.ArgumentTypeError(f'not a date: {s!r}')
    return s


def main(argv):
    if argv and argv[0] == 'gate': return gate(argv[1:])
    if argv and argv[0] == 'table': return table(argv[1:])
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('mode', choices=['make', 'real'], help='make: write synthetic coins; real: the same information on bundled coins')
    p.add_argument('--out', type=Path)
    p.add_argument('--world', choices=list(CONTROL_WORLDS), default='planted')
    p.add_argument('--coins', type=int, default=10)
    p.add_argument('--seed', type=int, default=0)
    p.add_argument('--start', default=CONTROL_SPAN[0], type=_day, help=f'first bar of the world (default {CONTROL_SPAN[0]}; it ends {CONTROL_SPAN[1]})')
    a = p.parse_args(argv)
    if a.mode == 'real':
        from riskrl_nb.core.config import bundled_symbols
        from riskrl_nb.data.candles import load_bundled
        rows = []
        for s in bundled_symbols():   # per coin and calendar year with at least 3000 bars
            df = load_bundled(s)
            for y in sorted(set(df.index.year)):
                d = df[df.index.year == y]
                if len(d) >= 3000: rows.append(dict(coin=s, year=y, **information(d)))
        t = pd.DataFrame(rows)
        print('mean Spearman with the next 24 bars\' return, per year (mean over coins; n = coins):')
        print(t.groupby('year').agg(n=('coin', 'size'), **{c: (c, 'mean') for c in t.columns[2:]}).round(3).to_string())
        print('share of coin-years with a negative correlation:'); print((t.iloc[:, 2:] < 0).mean().round(2).to_string())
        print("inside the default entries' trades (up to 120 bars after the entry): the next day's mean log return (bp) by the z-score"
              " of the last 24 bars' return (sd of the last 168 bars' returns), per year, mean over coins:")
        print(in_trade_means().round(0).to_string()); return
    if a.out is None: p.error('make needs --out')
    if a.coins < 1: p.error(f'--coins {a.coins}: a world needs at least one coin')
    try: info = make(a.out, a.world, a.coins, a.seed, (a.start, CONTROL_SPAN[1]))
    except RiskrlError as e: p.error(f'--start {a.start}: {e}')
    print(json.dumps({k: v for k, v in info.items() if k != 'coins'}, indent=1))
    print('next-bar drift (bp) by regime, per coin:', [v['next_bar_drift_bp_by_regime'] for v in info['coins'].values()])


if __name__ == '__main__':
    main(sys.argv[1:])
