"""Batched training on several coins: the N accounts' episodes are interleaved across the coins (each account draws its
episode's coin at every reset, with the readable env's weights), also through make_train_env, the training path."""
import numpy as np
import pytest
from riskrl_nb.core.config import load_config
from riskrl_nb.sim.prepare import prepare_data, load_frames
from riskrl_nb.sim.env import PositionRiskEnv
from riskrl_nb.sim.vec_env import BatchedPositionEnv, N_P, DS

COINS = ('BTC', 'ETH', 'XRP')
CFG = load_config(overrides=dict(
    data=dict(paths=[f'riskrl_nb/candles/hourly/{c}.csv.gz' for c in COINS], train_start='2022-01-01', train_end='2022-06-30',
              valid_start='2022-07-01', valid_end='2022-08-31'),
    env=dict(batched=True, episode_bars=120), train=dict(n_envs=24)))


@pytest.fixture(scope='module')
def train_sets():
    prepared, _ = prepare_data(load_frames(CFG), CFG)
    sets = [p for p in prepared if 'train' in p.periods]
    assert [p.data.name for p in sets] == list(COINS)
    return sets


def test_accounts_interleave_coins_with_the_readable_envs_weights(train_sets):
    data, periods = [p.data for p in train_sets], [p.periods['train'] for p in train_sets]
    lengths = np.array([b - a for a, b in periods], float)
    lengths[1] *= 0.5   # unequal weights: a wrong weighting (uniform) would show
    periods[1] = (periods[1][0], periods[1][0] + int(lengths[1]))
    weights = lengths / lengths.sum()
    venv = BatchedPositionEnv(data, periods, CFG, n_envs=24)
    ref = PositionRiskEnv(data, periods, CFG)
    np.testing.assert_allclose(np.diff(venv.P[N_P:], prepend=0), ref._weights, rtol=1e-12)   # the readable env's coin weights
    np.testing.assert_allclose(ref._weights, weights, rtol=1e-12)
    venv.seed(3)
    venv.reset()
    coins = [venv.st[:, DS].copy()]
    drawn = list(coins[0])
    rng = np.random.default_rng(0)
    for _ in range(300):
        masks = venv.action_masks()
        actions = np.array([rng.choice(np.flatnonzero(m)) for m in masks])
        _, _, done, _ = venv.step(actions)
        coins.append(venv.st[:, DS].copy())
        drawn += list(coins[-1][done])   # the coin each restarted account drew
    coins = np.array(coins)
    assert len(set(coins[0])) == len(COINS)                                  # at the start the accounts hold every coin
    assert min(len(set(c)) for c in coins) >= 2                             # and at every step more than one
    assert all(len(set(coins[:, e])) >= 2 for e in range(24))               # each account's episodes change coin
    share = np.bincount(drawn, minlength=len(COINS)) / len(drawn)
    assert len(drawn) > 500 and np.abs(share - weights).max() < 0.06, (share, weights)


def test_make_train_env_interleaves_the_training_coins(train_sets):
    from riskrl_nb.agents.training import make_train_env
    vec = make_train_env(CFG, train_sets)
    vec.reset()
    env = vec.unwrapped
    assert isinstance(env, BatchedPositionEnv) and env.num_envs == 24 and len(env.datasets) == len(COINS)
    assert len(set(env.st[:, DS])) == len(COINS)
