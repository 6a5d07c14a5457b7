"""Distributed rollouts (riskrl_nb.sim.ray_vec_env): the training envs in Ray actors feeding one learner.
Default tests: `train --backend ray` builds the actor env (its workers in this process, no Ray start) for the batched and
the readable env, and the options' errors. Slow tests (they start a local Ray instance, ~12 s on the shared 2-core
machine with the start-up fix of raystart.py, which they use): the same seeds and actions give the same
observations, rewards, dones, terminal observations and masks on actors as the local envs, and `riskrl train --backend
ray` trains a model folder."""
import functools, json, os
import numpy as np
import pytest
import yaml
from conftest import TINY_CONFIG, run_main
from raystart import fast_ray_pythonpath

ray = pytest.importorskip('ray', reason="Ray is optional: pip install 'riskrl[ray]'")
from riskrl_nb.sim import ray_vec_env as rv


@functools.lru_cache(maxsize=1)
def btc():
    from riskrl_nb.core.config import RunConfig
    from riskrl_nb.data.candles import load_bundled, period_slice
    from riskrl_nb.data.features import compute_features, FeatureScaler
    from riskrl_nb.data.entries import ema_cross_entries
    from riskrl_nb.sim.execution import Market
    from riskrl_nb.sim.env import MarketData
    df = load_bundled('BTC', '1h'); feats = compute_features(df); train = period_slice(df, '2021-01-01', '2022-09-30')
    data = MarketData(Market.from_candles(df), FeatureScaler.fit(feats.iloc[train]).transform(feats), ema_cross_entries(df), 'BTC')
    return data, (train.start, train.stop), RunConfig()


@pytest.fixture
def local_actors(monkeypatch):
    """ActorVecEnv with its workers in this process whatever the backend asked; the factories go through Ray's
    serializer (cloudpickle) first, as they do to reach actors. Records every env built."""
    from ray import cloudpickle
    built, init = [], rv.ActorVecEnv.__init__
    def local_init(self, make_vecs, backend='ray', address=None, **kw):
        built.append((backend, address, len(make_vecs)))
        init(self, [cloudpickle.loads(cloudpickle.dumps(f)) for f in make_vecs], 'local', None, **kw)
    monkeypatch.setattr(rv.ActorVecEnv, '__init__', local_init)
    return built


@pytest.mark.parametrize('batched', [True, False])
def test_train_backend_ray_builds_the_actor_env(tmp_path, local_actors, batched):
    cfg = yaml.safe_load(TINY_CONFIG); cfg['env'] = dict(batched=batched); cfg['train'].update(n_envs=3, eval_freq=512)
    (tmp_path/'c.yaml').write_text(yaml.safe_dump(cfg))
    r = run_main('train', '--config', tmp_path/'c.yaml', '--steps', 768, '--backend', 'ray', '--workers', 2,
                 '--out', tmp_path/'m', '--no-progress')
    assert r.returncode == 0, r.stdout + r.stderr
    assert local_actors == [('ray', None, 2)] * 2   # asked for Ray, two workers (2 + 1 envs), no address: the clone run's and its fresh rival's
    saved = yaml.safe_load((tmp_path/'m'/'config.yaml').read_text())['train']
    assert (saved['vec_env'], saved['rollout_workers']) == ('ray', 2)
    assert json.loads((tmp_path/'m'/'meta.json').read_text())['timesteps'] >= 768


def test_train_backend_options_are_checked(tmp_path, tiny_config):
    r = run_main('train', '--config', tiny_config, '--address', 'auto', '--out', tmp_path/'m')
    assert r.returncode == 2 and '--address auto (train.ray_address) needs --backend ray' in r.stderr, r.stderr
    r = run_main('train', '--config', tiny_config, '--backend', 'ray', '--workers', 3, '--out', tmp_path/'m')   # n_envs 2
    assert r.returncode == 2 and 'rollout_workers cannot exceed n_envs' in r.stderr, r.stderr
    r = run_main('train', '--config', tiny_config, '--backend', 'ray', '--workers', 0, '--out', tmp_path/'m')
    assert r.returncode == 2 and 'train.rollout_workers' in r.stderr, r.stderr


def test_a_dead_ray_address_is_one_line(tmp_path, tiny_config):
    import socket
    with socket.socket() as s: s.bind(('127.0.0.1', 0)); port = s.getsockname()[1]
    r = run_main('train', '--config', tiny_config, '--backend', 'ray', '--address', f'127.0.0.1:{port}', '--steps', 256,
                 '--out', tmp_path/'m', '--no-progress')
    assert r.returncode == 2 and 'cannot connect to a Ray cluster' in r.stderr and len(r.stderr.strip().splitlines()) == 1, r.stderr


@pytest.fixture
def fast_ray_start(tmp_path, monkeypatch):
    "The Ray processes started in this test skip a 4.5 s optional import (see raystart.py)."
    monkeypatch.setenv('PYTHONPATH', fast_ray_pythonpath(tmp_path/'raystub'))


@pytest.mark.slow
def test_ray_vec_env_equals_the_local_envs(fast_ray_start):
    """8 accounts of the batched env over 3 Ray actors (a local Ray instance of 4 CPUs): the same seeds and actions give,
    bit for bit, what each slice's env gives alone in this process and what the local-backend ActorVecEnv gives; the
    actors are three processes other than this one; one actor holding every account is the local batched env."""
    data, period, cfg = btc()
    fns = rv.batched_workers(data, period, cfg, 8, 3)
    ref = rv.rollout(rv.ActorVecEnv(fns, backend='local'), 120, seed=3)
    assert ref['dones'].sum() > 0
    rv.ray_connect(None, num_cpus=4)   # one instance for both envs (an env that starts one gives it CPUs for its own actors only)
    try:
        env = rv.ActorVecEnv(fns, backend='ray')
        pids = set(env._get([w.pid.remote() for w in env.workers]))
        got = rv.rollout(env, 120, seed=3, actions=ref['actions'])
        env.close()   # its actors go: their CPUs are free again
        one = rv.ActorVecEnv(rv.batched_workers(data, period, cfg, 8, 1), backend='ray')
        got_one = rv.rollout(one, 120, seed=3, actions=ref['actions'])
        one.close()
        assert ray.is_initialized()   # a session the envs did not start is left open
    finally:
        ray.shutdown()
    assert len(pids) == 3 and os.getpid() not in pids
    rv.assert_same_rollouts(got, ref)
    rv.assert_same_rollouts(got, rv.local_rollouts(fns, 120, 3, ref['actions']))
    from riskrl_nb.sim.vec_env import BatchedPositionEnv
    rv.assert_same_rollouts(got_one, rv.rollout(BatchedPositionEnv(data, period, cfg, 8), 120, seed=3, actions=ref['actions']))


@pytest.mark.slow
def test_train_on_ray_actors_writes_a_model_folder(tmp_path, tiny_config, fast_ray_start):
    "`riskrl train --backend ray --workers 2`: MaskablePPO fed by two Ray actors (a local instance, stopped at the end)."
    r = run_main('train', '--config', tiny_config, '--steps', 1024, '--backend', 'ray', '--workers', 2,
                 '--out', tmp_path/'m', '--no-progress')
    assert r.returncode == 0, r.stdout + r.stderr
    assert json.loads((tmp_path/'m'/'meta.json').read_text())['timesteps'] >= 1024
    assert not ray.is_initialized()
