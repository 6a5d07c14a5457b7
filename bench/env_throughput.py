"""Environment throughput: env steps per second, all measured in this one process, printed as ratios.

Rows: a trivial reference env (the cost of the Gymnasium step protocol itself), gym-anytrading's StocksEnv and
ForexEnv on the same BTC hourly candles, our reference env `PositionRiskEnv` (the readable Simulation), our
single compiled env `FastPositionEnv`, and the batched `BatchedPositionEnv` with N=64 and N=1024 accounts
(env-steps = accounts x calls). Then PPO end-to-end: MaskablePPO timesteps per second with the default
DummyVecEnv of PositionRiskEnv copies vs the batched env.

    .venv/bin/python bench/env_throughput.py            # ~2-3 minutes on 2 shared cores
    .venv/bin/python bench/env_throughput.py --quick    # shorter timings, no PPO

One step of our envs is one decision of the risk manager (one bar while a position is open; a flat stretch
is skipped in the same step); one step of gym-anytrading is one bar.
"""
import argparse, os, time
import numpy as np
import gymnasium as gym
from gymnasium import spaces


class TrivialEnv(gym.Env):
    "The reference: the Gymnasium step protocol and nothing else (a fixed observation, episodes of 720 steps)."
    def __init__(self, n_obs=19):
        self.observation_space = spaces.Box(-10, 10, (n_obs,), np.float32)
        self.action_space = spaces.Discrete(3)
        self._obs, self.t = np.zeros(n_obs, np.float32), 0
    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed); self.t = 0
        return self._obs.copy(), {}
    def step(self, action):
        self.t += 1
        return self._obs.copy(), 0.0, False, self.t >= 720, {}


def rate_single(env, actions, seconds):
    "Steps per second of a Gymnasium env stepped with `actions` (cycled), resetting when an episode ends."
    env.reset(seed=0)
    n, t0 = 0, time.perf_counter()
    while True:
        for a in actions[:2000]:
            _, _, term, trunc, _ = env.step(a)
            if term or trunc: env.reset()
        n += 2000
        if time.perf_counter() - t0 > seconds: return n / (time.perf_counter() - t0)


def rate_batched(venv, actions, seconds):
    "Env-steps per second of a VecEnv: accounts x calls."
    venv.seed(0); venv.reset()
    venv.step(actions[0])   # the first call loads the compiled kernel
    calls, t0 = 0, time.perf_counter()
    while time.perf_counter() - t0 < seconds:
        for a in actions:
            venv.step(a)
        calls += len(actions)
    return calls * venv.num_envs / (time.perf_counter() - t0)


def prepare():
    from riskrl_nb.core import RunConfig
    from riskrl_nb.data import load_bundled, period_slice
    from riskrl_nb.features import compute_features, FeatureScaler
    from riskrl_nb.entries import ema_cross_entries
    from riskrl_nb.execution import Market
    from riskrl_nb.env import MarketData
    btc = load_bundled('BTC', '1h')
    train = period_slice(btc, '2021-01-01', '2022-09-30')
    feats = compute_features(btc)
    x = FeatureScaler.fit(feats.iloc[train]).transform(feats)
    return btc, MarketData(Market.from_candles(btc), x, ema_cross_entries(btc), 'BTC'), (train.start, train.stop)


def env_rows(seconds, rounds):
    from gym_anytrading.envs import StocksEnv, ForexEnv
    from riskrl_nb.core import RunConfig
    from riskrl_nb.env import PositionRiskEnv
    from riskrl_nb.vec_env import BatchedPositionEnv, FastPositionEnv
    btc, data, period = prepare()
    ohlc = btc.rename(columns=str.capitalize).reset_index(drop=True)
    rng = np.random.default_rng(0)
    acts3, acts2 = rng.integers(0, 3, 2000), rng.integers(0, 2, 2000)
    make = {
        'trivial reference env': lambda: (TrivialEnv(data.features.shape[1] + 7), acts3),
        'gym-anytrading StocksEnv': lambda: (StocksEnv(df=ohlc, window_size=10, frame_bound=(10, len(ohlc))), acts2),
        'gym-anytrading ForexEnv': lambda: (ForexEnv(df=ohlc, window_size=10, frame_bound=(10, len(ohlc)), unit_side='left'), acts2),
        'PositionRiskEnv (reference, Simulation)': lambda: (PositionRiskEnv(data, period, RunConfig()), acts3),
        'FastPositionEnv (compiled, single)': lambda: (FastPositionEnv(data, period, RunConfig()), acts3),
    }
    batched = {n: BatchedPositionEnv(data, period, RunConfig(), n_envs=n) for n in (64, 1024)}
    batched_actions = {n: [rng.integers(0, 3, n) for _ in range(50)] for n in batched}
    envs = {name: f() for name, f in make.items()}
    rate_single(envs['FastPositionEnv (compiled, single)'][0], acts3[:100], 0.01)   # compile / load the kernel first
    results = {name: [] for name in list(envs) + [f'BatchedPositionEnv N={n}' for n in batched]}
    for r in range(rounds):   # interleaved rounds: a load spike from other processes hits every row alike
        for name, (env, acts) in envs.items(): results[name].append(rate_single(env, acts, seconds))
        for n, venv in batched.items(): results[f'BatchedPositionEnv N={n}'].append(rate_batched(venv, batched_actions[n], seconds))
    return {name: float(np.median(v)) for name, v in results.items()}


