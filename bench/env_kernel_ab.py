"""A/B of the batched env's kernel against another git revision's, in one process (CPU time per call, N=1024).

Loads `riskrl_nb/sim/vec_env.py` as committed at REV (default `main`) next to the current one (see
`env_throughput.load_ref_vec_env`) and alternates the two: the kernel STEP alone, then the bench's whole masked step
(`action_masks()`, random valid actions, `step`). Prints medians, their ratio and the load average.

    python bench/env_kernel_ab.py [--lookbacks 32,1] [--reps 3] [--seconds 1] [--ref main]
"""
import argparse, os, sys, time
import numpy as np
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from env_throughput import prepare, load_ref_vec_env
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


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('--lookbacks', default='32,1'); p.add_argument('--reps', type=int, default=3)
    p.add_argument('--seconds', type=float, default=1.0); p.add_argument('--ref', default='main')
    a = p.parse_args()
    old = load_ref_vec_env(a.ref) or V
    _, data, period = prepare()
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


if __name__ == '__main__':
    main()
