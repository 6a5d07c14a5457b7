"""Batched env (N=1024, lookback 32, random valid actions through the mask) in env-steps per CPU-second: this checkout
against an older commit, as alternating child processes on the same data (CPU time of each child's timed loop).

    python bench/env_vs_commit.py [--ref c101157] [--reps 2] [--seconds 3] [--n 1024] [--lookback 32]

The older code is extracted with `git archive` into a temporary folder and run with this venv (its numba kernels compile
once, in that folder's cache). Both children build BTC hourly features as bench/env_throughput.py does and step the same
way (`action_masks()`, then a random valid action: hold or the one close the mask allows).
"""
import argparse, os, subprocess, sys, tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT/'bench'))
from service_profile import package_at   # noqa: E402
CHILD = r"""
import sys, time, numpy as np
sys.path.insert(0, sys.argv[1])
from env_throughput import prepare
from riskrl_nb.core.config import RunConfig
from riskrl_nb.sim.vec_env import BatchedPositionEnv
n, lookback, seconds = int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4])
btc, data, period = prepare()
cfg = RunConfig(); cfg.env.lookback = lookback
v = BatchedPositionEnv(data, period, cfg, n_envs=n)
rng = np.random.default_rng(0); u = [rng.integers(0, 2, n) for _ in range(50)]
v.seed(0); v.reset()
for k in range(20): m = v.action_masks(); v.step(np.where(u[k] == 0, 0, np.where(m[:, 1], 1, 2)))   # compile / load, warm caches
calls, c0 = 0, time.process_time()
while time.process_time() - c0 < seconds:
    for k in range(50):
        m = v.action_masks(); v.step(np.where(u[k] == 0, 0, np.where(m[:, 1], 1, 2)))
    calls += 50
print(calls * n / (time.process_time() - c0))
"""


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--ref', default='c101157', help='older commit (default: main before issue 14 round 3)')
    ap.add_argument('--reps', type=int, default=2)
    ap.add_argument('--seconds', type=float, default=3.0)
    ap.add_argument('--n', type=int, default=1024)
    ap.add_argument('--lookback', type=int, default=32)
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix='riskrl-envref-'))
    ref = package_at(args.ref, tmp/'ref')
    envs = {'ref': dict(os.environ, PYTHONPATH=str(ref)), 'now': dict(os.environ, PYTHONPATH=str(ROOT))}
    rate = {k: [] for k in envs}
    for rep in range(args.reps):
        for code in (['ref', 'now'] if rep % 2 == 0 else ['now', 'ref']):
            p = subprocess.run([sys.executable, '-c', CHILD, str(ROOT/'bench'), str(args.n), str(args.lookback), str(args.seconds)],
                               env=envs[code], cwd=tmp, capture_output=True, text=True)
            if p.returncode: raise SystemExit(p.stderr[-2000:])
            rate[code].append(float(p.stdout.split()[-1]))
    load = os.getloadavg()[0]
    print(f"BatchedPositionEnv N={args.n}, lookback {args.lookback}, random valid actions via action_masks(): env-steps per CPU-second "
          f"(best of {args.reps}; load average {load:.1f}, shared machine)")
    for k, label in [('ref', f'{args.ref} (reference)'), ('now', 'this checkout')]:
        print(f"  {label:24s} {max(rate[k]) / 1e6:6.2f} M   (runs: {', '.join(f'{r / 1e6:.2f}' for r in rate[k])})")
    print(f"  ratio: {max(rate['now']) / max(rate['ref']):.2f}x; target 2 M per CPU-second: {'met' if max(rate['now']) >= 2e6 else 'missed'}")


if __name__ == '__main__':
    main()
