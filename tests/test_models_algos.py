"""Policy networks, algorithms and training methods: the registry wiring, the CLI's errors, multi-asset and recurrent models end to end."""
import json
from pathlib import Path
import numpy as np
import pytest
import torch
import gymnasium as gym
from conftest import run_main as run_cli   # in-process: no process start (and torch import) per command
from riskrl_nb.core.config import load_config
from riskrl_nb.agents.training import train
from riskrl_nb.agents.bundle import load_bundle
from riskrl_nb.sim.prepare import load_frames
from riskrl_nb.agents.networks import get_network, NETWORKS
from riskrl_nb.core.metrics import total_return
from riskrl_nb.agents.networks import signal_batch, overfit, attention_weights

TINY = dict(data=dict(train_start='2022-01-01', train_end='2022-06-30', valid_start='2022-07-01', valid_end='2022-08-31'),
            train=dict(total_timesteps=512, n_steps=128, batch_size=64, n_epochs=1, n_envs=2, eval_freq=256, net_arch=[16]),
            baselines=dict(take_profit_grid=[0.03], stop_loss_grid=[0.02], atr_mult_grid=[3.0], horizon_grid=[24]))
SMALL_NET = dict(features_dim=16, d_model=8, n_heads=2, hidden=8, channels=8, chunk_bars=4, dilations=[1, 2])


@pytest.fixture(autouse=True)
def one_thread():
    torch.set_num_threads(1)


@pytest.mark.parametrize('name', ['mlp', 'attention', 'lstm', 'gru', 'hier_lstm', 'cnn', 'tcn'])
def test_registered_network_learns_a_signal_deep_in_the_window(name):
    "Each network, built through the registry from a config, fits a label carried by one bar 5 bars back."
    L, n = 12, 4
    obs, y = signal_batch(128, L, n, lag=5)
    space = gym.spaces.Box(-10, 10, (obs.shape[1],), np.float32)
    cfg = load_config(overrides=dict(env=dict(lookback=L), train=dict(network=name, net=SMALL_NET)))
    kw = get_network(name)(cfg, space)
    if name == 'mlp':
        from stable_baselines3.common.torch_layers import FlattenExtractor
        ex = torch.nn.Sequential(FlattenExtractor(space), torch.nn.Linear(obs.shape[1], 16), torch.nn.ReLU()); ex.features_dim = 16
    else:
        ex = kw['features_extractor_class'](space, **kw['features_extractor_kwargs'])
    torch.manual_seed(0)
    assert overfit(ex, obs, y) >= 0.95
    assert tuple(ex(torch.as_tensor(obs[:3])).shape) == (3, ex.features_dim)


def test_every_network_is_tested_here():
    assert set(NETWORKS) == {'mlp', 'attention', 'lstm', 'gru', 'hier_lstm', 'cnn', 'tcn', 'gnn'}


def run_main(*argv):
    "The CLI in-process: (exit code, stderr)."
    import io, contextlib
    from riskrl_nb.cli import main
    err = io.StringIO()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
        try: rc = main([str(a) for a in argv])
        except SystemExit as e: rc = e.code
    return rc, err.getvalue()


def test_train_unsupported_combination_exit_2(tmp_path):
    "The console script: exit 2, one line naming the algorithm, the action space and what it supports."
    r = run_cli('train', '--out', tmp_path/'m', '--no-progress', '--algo', 'sac')
    assert r.returncode == 2, r.stderr
    assert r.stderr.strip() == "riskrl: error: algorithm 'sac' does not support action space 'discrete3'; it supports: box (set env.action_space in the config)"
    assert not (tmp_path/'m').exists()


@pytest.mark.parametrize('args,config,expected', [
    (['--algo', 'td3'], '', "algorithm 'td3' does not support action space 'discrete3'"),
    (['--algo', 'c51'], 'env: {action_space: box}', "algorithm 'c51' does not support action space 'box'; it supports: discrete3"),
    (['--algo', 'maskable_ppo'], 'env: {action_space: box}', "algorithm 'maskable_ppo' does not support action space 'box'"),
    (['--network', 'transformer9'], '', "unknown train.network 'transformer9'"),
])
def test_train_bad_combinations_exit_2(tmp_path, args, config, expected):
    cfg = tmp_path/'c.yaml'; cfg.write_text(config or '{}')
    rc, err = run_main('train', '--out', tmp_path/'m', '--no-progress', '--config', cfg, *args)
    assert rc == 2 and len(err.strip().splitlines()) == 1 and expected in err, err


