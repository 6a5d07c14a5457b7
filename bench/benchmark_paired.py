"""Rows of a skill benchmark paired against a reference row, on the same coin-windows and seeds.

    python bench/benchmark_paired.py runs/bench_batched/comparison.csv [--ref oracle_margin_first_bc] [--seeds 0 1 2]

For each other row: coin-windows won (mix of seeds ahead of the best rule) only by the reference / only by the row;
the mix's Sortino, row minus reference, mean with a bootstrap 95 % CI over the coin-windows; and per model (window x
seed, mean Sortino over the coins) row minus reference: mean, standard error, and how many models are worse / equal
(the same saved policy, e.g. the validated clone kept in both) / better. --seeds restricts the per-model figures to
those seeds (e.g. fresh seeds the reference was not selected on).
"""
import argparse
import numpy as np
import pandas as pd


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('comparison')
    ap.add_argument('--ref', default='oracle_margin_first_bc')
    ap.add_argument('--seeds', type=int, nargs='+', default=None)
    args = ap.parse_args()
    c = pd.read_csv(args.comparison)
    seeds = args.seeds or sorted(int(k[len('agent_seed'):]) for k in c.columns if k.startswith('agent_seed'))
    won = c.pivot_table(index=['window', 'coin'], columns='variant', values='beats_agent_mix', aggfunc='first').astype(bool)
    mix = c.pivot_table(index=['window', 'coin'], columns='variant', values='agent_mix')
    per = pd.concat([c.assign(seed=s, s_=c[f'agent_seed{s}']) for s in seeds]).groupby(['variant', 'window', 'seed']).s_.mean().unstack(0)
    print('coin-windows won by window:\n' + c.groupby(['variant', 'window']).beats_agent_mix.sum().unstack().to_string())
    rng = np.random.default_rng(0)
    for v in [v for v in mix.columns if v != args.ref]:
        d = (mix[v] - mix[args.ref]).to_numpy()
        ci = np.percentile([d[rng.integers(0, len(d), len(d))].mean() for _ in range(4000)], [2.5, 97.5])
        m = (per[v] - per[args.ref]).to_numpy()
        print(f"{v}: won only by {args.ref} {int((won[args.ref] & ~won[v]).sum())}, only by the row {int((won[v] & ~won[args.ref]).sum())}; "
              f"mix Sortino row - ref {d.mean():+.3f} (CI {ci[0]:+.3f}..{ci[1]:+.3f}); per model (seeds {seeds}) {m.mean():+.3f} "
              f"± {m.std(ddof=1) / np.sqrt(len(m)):.3f} s.e.: worse {(m < -1e-9).sum()}, equal {(abs(m) <= 1e-9).sum()}, better {(m > 1e-9).sum()} of {len(m)}")


if __name__ == '__main__':
    main()
