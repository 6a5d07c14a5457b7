"""The batched env is faithful to PositionRiskEnv, bit for bit (every action space, shorts, sizing rules, realistic costs,
leverage and limits, a Python reward), and it trains with MaskablePPO through make_train_env."""
import numpy as np
import pytest
from riskrl_nb.core.config import RunConfig, load_config
from riskrl_nb.data.candles import load_bundled, period_slice
from riskrl_nb.data.features import compute_features, FeatureScaler
from riskrl_nb.data.entries import ema_cross_entries
from riskrl_nb.sim.execution import Market
from riskrl_nb.sim.env import MarketData
from riskrl_nb.sim.rewards import register_reward, Reward
from riskrl_nb.sim.vec_env import BatchedPositionEnv, FastPositionEnv, compare_with_reference, compare_fast_with_reference


@pytest.fixture(scope='module')
def btc():
    df = load_bundled('BTC', '1h')
    train = period_slice(df, '2021-01-01', '2022-09-30')
    x = FeatureScaler.fit(compute_features(df).iloc[train]).transform(compute_features(df))
    both = MarketData(Market.from_candles(df), x, ema_cross_entries(df, side='both'), 'BTC')
    return both, (train.start, train.stop)


def windows(period, n=3, length=1500):
    return [(period[0] + 3000 * k + 500, period[0] + 3000 * k + 500 + length) for k in range(n)]


def discrete(rng, masks):   # valid and invalid actions, mostly holds
    return np.where(rng.random(len(masks)) < 0.35, rng.integers(0, 3, len(masks)), 0)


def trims(rng, masks):
    a = discrete(rng, masks)
    return np.stack([a, rng.integers(0, 101, len(masks))], axis=1)


def exposures(rng, masks):
    return np.where(rng.random(len(masks)) < 0.3, rng.uniform(-1.2, 1.2, len(masks)), 0.0).astype(np.float32)[:, None]


REALISTIC = dict(costs=dict(fee_rate=0.0005, maker_fee_rate=0.0002, slippage_bps=2.0, spread_bps=2.0, impact_coef=0.5,
                            funding_rate_8h=0.0001),
                 env=dict(initial_equity=2_000_000.0))

CASES = {
    'discrete3, shorts, realistic costs': (dict(REALISTIC), discrete),
    'multidiscrete trims, lookback 4': (dict(REALISTIC, env=dict(action_space='multidiscrete', lookback=4)), trims),
    'box, 5x leverage, position limit, liquidations': (   # a 20 % maintenance margin: liquidations do happen
        dict(env=dict(action_space='box', max_leverage=5.0, position_size=2.0, max_position_value=40_000.0,
                      maintenance_margin=0.2, exposure_deadband=0.1)), exposures),
    'kelly sizing': (dict(sizing=dict(rule='kelly', kelly_min_trades=3, kelly_window=8)), discrete),
    'atr risk sizing with its stop': (dict(REALISTIC, sizing=dict(rule='atr_risk')), discrete),
    'cvar limit sizing': (dict(sizing=dict(rule='cvar_limit')), discrete),
    'vol target sizing, funding every bar': (dict(costs=dict(funding_rate_8h=0.0003, funding_interval_hours=0),
                                                 sizing=dict(rule='vol_target', max_size=2.0), env=dict(max_leverage=2.0)), discrete),
}

# what each case must have exercised for the comparison to mean something (on the reference's trades)
COVERS = {
    'discrete3, shorts, realistic costs': lambda t: set(t.side) == {'long', 'short'} and (t.funding != 0).any(),
    'multidiscrete trims, lookback 4': lambda t: {'horizon', 'take_profit', 'stop_loss'} <= set(t.exit_reason),
    'box, 5x leverage, position limit, liquidations': lambda t: 'liquidation' in set(t.exit_reason),
    'kelly sizing': lambda t: t['size'].nunique() > 1,
    'atr risk sizing with its stop': lambda t: t['size'].nunique() > 1 and (t.funding != 0).any(),
    'cvar limit sizing': lambda t: t['size'].nunique() > 1,
    'vol target sizing, funding every bar': lambda t: t['size'].nunique() > 1 and (t.funding != 0).all(),
}


@pytest.mark.parametrize('case', list(CASES))
def test_batched_env_matches_reference(btc, case):
    data, period = btc
    over, actions = CASES[case]
    trades = compare_with_reference(data, period, load_config(overrides=over), windows(period), actions)
    assert len(trades) >= 10 and COVERS[case](trades), case


