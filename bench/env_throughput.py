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
import argparse, importlib.util, os, subprocess, sys, tempfile, time
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


def rate_single(env, actions, seconds, masked=False, cpu=None):
    """Steps per second of a Gymnasium env stepped with `actions` (cycled), resetting when an episode ends.
    masked: ask `env.action_masks()` at every step and play a random *valid* action (uniform over the valid ones:
    hold, or the one close action the mask allows), as an agent with masks does."""
    env.reset(seed=0)
    n, t0, c0 = 0, time.perf_counter(), time.process_time()
    while True:
        for a in actions[:2000]:
            if masked:
                m = env.action_masks()
                a = 0 if a == 0 else (1 if m[1] else 2)
            _, _, term, trunc, _ = env.step(a)
            if term or trunc: env.reset()
        n += 2000
        if time.perf_counter() - t0 > seconds:
            if cpu is not None: cpu[0] += time.process_time() - c0; cpu[1] += n
            return n / (time.perf_counter() - t0)


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
    from riskrl_nb.core.config import RunConfig
    from riskrl_nb.data.candles import load_bundled, period_slice
    from riskrl_nb.data.features import compute_features, FeatureScaler
    from riskrl_nb.data.entries import ema_cross_entries
    from riskrl_nb.sim.execution import Market
    from riskrl_nb.sim.env import MarketData
    btc = load_bundled('BTC', '1h')
    train = period_slice(btc, '2021-01-01', '2022-09-30')
    feats = compute_features(btc)
    x = FeatureScaler.fit(feats.iloc[train]).transform(feats)
    return btc, MarketData(Market.from_candles(btc), x, ema_cross_entries(btc), 'BTC'), (train.start, train.stop)


def load_ref_vec_env(rev):
    """`riskrl_nb/sim/vec_env.py` as committed at git revision `rev` (e.g. `main`), imported as a second module next to
    the current one (its own compiled kernel), so the previous code runs in this same process; None if it is identical."""
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    try: src = subprocess.run(['git', '-C', root, 'show', f'{rev}:riskrl_nb/sim/vec_env.py'], capture_output=True, text=True, check=True).stdout
    except (OSError, subprocess.CalledProcessError) as e:
        print(f'no reference rows: git show {rev}:riskrl_nb/sim/vec_env.py failed ({e})'); return None
    import riskrl_nb.sim.vec_env as current
    if src == open(current.__file__).read(): return None
    path = os.path.join(tempfile.mkdtemp(prefix='riskrl-ref-'), 'vec_env_ref.py')
    with open(path, 'w') as f: f.write(src)
    spec = importlib.util.spec_from_file_location('riskrl_nb.sim.vec_env_ref', path)   # relative imports resolve in riskrl_nb.sim
    mod = importlib.util.module_from_spec(spec); sys.modules[spec.name] = mod; spec.loader.exec_module(mod)
    return mod


LOOKBACK = 32   # the headline setting: a 32-bar window in every observation (gym-anytrading: window_size=32)


