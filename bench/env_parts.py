"""Where an env step's CPU time goes (process time, so it holds better under load than wall time): the single
`FastPositionEnv` (lookback 32, random valid actions through `action_masks()`) and one call of `BatchedPositionEnv`
at N=1024 (lookback 32 and 1), split into its parts.

    python bench/env_parts.py [--steps 200000] [--calls 400]
"""
import argparse, os, sys, time
import numpy as np
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from env_throughput import prepare, rate_single
from riskrl_nb.core.config import RunConfig
from riskrl_nb.sim import vec_env as V

pt = time.process_time


def per_call(f, n):
    c0 = pt()
    for _ in range(n): f()
    return (pt() - c0) / n * 1e6


def single(data, period, steps):
    "CPU-us per step of the whole masked loop, of the loop without the `action_masks()` call, of the kernel calls alone; and of the parts."
    cfg = RunConfig(); cfg.env.lookback = 32
    env = V.FastPositionEnv(data, period, cfg)
    acts = np.random.default_rng(0).integers(0, 2, steps)
    rate_single(env, acts[:100], 0.01, True)
    st, k, o, rows = env._state, env._kernel, env._out, env._mask_rows
    def loop(kind):
        env.reset(seed=0); c0 = pt()
        for a in acts:
            if kind == 'whole step + action_masks()':
                m = env.action_masks(); a = 0 if a == 0 else (1 if m[1] else 2)
                _, _, term, trunc, _ = env.step(a)
            elif kind == 'whole step, mask read in place':
                a = 0 if a == 0 else (1 if env._mask_rows[env._row][1] else 2)
                _, _, term, trunc, _ = env.step(a)
            else:
                a = 0 if a == 0 else (1 if env._mask_block[env._row, 1] else 2)
                o[V.A_0] = a; k(st, V.STEP); term, trunc = o[V.O_TERMINATED] != 0, o[V.O_TRUNCATED] != 0   # STEP: the same row again
            if term or trunc: env.reset()
        return (pt() - c0) / len(acts) * 1e6
    rows = {kind: loop(kind) for kind in ('whole step + action_masks()', 'whole step, mask read in place', 'kernel STEP calls only')}
    rows['env.reset() (every ~17 steps here)'] = per_call(env.reset, 20000)
    rows['kernel RESET call'] = per_call(lambda: k(st, V.RESET), 20000)   # the same row again
    rows['action_masks()'] = per_call(env.action_masks, 100000)
    rows['observation (a row of the block)'] = per_call(lambda: env._rows[3], 100000)
    return rows


def batched(data, period, lookback, calls):
    "CPU-us per call of N=1024: action_masks(), the random valid actions, the kernel STEP (into a fresh observation array), the rest of step_wait (rewards, flags, infos)."
    cfg = RunConfig(); cfg.env.lookback = lookback
    b = V.BatchedPositionEnv(data, period, cfg, n_envs=1024)
    b.seed(0); b.reset(); b.step(np.zeros(1024, np.int64))
    rng = np.random.default_rng(0); u = [rng.integers(0, 2, 1024) for _ in range(50)]
    T = dict(masks=0., actions=0., kernel=0., rest=0.)
    c00, n = pt(), 0
    while n < calls:
        for k in range(50):
            t0 = pt(); m = b.action_masks(); t1 = pt()
            a = np.where(u[k] == 0, 0, np.where(m[:, 1], 1, 2)); t2 = pt()
            b.step_async(a); b.io[V.A_0] = a; obs = b._fresh_out(); b._kernel_step(); t3 = pt()
            b._outputs(obs)   # the rest of step_wait (the kernel wrote `obs`: no copy)
            t4 = pt()
            T['masks'] += t1 - t0; T['actions'] += t2 - t1; T['kernel'] += t3 - t2; T['rest'] += t4 - t3; n += 1
    total = pt() - c00
    rows = {f'{k} (us per call)': v / n * 1e6 for k, v in T.items()}
    rows['total (us per call)'] = total / n * 1e6
    rows['env-steps per CPU-second (M)'] = 1024 * n / total / 1e6
    rows['episodes ended per call'] = int(b.io[V.O_TERMINATED].sum() + b.io[V.O_TRUNCATED].sum())
    return rows


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('--steps', type=int, default=200_000)
    p.add_argument('--calls', type=int, default=400)
    a = p.parse_args()
    btc, data, period = prepare()
    print(f'load average {os.getloadavg()[0]:.1f}\n\nFastPositionEnv, lookback 32, random valid actions (CPU-us per step)')
    for k, v in single(data, period, a.steps).items(): print(f'  {k:40s} {v:8.2f}')
    for lb in (32, 1):
        print(f'\nBatchedPositionEnv N=1024, lookback {lb}')
        for k, v in batched(data, period, lb, a.calls).items(): print(f'  {k:40s} {v:10.2f}')


if __name__ == '__main__':
    main()
