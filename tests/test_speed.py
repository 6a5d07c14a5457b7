"""Issue 14 (speed): inference-only model loads, the service's fast hot path, the batched env's kernels."""
import subprocess, sys, textwrap
from pathlib import Path
import pytest

ROOT = Path(__file__).resolve().parents[1]


def test_model_load_skips_torch_dynamo_and_keeps_a_complete_optimizer(tiny_model):
    code = textwrap.dedent("""
        import sys, torch, numpy as np
        from riskrl_nb.agents.bundle import load_bundle
        m = load_bundle(sys.argv[1]).model
        m.predict(np.zeros(m.observation_space.shape, np.float32), deterministic=True)
        assert 'torch._dynamo' not in sys.modules, 'loading a model folder imported torch._dynamo'
        assert hasattr(torch.optim.Optimizer.add_param_group, '__wrapped__'), 'torch method not restored'
        opt = m.policy.optimizer
        ref = type(opt)(m.policy.parameters(), **opt.defaults)
        assert opt.state_dict() == ref.state_dict(), (opt.state_dict(), ref.state_dict())
        before = [p.detach().clone() for p in m.policy.parameters()]
        loss = sum((p ** 2).sum() for p in m.policy.parameters()); opt.zero_grad(); loss.backward(); opt.step()
        assert any(not torch.equal(a, p) for a, p in zip(before, m.policy.parameters())), 'the optimizer does not train'
        print('ok')
    """)
    r = subprocess.run([sys.executable, '-c', code, str(tiny_model)], capture_output=True, text=True, cwd=ROOT, timeout=300)
    assert r.returncode == 0 and r.stdout.strip() == 'ok', r.stderr[-2000:]


def test_batched_env_window_copy_matches_reference_with_clipping_and_file_start():
    "Lookback 32, features far beyond the clip, a window that starts at the file's first bars: step by step as PositionRiskEnv."
    import numpy as np
    from riskrl_nb.core.config import load_config
    from riskrl_nb.data.candles import load_bundled
    from riskrl_nb.data.features import compute_features, FeatureScaler
    from riskrl_nb.data.entries import ema_cross_entries
    from riskrl_nb.sim.execution import Market
    from riskrl_nb.sim.env import MarketData
    from riskrl_nb.sim.vec_env import BatchedPositionEnv, compare_with_reference
    df = load_bundled('BTC', '1h').iloc[:4000]
    feats = compute_features(df)
    x = FeatureScaler.fit(feats.iloc[:3000]).transform(feats) * 30   # most values beyond the observation's clip of 10
    assert (np.abs(x) > 10).mean() > 0.3
    sig = np.array(ema_cross_entries(df, side='both')).copy()
    sig[[3, 9, 17]] = [1, -1, 1]   # entries in the first bars: the 32-bar window reaches before the file's start
    data = MarketData(Market.from_candles(df), x, sig, 'BTC')
    cfg = load_config(overrides=dict(env=dict(lookback=32)))
    trades = compare_with_reference(data, (0, 4000), cfg, [(0, 1500), (2000, 3900)],
                                    lambda rng, masks: np.where(rng.random(len(masks)) < 0.3, rng.integers(0, 3, len(masks)), 0))
    assert len(trades) >= 5
    env = BatchedPositionEnv(data, (0, 4000), cfg, n_envs=2)
    obs = env.reset()
    assert np.abs(obs).max() <= 10 and (np.abs(obs) == 10).any()


