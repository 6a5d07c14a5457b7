"""The fresh rival on one coin: walk-forwards of each coin run with today's default and with `train.fresh_rival: false`,
paired window by window and seed by seed.

    for c in BTC ETH ...; do
      papermill nbs/experiments/walk_forward.ipynb R/wf_${c}_rival/executed.ipynb -p out_dir R/wf_${c}_rival \\
          -p data_path riskrl_nb/candles/hourly/$c.csv.gz -p steps 50000 -y "{seeds: [0, 1, 2]}"
      papermill ... R/wf_${c}_clone ... -y "{seeds: [0, 1, 2], overrides: {train: {fresh_rival: false}}}"
    done
    python bench/rival_single_coin.py R/wf_{coin}_rival R/wf_{coin}_clone BTC ETH ... [--csv FILE]

Per (coin, window, seed): the test-window return with the rival (where validation kept it) minus the clone-only run's
(exactly 0 where validation kept the clone: the same policy), and the noise-aware rule's difference (`train.rival_evidence`
0.95: the rival's difference where the paired bootstrap of the validation bars puts it above the clone in >= 95 % of
resamples, else 0). Means over all runs with 95 % CIs resampling coins (the runs of one coin share its market).
"""
import argparse, json, sys
from pathlib import Path
import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).parent))
from rival_noise import validation_frame, rival_evidence


def window_return(frame:pd.DataFrame, col:str) -> float:
    return float((1 + frame[col].fillna(0.0)).prod() - 1)


def runs(rival_dir:Path, clone_dir:Path, coin:str, level:float, resamples:int) -> list:
    rows = []
    for w in sorted(p for p in rival_dir.glob('w[0-9][0-9]') if p.is_dir()):
        a, b = pd.read_csv(w/'returns.csv', index_col=0), pd.read_csv(clone_dir/w.name/'returns.csv', index_col=0)
        for col in [c for c in a if c.startswith('agent_seed')]:
            seed = col[len('agent_seed'):]
            rival = json.loads((w/f'seed{seed}'/'meta.json').read_text())['fresh_rival']
            d = window_return(a, col) - window_return(b, col)
            row = dict(coin=coin, window=w.name, seed=int(seed), chosen=rival['chosen'], d_strict=d, evidence=None)
            if rival['chosen'] == 'fresh':
                (fa, score, _), (fb, _, _) = validation_frame(clone_dir/w.name/f'seed{seed}'), validation_frame(w/f'seed{seed}')
                row['evidence'] = rival_evidence(fa, fb, score, resamples)
            elif abs(d) > 1e-12: raise SystemExit(f"{w}/seed{seed}: validation kept the clone, yet its test return differs by {d}")
            row['d_noise_aware'] = d if row['evidence'] is not None and row['evidence'] >= level else 0.0
            rows.append(row)
    return rows


def coin_ci(t:pd.DataFrame, col:str, n:int=2000, seed:int=0) -> tuple[float, float, float]:
    "Mean of `col` over all runs, and a 95 % percentile CI resampling coins with replacement."
    coins, rng = t.coin.unique(), np.random.default_rng(seed)
    groups = {c: t.loc[t.coin == c, col].to_numpy() for c in coins}
    boot = [np.concatenate([groups[c] for c in rng.choice(coins, len(coins))]).mean() for _ in range(n)]
    return float(t[col].mean()), float(np.percentile(boot, 2.5)), float(np.percentile(boot, 97.5))


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    ap.add_argument('rival_pattern', help="folder of the default's walk-forward, with {coin}")
    ap.add_argument('clone_pattern', help="folder of the fresh_rival: false walk-forward, with {coin}")
    ap.add_argument('coins', nargs='+')
    ap.add_argument('--level', type=float, default=0.95)
    ap.add_argument('--resamples', type=int, default=1000)
    ap.add_argument('--csv')
    a = ap.parse_args(argv)
    rows = []
    for c in a.coins:
        rows += runs(Path(a.rival_pattern.format(coin=c)), Path(a.clone_pattern.format(coin=c)), c, a.level, a.resamples)
        r = [x for x in rows if x['coin'] == c]
        kept = [x for x in r if x['chosen'] == 'fresh']
        print(f"{c}: rival kept in {len(kept)} of {len(r)} runs; won on the test in {sum(x['d_strict'] > 0 for x in kept)}; "
              f"mean difference per run {np.mean([x['d_strict'] for x in r]):+.4f}; noise-aware keeps {sum(x['d_noise_aware'] != 0 for x in r)}", flush=True)
    t = pd.DataFrame(rows)
    kept = t[t.chosen == 'fresh']
    print(f"all: {len(t)} runs, the rival kept in {len(kept)} (won on the test in {(kept.d_strict > 0).sum()}, "
          f"mean {kept.d_strict.mean():+.4f} per kept run); noise-aware keeps {(t.d_noise_aware != 0).sum()}")
    for col, name in (('d_strict', "today's rule"), ('d_noise_aware', 'noise-aware rule')):
        m, lo, hi = coin_ci(t, col)
        print(f"{name} minus clone only, test-window return per run: {m:+.4f} (95 % CI resampling coins {lo:+.4f}..{hi:+.4f})")
    if a.csv: t.to_csv(a.csv, index=False)


if __name__ == '__main__': main()