def test_cli_trains_sac_on_box_and_evaluates(tmp_path):
    "SAC on the continuous exposure space through the CLI's train command, then a complete evaluation."
    import yaml
    from riskrl_nb.eval.evaluation import evaluate
    cfg = dict(TINY, env=dict(action_space='box'), train=dict(TINY['train'], algo_kwargs=dict(learning_starts=64, buffer_size=2000)))
    p = tmp_path/'sac.yaml'; p.write_text(yaml.safe_dump(cfg))
    rc, err = run_main('train', '--out', tmp_path/'m', '--no-progress', '--algo', 'sac', '--config', p)
    assert rc in (0, None), err
    m = evaluate(tmp_path/'m', None, tmp_path/'ev', start='2023-01-01', end='2023-03-31', report=False)
    assert m['model']['algo'] == 'sac' and m['policies']['agent']['n_trades'] > 0


def test_gnn_over_coins_trains_and_evaluates_on_an_unseen_period(tmp_path):
    "A GNN over BTC + ETH + BNB context: the model folder keeps the graph; evaluation re-aligns the coins' features."
    from riskrl_nb.eval.evaluation import evaluate
    cfg = load_config(overrides=dict(TINY, env=dict(lookback=4), train=dict(TINY['train'], network='gnn', net=SMALL_NET,
                                                                              context_assets=['ETH', 'BNB'])))
    out = train(cfg, tmp_path/'gnn', progress=False, verbose=False)
    ctx = json.loads((out/'context.json').read_text())
    assert ctx['assets'] == ['ETH', 'BNB'] and np.allclose(np.array(ctx['adjacency']), np.array(ctx['adjacency']).T)
    b = load_bundle(out)
    ex = b.model.policy.features_extractor
    assert type(ex).__name__ == 'GraphExtractor' and ex.n_assets == 2
    m = evaluate(out, None, tmp_path/'ev', start='2023-01-01', end='2023-02-28', report=False)
    assert m['policies']['agent']['n_trades'] > 0
    w = attention_weights(b.model, np.zeros((2, ex._observation_space.shape[0]), np.float32))['assets']
    assert w.shape == (2, 2)


def test_recurrent_ppo_folder_evaluates(tmp_path):
    from riskrl_nb.eval.evaluation import evaluate
    cfg = load_config(overrides=dict(TINY, train=dict(TINY['train'], algo='recurrent_ppo', net=SMALL_NET)))
    out = train(cfg, tmp_path/'rec', progress=False, verbose=False)
    from riskrl_nb.eval.evaluation import backtest_all
    b = load_bundle(out)
    res, _, _ = backtest_all(b, load_frames(b.cfg)[0], '2023-01-01', '2023-02-28')
    m = evaluate(out, None, tmp_path/'ev', start='2023-01-01', end='2023-02-28', report=False)
    assert m['model']['algo'] == 'recurrent_ppo' and abs(m['policies']['agent']['total_return'] - total_return(res['agent'].returns)) < 1e-12
    # the LSTM state is carried from decision to decision: each call gets the state the previous one returned
    from riskrl_nb.sim.execution import Simulation, Market, run_backtest
    from riskrl_nb.data.entries import make_entries
    from riskrl_nb.data.features import compute_features
    df = load_frames(b.cfg)[0]
    x, sim = b.scaler.transform(compute_features(df, b.cfg.features)), Simulation(Market.from_candles(df), make_entries(df, b.cfg.entry), b.cfg.costs, b.cfg.env)
    calls, predict = [], b.model.predict
    def spy(obs, state=None, episode_start=None, **kw):
        out = predict(obs, state=state, episode_start=episode_start, **kw); calls.append((state, episode_start, out[1])); return out
    b.model.predict = spy
    run_backtest(sim, b.policy(x), 5000, 6500)
    assert len(calls) > 50 and calls[0][0] is None and calls[0][1].all()
    assert all(now[0] is before[2] and not now[1].any() for before, now in zip(calls, calls[1:]))
    assert np.abs(calls[-1][2][0]).max() > 0
