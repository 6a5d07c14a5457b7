"""Does a rule's recent record predict its next trade? (ablation 13's premise, per trade; a diagnostic after the gate)

    python bench/rule_momentum_premise.py "2022-23,MODELS" "2020-21,MODELS MODELS" --windows ... --csv OUT.csv

On every entry of the window's training-best rule on each coin's test half-year, each tuned rule's net return on that same
entry run alone (`ReferenceExits.rule_return`: from the signal bar, the one execution path), and the rule the selector's
score would pick at the signal bar (`pick_rule` with min_trades 1, i.e. no fallback unless a rule has no trade in the
lookback) for each lookback and scope of the grid, from the shadow records `bench/rule_momentum.py` uses on the test.
Per period and setting: how often the three rules' returns on an entry are all equal, how often the pick differs from the
training-best rule and its return differs, how often the picked rule is ahead where the returns differ; the mean net
return per trade of the picked rule minus the training-best rule's (95 % bootstrap CI resampling coin-windows), and of the
ex-post best of the three minus the training-best rule's (what a perfect per-trade selector would add); and the picked
rule minus the mean of the three (a pick at random), with its CI: the premise proper. Nothing here chooses anything.
"""
import argparse, itertools, sys, time
from pathlib import Path
import numpy as np
import pandas as pd
from riskrl_nb.eval import benchmark as B
from riskrl_nb.sim.execution import run_backtest
from riskrl_nb.sim.residual import ReferenceExits, tuned_rule
from riskrl_nb.sim.rules import RULES
from riskrl_nb.sim.rule_momentum import ShadowBook, shadow_trades, pick_rule, MOMENTUM_GRID
sys.path.insert(0, str(Path(__file__).resolve().parent))
from cut_information import window_models
from vol_trim import load_window
from rule_momentum import shadow_spans


def window_entries(mdir:Path, name:str) -> pd.DataFrame:
    "One row per entry of the training-best rule on each coin's test half-year, setting: each rule's return and the score's pick."
    w = load_window(mdir, name)
    tests = {c: B.evaluation_period(df, w.bundle, w.window.test_start, w.window.test_end)[:2] for c, df in w.frames.items()}
    sims = {c: w.ev.sim(c, w.cfg) for c in w.frames}
    book = ShadowBook(shadow_trades(sims, w.baselines, shadow_spans(w.frames, w.cfg, tests)))
    rows = []
    for c, (a, b) in tests.items():
        ref = ReferenceExits([sims[c]], [[]])
        rules = {r: tuned_rule(r, w.baselines, sims[c].market) for r in RULES}
        for e in run_backtest(sims[c], rules[w.best], a, b).trades.entry_bar:
            ret = {r: ref.rule_return(ref.sims[0], rules[r], int(e), b) for r in RULES}
            t = int(sims[c].market.times[e - 1])   # the signal bar's time
            for lookback, scope in itertools.product(MOMENTUM_GRID['lookback'], MOMENTUM_GRID['scope']):
                pick, fell = pick_rule(book, list(RULES), c, t, w.best, lookback, scope, 1)
                rows.append(dict(window=name, coin=c, entry_bar=int(e), best_rule=w.best, lookback=lookback, scope=scope, pick=pick,
                                 fell_back=fell, **{f'return_{r}': v for r, v in ret.items()}))
    return pd.DataFrame(rows)


def cluster_ci(values:np.ndarray, groups:np.ndarray, n_boot:int=10_000, seed:int=0) -> tuple:
    "Mean of `values` and its 95 % percentile CI resampling whole groups (coin-windows)."
    g = pd.Series(values).groupby(groups)
    sums, counts = g.sum().to_numpy(), g.count().to_numpy()
    pick = np.random.default_rng(seed).integers(0, len(sums), (n_boot, len(sums)))
    boot = sums[pick].sum(1) / counts[pick].sum(1)
    return float(values.mean()), float(np.quantile(boot, 0.025)), float(np.quantile(boot, 0.975))


def summary(label:str, e:pd.DataFrame) -> list:
    r = e[[f'return_{q}' for q in RULES]].to_numpy()
    idx = {q: k for k, q in enumerate(RULES)}
    e = e.assign(picked=r[np.arange(len(e)), e['pick'].map(idx)], best=r[np.arange(len(e)), e.best_rule.map(idx)],
                 top=r.max(1), mean3=r.mean(1))
    r_all_equal = pd.Series((r.max(1) - r.min(1)) == 0, index=e.index)   # the wide tuned rules often all close at the 168-bar horizon
    rows = []
    for (lb, sc), g in e.groupby(['lookback', 'scope']):
        cw = (g.window + ':' + g.coin).to_numpy()
        d, lo, hi = cluster_ci(((g.picked - g.best) * 1e4).to_numpy(), cw)
        rows.append(dict(period=label, lookback=lb, scope=sc, entries=len(g), fell_back=float(g.fell_back.mean()),
                         rules_all_equal=float((r_all_equal[g.index]).mean()), picked_differs=float((g['pick'] != g.best_rule).mean()),
                         returns_differ=float((g.picked != g.best).mean()),
                         picked_ahead_when_differ=float((g.picked > g.best)[g.picked != g.best].mean()),
                         picked_minus_best_bp=d, ci_lo_bp=lo, ci_hi_bp=hi, top_minus_best_bp=float(((g.top - g.best) * 1e4).mean()),
                         **dict(zip(['picked_minus_mean3_bp', 'mean3_ci_lo_bp', 'mean3_ci_hi_bp'], cluster_ci(((g.picked - g.mean3) * 1e4).to_numpy(), cw))),
                         best_minus_mean3_bp=float(((g.best - g.mean3) * 1e4).mean())))
    return rows


def main(argv):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('periods', nargs='+', help="LABEL,MODELS[ MODELS ...] (folders with <window>/seed0 model folders)")
    p.add_argument('--windows', nargs='+', required=True)
    p.add_argument('--csv', type=Path, required=True)
    args = p.parse_args(argv)
    t0, c0, rows = time.time(), time.process_time(), []
    for spec in args.periods:
        label, models = spec.split(',')
        models = [Path(m) for m in models.split()]
        here = [w for w in args.windows if any((m/w/'seed0').is_dir() for m in models)]
        e = pd.concat([window_entries(d, w) for w, d in window_models(models, here).items()], ignore_index=True)
        e.to_csv(args.csv.with_name(args.csv.stem + f'_entries_{label}.csv.gz'), index=False)
        rows += summary(label, e)
        print(f"{label}: {time.time() - t0:.0f} s", flush=True)
    t = pd.DataFrame(rows)
    t.to_csv(args.csv, index=False)
    print(t.to_markdown(index=False, floatfmt='.3f'))
    print(f"wall {time.time() - t0:.0f} s, cpu {time.process_time() - c0:.0f} s")


if __name__ == '__main__': main(sys.argv[1:])