def env_rows(seconds, rounds, ref=None):
    from gym_anytrading.envs import StocksEnv, ForexEnv
    from riskrl_nb.core.config import RunConfig
    from riskrl_nb.sim.env import PositionRiskEnv
    from riskrl_nb.sim.vec_env import BatchedPositionEnv, FastPositionEnv
    btc, data, period = prepare()
    old = load_ref_vec_env(ref) if ref else None
    ohlc = btc.rename(columns=str.capitalize).reset_index(drop=True)
    rng = np.random.default_rng(0)
    acts3, acts2 = rng.integers(0, 2, 2000), rng.integers(0, 2, 2000)   # acts3: 0 hold / 1 the allowed close
    cfg = RunConfig()
    cfg.env.lookback = LOOKBACK
    w = LOOKBACK
    make = {   # name: (env, actions, masked)
        'trivial reference env': lambda: (TrivialEnv(w * data.features.shape[1] + 7), rng.integers(0, 3, 2000), False),
        f'gym-anytrading StocksEnv (window {w})': lambda: (StocksEnv(df=ohlc, window_size=w, frame_bound=(w, len(ohlc))), acts2, False),
        f'gym-anytrading ForexEnv (window {w})': lambda: (ForexEnv(df=ohlc, window_size=w, frame_bound=(w, len(ohlc)), unit_side='left'), acts2, False),
        f'PositionRiskEnv (readable; lookback {w}, masks)': lambda: (PositionRiskEnv(data, period, cfg), acts3, True),
        f'FastPositionEnv (compiled; lookback {w}, masks)': lambda: (FastPositionEnv(data, period, cfg), acts3, True),
        'FastPositionEnv (lookback 1, no masks, uniform)': lambda: (FastPositionEnv(data, period, RunConfig()), rng.integers(0, 3, 2000), False),
    }
    if old is not None:
        make[f'FastPositionEnv @{ref} (lookback {w}, masks)'] = lambda: (old.FastPositionEnv(data, period, cfg), acts3, True)
    batched = {f'N={n} (lookback {w}, masks)': BatchedPositionEnv(data, period, cfg, n_envs=n) for n in (64, 1024)}
    batched['N=1024 (lookback 1 = default, masks)'] = BatchedPositionEnv(data, period, RunConfig(), n_envs=1024)
    if old is not None:
        batched[f'N=1024 @{ref} (lookback {w}, masks)'] = old.BatchedPositionEnv(data, period, cfg, n_envs=1024)
    envs = {name: f() for name, f in make.items()}
    for env, acts, masked in envs.values():   # compile / load the kernels first
        if type(env).__name__ == 'FastPositionEnv': rate_single(env, acts[:100], 0.01, masked)
    results = {name: [] for name in list(envs) + [f'BatchedPositionEnv {n}' for n in batched]}
    cpu1 = {name: [0.0, 0] for name in envs}
    cpu = {n: [0.0, 0] for n in batched}
    for r in range(rounds):   # interleaved rounds: a load spike from other processes hits every row alike
        for name, (env, acts, masked) in envs.items(): results[name].append(rate_single(env, acts, seconds, masked, cpu1[name]))
        for n, venv in batched.items():
            c0 = time.process_time(); calls = rate_batched_masked(venv, rng, seconds)
            cpu[n][0] += time.process_time() - c0; cpu[n][1] += calls
            results[f'BatchedPositionEnv {n}'].append(calls / seconds)
    rows = {name: float(np.median(v)) for name, v in results.items()}
    rows.update({f'Batched {n} per CPU-s': cpu[n][1] / cpu[n][0] for n in batched})
    return rows, {name: c / k * 1e6 for name, (c, k) in cpu1.items()}


def rate_batched_masked(venv, rng, seconds):
    "Env-steps in `seconds` of a batched env, random valid actions from `action_masks()` at every call (accounts x calls)."
    venv.seed(0); venv.reset()
    u = [rng.integers(0, 2, venv.num_envs) for _ in range(50)]
    venv.step(np.zeros(venv.num_envs, np.int64))   # the first call loads the compiled kernel
    calls, t0 = 0, time.perf_counter()
    while time.perf_counter() - t0 < seconds:
        for k in range(50):
            m = venv.action_masks()
            venv.step(np.where(u[k] == 0, 0, np.where(m[:, 1], 1, 2)))
        calls += 50
    return calls * venv.num_envs * seconds / (time.perf_counter() - t0)