def ppo_rows(timesteps):
    "MaskablePPO timesteps/s with the default DummyVecEnv vs the batched env (same PPO settings per pair)."
    import torch
    from riskrl_nb.core import load_config
    from riskrl_nb.agent import make_train_env, prepare_data, load_frames, get_algo
    torch.set_num_threads(1)
    rows = {}
    setups = [('DummyVecEnv 4 x PositionRiskEnv', dict(batched=False), dict(n_envs=4, n_steps=512)),
              ('BatchedPositionEnv N=4', dict(batched=True), dict(n_envs=4, n_steps=512)),
              ('DummyVecEnv 64 x PositionRiskEnv', dict(batched=False), dict(n_envs=64, n_steps=32)),
              ('BatchedPositionEnv N=64', dict(batched=True), dict(n_envs=64, n_steps=32))]
    for name, env_over, train_over in setups:
        cfg = load_config(overrides=dict(env=env_over, train=dict(train_over, total_timesteps=timesteps)))
        prepared, _ = prepare_data(load_frames(cfg), cfg)
        vec = make_train_env(cfg, [p for p in prepared if 'train' in p.periods])
        model = get_algo(cfg.train.algo).make(cfg, vec)
        model.learn(min(2048, timesteps))   # warm-up (and the kernel's compile/cache load) outside the timing
        t0 = time.perf_counter()
        model.learn(timesteps, reset_num_timesteps=True)
        rows[name] = timesteps / (time.perf_counter() - t0)
    return rows


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('--seconds', type=float, default=2.0, help='seconds per measurement')
    p.add_argument('--rounds', type=int, default=3, help='interleaved rounds (the median is reported)')
    p.add_argument('--ppo-steps', type=int, default=16_384, help='PPO timesteps per setup (0: skip PPO)')
    p.add_argument('--quick', action='store_true', help='0.5 s per measurement, one round, no PPO')
    a = p.parse_args()
    if a.quick: a.seconds, a.rounds, a.ppo_steps = 0.5, 1, 0
    load0 = os.getloadavg()
    rows = env_rows(a.seconds, a.rounds)
    ref, any_ = rows['trivial reference env'], rows['gym-anytrading StocksEnv']
    print(f"\nenv steps per second (one process; {os.cpu_count()} cores; load average {load0[0]:.1f} before, "
          f"{os.getloadavg()[0]:.1f} after; median of {a.rounds} interleaved rounds of {a.seconds:.1f} s)\n")
    print(f"{'env':44s} {'steps/s':>12s} {'x trivial':>10s} {'x anytrading':>13s}")
    for name, v in rows.items():
        print(f"{name:44s} {v:12,.0f} {v / ref:10.2f} {v / any_:13.2f}")
    single, batched = rows['FastPositionEnv (compiled, single)'] / any_, rows['BatchedPositionEnv N=1024']
    met = lambda ok: 'met' if ok else 'MISSED'
    print(f"\ntargets: single env >= 1.5x gym-anytrading: FastPositionEnv {single:.2f}x ({met(single >= 1.5)}; "
          f"PositionRiskEnv, the readable reference, {rows['PositionRiskEnv (reference, Simulation)'] / any_:.2f}x); "
          f"batched N=1024 >= 2M env-steps/s: {batched / 1e6:.2f}M ({met(batched >= 2e6)})")
    if a.ppo_steps:
        ppo = ppo_rows(a.ppo_steps)
        print(f"\nMaskablePPO end-to-end (timesteps/s, {a.ppo_steps} timesteps each, 1 torch thread, 10 epochs per rollout)\n")
        for name, v in ppo.items(): print(f"{name:44s} {v:12,.0f}")
        print(f"\nbatched / dummy: N=4 {ppo['BatchedPositionEnv N=4'] / ppo['DummyVecEnv 4 x PositionRiskEnv']:.2f}x, "
              f"N=64 {ppo['BatchedPositionEnv N=64'] / ppo['DummyVecEnv 64 x PositionRiskEnv']:.2f}x")


if __name__ == '__main__':
    main()