def test_masks_written_with_the_step_equal_the_kernels_masks_mode_on_real_data():
    """`action_masks()` returns the masks the last STEP/RESET call wrote (no kernel call of its own): at every step they
    equal the kernel's MASKS mode called through numba's generic dispatch (serial and parallel kernels, auto-reset,
    FastPositionEnv, and before the first reset). Fails if a STEP or RESET path stops writing them."""
    import numpy as np
    from riskrl_nb.core.config import load_config
    from riskrl_nb.data.candles import load_bundled
    from riskrl_nb.data.features import compute_features, FeatureScaler
    from riskrl_nb.data.entries import ema_cross_entries
    from riskrl_nb.sim.execution import Market
    from riskrl_nb.sim.env import MarketData
    from riskrl_nb.sim.vec_env import BatchedPositionEnv, FastPositionEnv, kernel, MASKS
    df = load_bundled('BTC', '1h').iloc[:6000]
    feats = compute_features(df)
    data = MarketData(Market.from_candles(df), FeatureScaler.fit(feats.iloc[:4000]).transform(feats), ema_cross_entries(df), 'BTC')
    cfg = load_config(overrides=dict(env=dict(lookback=32)))
    rng = np.random.default_rng(0)
    for parallel in (False, True):
        env = BatchedPositionEnv(data, (0, 6000), cfg, n_envs=16, episode_bars=300, parallel=parallel)
        m = env.action_masks(); kernel(env.state, MASKS)
        np.testing.assert_array_equal(m, env._masks)   # before the first reset too
        env.seed(0); env.reset()
        flips, ends = 0, 0
        for t in range(250):
            m = env.action_masks()
            kernel(env.state, MASKS)   # the generic dispatcher recomputes every account's mask into env._masks
            np.testing.assert_array_equal(m, env._masks, err_msg=f'parallel={parallel} step {t}')
            if t: flips += int((m[:, 1] != prev[:, 1]).sum())
            prev = m
            _, _, done, _ = env.step(np.where(rng.random(16) < 0.3, np.where(m[:, 1], 1, 2), 0))
            ends += int(done.sum())
        assert flips > 50 and ends > 5, (flips, ends)   # masks change often and episodes restart: stale masks would show
    fast = FastPositionEnv(data, (0, 6000), cfg)
    m = fast.action_masks().copy(); kernel(fast._state, MASKS)   # MASKS writes the current row of the mask block again
    np.testing.assert_array_equal(m, fast.action_masks(), err_msg='FastPositionEnv before the first reset')
    fast.reset(seed=1)
    for t in range(400):
        m = fast.action_masks().copy(); kernel(fast._state, MASKS)
        np.testing.assert_array_equal(m, fast.action_masks(), err_msg=f'FastPositionEnv step {t}')
        _, _, term, trunc, _ = fast.step(int(np.flatnonzero(m)[-1]) if rng.random() < 0.3 else 0)
        if term or trunc: fast.reset()


def test_canonical_json_is_unchanged_by_the_fast_type_checks():
    "The audit's canonical JSON with the exact-type fast path equals the original rules on every kind of value."
    import json, math
    from collections import OrderedDict
    import numpy as np
    from riskrl_nb.serve.audit import canonical_json
    def original(x):
        if isinstance(x, float) and not math.isfinite(x): return None
        if isinstance(x, dict): return {str(k): original(v) for k, v in x.items()}
        if isinstance(x, (list, tuple)): return [original(v) for v in x]
        return x
    class Sub(float): pass
    payloads = [{'b': 1, 'a': float('nan')}, {1: 'x', 2.5: [1, (2, float('inf'))], 'n': None, 't': True},
                {'o': OrderedDict(z=np.float64('nan'), a=np.float64(1.5)), 'f': np.float32(2.5), 's': Sub('-inf'), 'k': {True: 1, None: 2}},
                [{'x': [float('-inf'), {'y': 3}]}], 'plain', 7, None, float('nan')]
    for p in payloads:
        assert canonical_json(p) == json.dumps(original(p), sort_keys=True, separators=(',', ':'), allow_nan=False, default=str), p


