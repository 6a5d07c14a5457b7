"""Would a noise-aware choice of `train.fresh_rival` do better than the shipped one?

The shipped rule keeps the fresh rival where its best validation score is strictly above the clone run's. The
noise-aware rule (declared before it was computed) keeps it only where, in addition, a paired stationary block bootstrap
of the validation bars puts the rival's score above the clone's in at least `--level` of the resamples: the same
resampled times for every coin and both policies, block length by Politis-White on the coin-mean |return difference|,
the score as training computes it (mean over coins of the per-coin selection metric): `train.rival_evidence`'s test,
`riskrl_nb.agents.training.rival_evidence`, applied to runs trained without it.

Because the rival run *is* the no-clone run, both rules can be evaluated exactly from two standalone benchmark runs of
the same windows and seeds (the clone-only default and `configs/skill_no_clone.yaml`): each run's best policy is
backtested on its validation slice again (its score is checked against meta.json), and each coin-window's test Sortino
is taken from the run the rule keeps.

    python bench/rival_noise.py --pair 2022-23 CLONE_RUN default NO_CLONE_RUN no_clone [--pair ...] [--csv FILE]
    python bench/rival_noise.py --folders CLONE_MODEL RIVAL_MODEL [--folders ...]

The second form takes two model folders of one run each (e.g. a `fresh_rival: false` run and the default run that kept
its rival, same seed and data) and prints the bootstrap share alone.

Prints, per pair and pooled: how many runs each rule keeps the rival in, the share of coin-windows (each seed alone)
ahead of the best rule for the clone, the shipped rule, the noise-aware rule and the rival alone; where the runs hold
`parts/` (bench/benchmark_parts.py) also the mix of the seeds and the paired mix-Sortino differences.
"""
import argparse, glob, json, pickle
from pathlib import Path
import numpy as np
import pandas as pd
from riskrl_nb.agents.training import rival_evidence   # what `train.rival_evidence` computes inside training

RULES = ('clone', 'shipped', 'noise_aware', 'fresh')


def validation_frame(folder:Path) -> tuple[pd.DataFrame, object, float]:
    "The saved policy's per-bar validation returns (one column per coin), the score of such an array and its score."
    from riskrl_nb.agents.bundle import load_bundle
    from riskrl_nb.agents.training import validation_frame as frame_of
    from riskrl_nb.sim.prepare import prepare_data, load_frames
    b = load_bundle(folder)
    prepared, _ = prepare_data(load_frames(b.cfg), b.cfg, b.scaler)
    frame, score = frame_of(b.model, prepared, b.cfg, b.baselines)
    return frame, score, score(frame.to_numpy())


def choices(clone_run, clone_var, fresh_run, fresh_var, level, resamples) -> pd.DataFrame:
    rows = []
    for meta in sorted(glob.glob(f'{clone_run}/models/{clone_var}/*/seed*/meta.json')):
        a = Path(meta).parent; b = Path(fresh_run)/'models'/fresh_var/a.parent.name/a.name
        if not (b/'meta.json').exists(): continue
        (fa, score, sa), (fb, _, sb) = validation_frame(a), validation_frame(b)
        for folder, s in ((a, sa), (b, sb)):   # the re-run backtest should be the one training scored
            saved = json.loads((folder/'meta.json').read_text())['best_validation']
            if abs(saved - s) > 1e-9: print(f"  note: {folder}: validation score {s:.6f} here, {saved:.6f} in meta.json")
        p = rival_evidence(fa, fb, score, resamples)
        rows.append(dict(window=a.parent.name, seed=int(a.name[4:]), clone=sa, fresh=sb, p_fresh_better=p,
                         shipped=sb > sa, noise_aware=sb > sa and p >= level))
        print(f"  {rows[-1]['window']} seed {rows[-1]['seed']}: validation clone {sa:+.3f}, fresh {sb:+.3f}, "
              f"fresh better in {p:.0%} of resamples", flush=True)
    return pd.DataFrame(rows)


def per_seed(run, var, choice:pd.DataFrame, fresh_run, fresh_var) -> pd.DataFrame:
    "Per coin-window and seed: the test Sortino under each rule and the best rule's."
    load = lambda r, v: (lambda c: c[(c.variant == v) & (c.kind == 'pooled')].set_index(['window', 'coin']))(pd.read_csv(Path(r)/'comparison.csv'))
    A, B, rows = load(run, var), load(fresh_run, fresh_var), []
    for c in choice.itertuples():
        for coin in A.loc[c.window].index:
            col, keep = f'agent_seed{c.seed}', dict(clone=False, shipped=c.shipped, noise_aware=c.noise_aware, fresh=True)
            rows.append(dict(window=c.window, coin=coin, seed=c.seed, best=A.loc[(c.window, coin), 'best_rule_sortino'],
                             **{r: (B if keep[r] else A).loc[(c.window, coin), col] for r in RULES}))
    return pd.DataFrame(rows)