@register_reward('test_fee_averse')
class FeeAverse(Reward):
    "A stateful reward computed in Python: the batched env must feed it the same outcomes."
    def reset(self): self.steps = 0
    def __call__(self, o):
        self.steps += 1
        return ((o.equity_after / o.equity_before - 1) * 100 - o.fees / 10 + 0.001 * self.steps + 0.5 * o.trade_closed
                - 0.01 * o.bars_in_position + 0.3 * o.exposure + 0.02 * o.bars_held)


def test_python_reward_matches(btc):
    data, period = btc
    cfg = load_config(overrides=dict(reward=dict(name='test_fee_averse')))
    assert len(compare_with_reference(data, period, cfg, windows(period, 2), discrete)) > 5
    # the single env's Python-reward path (its reward is the VecEnv's float32, as on main: equal to 1e-6, the rest bit for bit)
    assert len(compare_fast_with_reference(data, period, cfg, windows(period, 2), discrete, eps=1e-6)) > 5


def test_autoreset_and_terminal_observation(btc):
    data, period = btc
    venv = BatchedPositionEnv(data, period, RunConfig(), n_envs=16, episode_bars=200)
    venv.seed(1)
    venv.reset()
    ended = 0
    for _ in range(400):
        obs, rew, done, infos = venv.step(np.zeros(16, dtype=int))
        for e in np.flatnonzero(done):
            ended += 1
            assert infos[e]['TimeLimit.truncated'] and not infos[e]['terminal_observation'].any()
            assert venv.observation_space.contains(obs[e])
    assert ended > 16
    a = BatchedPositionEnv(data, period, RunConfig(), n_envs=4); a.seed(7)
    b = BatchedPositionEnv(data, period, RunConfig(), n_envs=4); b.seed(7)
    np.testing.assert_array_equal(a.reset(), b.reset())          # a seed gives the same windows


@pytest.mark.parametrize('case', list(CASES)[:3])
def test_fast_env_matches_reference(btc, case):
    "The single FastPositionEnv, episode after episode on one instance (its own reset path), against PositionRiskEnv."
    data, period = btc
    overrides, actions_of = CASES[case]
    trades = compare_fast_with_reference(data, period, load_config(overrides=overrides), windows(period, n=2, length=1000), actions_of)
    assert len(trades) > 3


def test_fast_env_is_a_gymnasium_env(btc):
    from gymnasium.utils.env_checker import check_env
    data, period = btc
    for space in ['discrete3', 'multidiscrete', 'box']:
        env = FastPositionEnv(data, period, load_config(overrides=dict(env=dict(action_space=space))))
        check_env(env, skip_render_check=True)
    env = FastPositionEnv(data, period)
    obs, info = env.reset(seed=0, options=dict(start=period[0], end=period[0] + 2000))
    done, steps = False, 0
    while not done:
        obs, r, term, trunc, info = env.step(int(np.flatnonzero(env.action_masks())[-1]))
        done, steps = term or trunc, steps + 1
    assert steps > 10 and env.equity > 0 and info == {}


def test_maskable_ppo_trains_on_it():
    "make_train_env builds the batched env when env.batched is set; MaskablePPO gets masks from it and learns."
    from sb3_contrib.common.maskable.utils import get_action_masks, is_masking_supported
    from stable_baselines3.common.vec_env import VecMonitor
    from riskrl_nb.agents.training import make_train_env
    from riskrl_nb.sim.prepare import prepare_data, load_frames
    from riskrl_nb.agents.algos import get_algo
    cfg = load_config(overrides=dict(
        data=dict(train_start='2022-01-01', train_end='2022-06-30', valid_start='2022-07-01', valid_end='2022-08-31'),
        env=dict(batched=True), train=dict(n_envs=32, n_steps=32, batch_size=256, n_epochs=1, total_timesteps=1024)))
    prepared, _ = prepare_data(load_frames(cfg), cfg)
    vec = make_train_env(cfg, [p for p in prepared if 'train' in p.periods])
    assert isinstance(vec, VecMonitor) and isinstance(vec.unwrapped, BatchedPositionEnv)
    vec.reset()
    assert is_masking_supported(vec) and get_action_masks(vec).shape == (32, 3)
    model = get_algo('maskable_ppo').make(cfg, vec)
    model.learn(1024)
    assert model.num_timesteps >= 1024 and len(model.ep_info_buffer) > 0