def ppo_rows(timesteps):
    "MaskablePPO timesteps/s with the default DummyVecEnv vs the batched env (same PPO settings per pair)."
    import torch
    from riskrl_nb.core.config import load_config
    from riskrl_nb.agents.training import make_train_env
    from riskrl_nb.sim.prepare import prepare_data, load_frames
    from riskrl_nb.agents.algos import get_algo
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
    p.add_argument('--ref', default='main', help="git revision whose vec_env.py runs as reference rows in this process ('': none)")
    a = p.parse_args()
    if a.quick: a.seconds, a.rounds, a.ppo_steps = 0.5, 1, 0
    load0 = os.getloadavg()
    rows, cpu_us = env_rows(a.seconds, a.rounds, a.ref)
    w = LOOKBACK
    ref, any_ = rows['trivial reference env'], rows[f'gym-anytrading StocksEnv (window {w})']
    print(f"\nenv steps per second (one process; {os.cpu_count()} cores; load average {load0[0]:.1f} before, "
          f"{os.getloadavg()[0]:.1f} after; median of {a.rounds} interleaved rounds of {a.seconds:.1f} s)\n")
    print(f"{'env':52s} {'steps/s':>12s} {'x trivial':>10s} {'x anytrading':>13s} {'CPU us/step':>12s}")
    for name, v in rows.items():
        c = f'{cpu_us[name]:12.2f}' if name in cpu_us else ''
        print(f"{name:52s} {v:12,.0f} {v / ref:10.2f} {v / any_:13.2f} {c}")
    fa = f'FastPositionEnv @{a.ref} (lookback {w}, masks)'
    if fa in rows:
        new, old = f'FastPositionEnv (compiled; lookback {w}, masks)', f'Batched N=1024 @{a.ref} (lookback {w}, masks) per CPU-s'
        print(f"\nthis code vs {a.ref} in this process: FastPositionEnv {rows[new] / rows[fa]:.2f}x steps/s, "
              f"{cpu_us[fa] / cpu_us[new]:.2f}x CPU per step ({cpu_us[fa]:.2f} -> {cpu_us[new]:.2f} us); gym-anytrading "
              f"{cpu_us[f'gym-anytrading StocksEnv (window {w})']:.2f} CPU-us per step; batched N=1024 lookback {w} "
              f"{rows[f'Batched N=1024 (lookback {w}, masks) per CPU-s'] / rows[old]:.2f}x env-steps per CPU-second")
    single = rows[f'FastPositionEnv (compiled; lookback {w}, masks)'] / any_
    batched, batched1 = rows[f'Batched N=1024 (lookback {w}, masks) per CPU-s'], rows['Batched N=1024 (lookback 1 = default, masks) per CPU-s']
    met = lambda ok: 'met' if ok else 'MISSED'
    print(f"\ntargets: single env (lookback {w}, valid actions through action_masks()) >= 1.5x gym-anytrading (window {w}): "
          f"FastPositionEnv {single:.2f}x ({met(single >= 1.5)}; by CPU per step "
          f"{cpu_us[f'gym-anytrading StocksEnv (window {w})'] / cpu_us[f'FastPositionEnv (compiled; lookback {w}, masks)']:.2f}x; PositionRiskEnv, the readable reference, "
          f"{rows[f'PositionRiskEnv (readable; lookback {w}, masks)'] / any_:.2f}x); "
          f"batched N=1024 >= 2M env-steps per CPU-second: lookback {w} {batched / 1e6:.2f}M ({met(batched >= 2e6)}), "
          f"lookback 1 {batched1 / 1e6:.2f}M ({met(batched1 >= 2e6)})")
    if a.ppo_steps:
        ppo = ppo_rows(a.ppo_steps)
        print(f"\nMaskablePPO end-to-end (timesteps/s, {a.ppo_steps} timesteps each, 1 torch thread, 10 epochs per rollout)\n")
        for name, v in ppo.items(): print(f"{name:44s} {v:12,.0f}")
        print(f"\nbatched / dummy: N=4 {ppo['BatchedPositionEnv N=4'] / ppo['DummyVecEnv 4 x PositionRiskEnv']:.2f}x, "
              f"N=64 {ppo['BatchedPositionEnv N=64'] / ppo['DummyVecEnv 64 x PositionRiskEnv']:.2f}x")


if __name__ == '__main__':
    main()