def mixes(run, var, fresh_run, fresh_var, choice:pd.DataFrame) -> pd.DataFrame | None:
    "Per coin-window: the mix of the seeds' per-bar test returns under each rule (None without parts/)."
    from riskrl_nb.core.metrics import book_returns, sortino
    from riskrl_nb.core.config import periods_per_year
    parts = sorted(glob.glob(f'{run}/parts/*-{var}.pkl'))
    if not parts: return None
    keep = {(c.window, c.seed): dict(clone=False, shipped=c.shipped, noise_aware=c.noise_aware, fresh=True) for c in choice.itertuples()}
    rows = []
    for pa in parts:
        A = pickle.load(open(pa, 'rb')); B = pickle.load(open(Path(fresh_run)/'parts'/Path(pa).name.replace(var, fresh_var), 'rb'))
        for (_, kind, w, coin), fa in A['returns'].items():
            if kind != 'pooled': continue
            fb, long = B['returns'][(fresh_var, kind, w, coin)], A['long']
            ppy = periods_per_year(pd.Series(fa.index).diff().median().total_seconds())
            seeds = sorted(int(c[10:]) for c in fa if c.startswith('agent_seed'))
            best = long[(long.window == w) & (long.coin == coin)].best_rule.iloc[0]
            rows.append(dict(window=w, coin=coin, best=sortino(fa[best], ppy), **{
                r: sortino(book_returns(pd.DataFrame({s: (fb if keep[(w, s)][r] else fa)[f'agent_seed{s}'] for s in seeds})), ppy)
                for r in RULES}))
    return pd.DataFrame(rows)


def mean_ci(d, n:int=2000) -> str:
    d, rng = np.asarray(d, float), np.random.default_rng(0)
    b = [d[rng.integers(0, len(d), len(d))].mean() for _ in range(n)]
    return f"{d.mean():+.3f} (CI {np.percentile(b, 2.5):+.3f}..{np.percentile(b, 97.5):+.3f})"


def report(label, seeds:pd.DataFrame, mix:pd.DataFrame | None, choice:pd.DataFrame | None):
    if choice is not None:
        print(f"{label}: rival kept by the shipped rule in {int(choice.shipped.sum())} of {len(choice)} runs, "
              f"by the noise-aware rule in {int(choice.noise_aware.sum())}")
    print(f"  single seeds ahead of the best rule: " + ', '.join(f"{r} {(seeds[r] > seeds.best).mean():.0%}" for r in RULES))
    if mix is not None:
        print(f"  mix of the seeds ahead of the best rule: " + ', '.join(f"{r} {(mix[r] > mix.best).mean():.0%}" for r in RULES)
              + f" (of {len(mix)}); paired mix Sortino noise-aware - shipped {mean_ci(mix.noise_aware - mix.shipped)}, "
              f"noise-aware - clone {mean_ci(mix.noise_aware - mix.clone)}, shipped - clone {mean_ci(mix.shipped - mix.clone)}")


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    ap.add_argument('--pair', nargs=5, action='append', default=[], metavar=('LABEL', 'CLONE_RUN', 'CLONE_VARIANT', 'FRESH_RUN', 'FRESH_VARIANT'))
    ap.add_argument('--folders', nargs=2, action='append', default=[], metavar=('CLONE_MODEL', 'RIVAL_MODEL'))
    ap.add_argument('--level', type=float, default=0.95)
    ap.add_argument('--resamples', type=int, default=1000)
    ap.add_argument('--csv', help='write every run\'s validation scores, bootstrap share and choices here')
    a = ap.parse_args(argv)
    if not (a.pair or a.folders): ap.error('give --pair or --folders')
    for clone, rival in a.folders:
        (fa, score, sa), (fb, _, sb) = validation_frame(Path(clone)), validation_frame(Path(rival))
        p = rival_evidence(fa, fb, score, a.resamples)
        print(f"{rival}: validation clone {sa:+.3f}, rival {sb:+.3f}, rival better in {p:.0%} of resamples: "
              f"the noise-aware rule keeps the {'rival' if sb > sa and p >= a.level else 'clone'}")
    all_seeds, all_mix, all_choice = [], [], []
    for label, run, var, fresh_run, fresh_var in a.pair:
        print(f"{label}:")
        choice = choices(run, var, fresh_run, fresh_var, a.level, a.resamples).assign(period=label)
        seeds, mix = per_seed(run, var, choice, fresh_run, fresh_var), mixes(run, var, fresh_run, fresh_var, choice)
        report(label, seeds, mix, choice)
        all_choice.append(choice); all_seeds.append(seeds.assign(window=label + ' ' + seeds.window))
        if mix is not None: all_mix.append(mix.assign(window=label + ' ' + mix.window))
    if len(a.pair) > 1:
        report('pooled', pd.concat(all_seeds), pd.concat(all_mix) if len(all_mix) == len(a.pair) else None, pd.concat(all_choice))
    if a.csv: pd.concat(all_choice).to_csv(a.csv, index=False)


if __name__ == '__main__': main()
