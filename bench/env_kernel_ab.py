"""A/B of the batched env's kernel against another git revision's, in one process (CPU time per call, N=1024).

Loads `riskrl_nb/sim/vec_env.py` as committed at REV (default `main`) next to the current one (see
`env_throughput.load_ref_vec_env`) and alternates the two: the kernel STEP alone, then the bench's whole masked step
(`action_masks()`, random valid actions, `step`). Prints medians, their ratio and the load average. Then the single
`FastPositionEnv` (lookback 32, random valid actions through `action_masks()`, the env_throughput loop) alternating
with REV's and with gym-anytrading's StocksEnv (window 32) in short turns: median CPU-us per step and the ratios.

    python bench/env_kernel_ab.py [--lookbacks 32,1] [--reps 3] [--seconds 1] [--ref main] [--single-reps 15]
"""
import argparse, os, sys, time
import numpy as np
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from env_throughput import prepare, load_ref_vec_env, rate_single
from riskrl_nb.core.config import RunConfig
from riskrl_nb.sim import vec_env as V

pt = time.process_time


def make(M, data, period, lookback):
    cfg = RunConfig(); cfg.env.lookback = lookback
    b = M.BatchedPositionEnv(data, period, cfg, n_envs=1024)
    b.seed(0); b.reset(); b.step(np.zeros(1024, np.int64))   # compiles / loads the kernel
    return b


def run(b, M, u, seconds, whole):
    "CPU-us per call: the kernel STEP alone (whole=False) or action_masks() + valid random actions + step()."
    c0, n = pt(), 0
    while pt() - c0 < seconds:
        for k in range(len(u)):
            m = b.action_masks(); a = np.where(u[k] == 0, 0, np.where(m[:, 1], 1, 2))
            if whole: b.step(a)
            else: b.io[M.A_0] = a; b._kernel_step()
            n += 1
    return (pt() - c0) / n * 1e6


def single(old, btc, data, period, reps):
    "CPU-us per masked step of FastPositionEnv (this code and `old`) and of gym-anytrading's StocksEnv, in alternating turns of ~0.3 s."
    from gym_anytrading.envs import StocksEnv
    cfg = RunConfig(); cfg.env.lookback = 32
    rng = np.random.default_rng(0)
    acts = rng.integers(0, 2, 2000)
    ohlc = btc.rename(columns=str.capitalize).reset_index(drop=True)
    envs = {'this code': (V.FastPositionEnv(data, period, cfg), True), 'ref': (old.FastPositionEnv(data, period, cfg), True),
            'gym-anytrading': (StocksEnv(df=ohlc, window_size=32, frame_bound=(32, len(ohlc))), False)}
    for env, masked in envs.values(): rate_single(env, acts[:100], 0.01, masked)   # compile / load
    us = {k: [] for k in envs}
    for _ in range(reps):
        for k, (env, masked) in envs.items():
            cpu = [0.0, 0]; rate_single(env, acts, 0.3, masked, cpu); us[k].append(cpu[0] / cpu[1] * 1e6)
    med = {k: float(np.median(v)) for k, v in us.items()}
    paired = np.array(us['gym-anytrading']) / np.array(us['this code'])
    return med, paired


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('--lookbacks', default='32,1'); p.add_argument('--reps', type=int, default=3)
    p.add_argument('--seconds', type=float, default=1.0); p.add_argument('--ref', default='main')
    p.add_argument('--single-reps', type=int, default=15, help='turns of the single-env A/B (0: skip it)')
    a = p.parse_args()
    old = load_ref_vec_env(a.ref) or V
    btc, data, period = prepare()
    rng = np.random.default_rng(0); u = [rng.integers(0, 2, 1024) for _ in range(50)]
    for lb in [int(x) for x in a.lookbacks.split(',')]:
        envs = {'this code': (make(V, data, period, lb), V), a.ref: (make(old, data, period, lb), old)}
        for whole in (False, True):
            r = {k: [] for k in envs}
            for _ in range(a.reps):
                for k, (b, M) in envs.items(): r[k].append(run(b, M, u, a.seconds, whole))
            new, ref = float(np.median(r['this code'])), float(np.median(r[a.ref]))
            print(f"lookback {lb:2d} {'masks + actions + step' if whole else 'kernel STEP only':22s}: this code {new:5.0f} us, "
                  f"{a.ref} {ref:5.0f} us per call, {ref / new:.2f}x; {1024 / new:.2f}M env-steps per CPU-s "
                  f"(load average {os.getloadavg()[0]:.1f})", flush=True)

    if a.single_reps:
        med, paired = single(old, btc, data, period, a.single_reps)
        print(f"FastPositionEnv lookback 32, masked random valid actions, CPU-us per step (median of {a.single_reps} alternating turns): "
              f"this code {med['this code']:.2f}, {a.ref} {med['ref']:.2f} ({med['ref'] / med['this code']:.2f}x); gym-anytrading StocksEnv "
              f"{med['gym-anytrading']:.2f}: {med['gym-anytrading'] / med['this code']:.2f}x gym-anytrading (per turn: "
              f"{np.min(paired):.2f}-{np.max(paired):.2f}x, median {np.median(paired):.2f}x; {a.ref}: "
              f"{med['gym-anytrading'] / med['ref']:.2f}x) (load average {os.getloadavg()[0]:.1f})", flush=True)


if __name__ == '__main__':
    main()