def test_batched_env_returns_a_new_observation_array_every_step_that_later_steps_leave_alone():
    """The kernel writes each step's observations into a fresh array that `step` hands over without a copy: every
    returned array (and every terminal observation) keeps its values while the env steps on, equal to a twin env's
    copies taken at once. A shared or recycled buffer would be overwritten by the next steps and fail."""
    import numpy as np
    from riskrl_nb.core.config import load_config
    from riskrl_nb.data.candles import load_bundled
    from riskrl_nb.data.features import compute_features, FeatureScaler
    from riskrl_nb.data.entries import ema_cross_entries
    from riskrl_nb.sim.execution import Market
    from riskrl_nb.sim.env import MarketData
    from riskrl_nb.sim.vec_env import BatchedPositionEnv
    df = load_bundled('BTC', '1h').iloc[:4000]
    feats = compute_features(df)
    data = MarketData(Market.from_candles(df), FeatureScaler.fit(feats.iloc[:3000]).transform(feats), ema_cross_entries(df), 'BTC')
    cfg = load_config(overrides=dict(env=dict(lookback=32)))
    def run(keep):   # the kernel's random windows come from one global generator: the twins run one after the other
        env, rng = BatchedPositionEnv(data, (0, 4000), cfg, n_envs=8, episode_bars=300), np.random.default_rng(0)
        env.seed(3)
        obs, terms = [keep(env.reset())], []
        for _ in range(300):
            m = env.action_masks()
            o, _, done, infos = env.step(np.where(rng.random(8) < 0.3, np.where(m[:, 1], 1, 2), 0))
            obs.append(keep(o)); terms += [keep(infos[e]['terminal_observation']) for e in np.flatnonzero(done)]
        return obs, terms
    kept, terms = run(lambda x: x)
    copies, term_copies = run(np.copy)
    assert len(terms) >= 8
    assert len({id(o) for o in kept}) == len(kept) and not np.shares_memory(kept[-1], kept[-2])
    for k, (x, y) in enumerate(zip(kept, copies)): np.testing.assert_array_equal(x, y, err_msg=f'step {k}')
    for x, y in zip(terms, term_copies): np.testing.assert_array_equal(x, y)
    assert np.abs(np.diff(np.stack(kept), axis=0)).sum() > 0   # the observations do change from step to step


def test_fast_env_returns_observations_that_later_steps_and_resets_leave_alone():
    """FastPositionEnv's kernel writes each step's (and reset's) observation and mask into the next row of two blocks;
    `step` returns the observation row and `action_masks()` the (read-only) mask row as they are (no copy; new blocks every
    OBS_BLOCK_ROWS steps): every returned observation and mask keeps its values while the env steps and resets on, equal
    to a twin env's copies taken at once, and no two consecutive ones share memory. A row written twice (a pointer that
    does not move, or a block used again) would fail."""
    import numpy as np
    from riskrl_nb.core.config import load_config
    from riskrl_nb.data.candles import load_bundled
    from riskrl_nb.data.features import compute_features, FeatureScaler
    from riskrl_nb.data.entries import ema_cross_entries
    from riskrl_nb.sim.execution import Market
    from riskrl_nb.sim.env import MarketData
    from riskrl_nb.sim.vec_env import FastPositionEnv, OBS_BLOCK_ROWS
    df = load_bundled('BTC', '1h').iloc[:4000]
    feats = compute_features(df)
    data = MarketData(Market.from_candles(df), FeatureScaler.fit(feats.iloc[:3000]).transform(feats), ema_cross_entries(df), 'BTC')
    cfg = load_config(overrides=dict(env=dict(lookback=32)))
    def run(keep):
        env, rng = FastPositionEnv(data, (0, 4000), cfg, episode_bars=300), np.random.default_rng(0)
        obs, masks, resets = [keep(env.reset(seed=3)[0])], [], 0
        for _ in range(5 * OBS_BLOCK_ROWS):
            m = env.action_masks()
            assert m is env.action_masks() and not m.flags.writeable   # the same read-only row until the next call
            masks.append(keep(m))
            o, _, term, trunc, _ = env.step(int((1 if m[1] else 2) if rng.random() < 0.3 else 0))
            obs.append(keep(o))
            if term or trunc: obs.append(keep(env.reset()[0])); resets += 1
        return obs, masks, resets
    kept, kept_masks, resets = run(lambda x: x)
    copies, mask_copies, _ = run(np.copy)
    assert resets >= 3 and len(kept) > 5 * OBS_BLOCK_ROWS
    for k, (x, y) in enumerate(zip(kept, copies)): np.testing.assert_array_equal(x, y, err_msg=f'observation {k}')
    for k, (x, y) in enumerate(zip(kept_masks, mask_copies)): np.testing.assert_array_equal(x, y, err_msg=f'mask {k}')
    assert not any(np.shares_memory(x, y) for x, y in zip(kept, kept[1:]))
    assert not any(np.shares_memory(x, y) for x, y in zip(kept_masks, kept_masks[1:]))
    assert len({tuple(m) for m in mask_copies}) > 1   # the masks do change
    assert (np.abs(np.diff(np.stack(kept), axis=0)).sum(axis=1) > 0).mean() > 0.9   # they do change from step to step
