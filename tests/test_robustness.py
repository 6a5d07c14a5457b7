"""Robust evaluation through the CLI: walk-forward, Monte Carlo, stress and the degenerate-policy detector."""
import json, shutil
from pathlib import Path
import numpy as np
import pandas as pd
import pytest
import yaml
from conftest import run_main as run_cli   # in-process: no process start (and torch import) per command
from contract import check_metrics
from riskrl_nb.core.config import load_config, RunConfig, RewardConfig
from riskrl_nb.agents.bundle import write_manifest


@pytest.fixture(scope='module')
def small_wf_model(tiny_model, tmp_path_factory) -> Path:
    "The tiny model with a walk-forward budget of one short window (the config's evaluation section sets it)."
    m = tmp_path_factory.mktemp('wf')/'m'
    shutil.copytree(tiny_model, m)
    cfg = yaml.safe_load((m/'config.yaml').read_text())
    cfg['evaluation'].update(wf_start='2022-10-01', wf_end='2023-01-31', wf_train_months=2, wf_valid_months=1,
                             wf_test_months=1, wf_max_windows=1, wf_timesteps=256, pbo_blocks=8)
    (m/'config.yaml').write_text(yaml.safe_dump(cfg, sort_keys=False))
    write_manifest(m)   # a deliberate edit: re-seal the folder
    return m


def test_evaluate_walk_forward_monte_carlo_stress(small_wf_model, tmp_path):
    out = tmp_path/'ev'
    r = run_cli('evaluate', '--model', small_wf_model, '--out', out, '--start', '2023-01-01', '--end', '2023-03-31',
                '--walk-forward', '--walk-forward-seeds', 1, '--monte-carlo', 40, '--stress')
    assert r.returncode == 0, r.stderr[-3000:]
    m = json.loads((out/'metrics.json').read_text())
    check_metrics(m)                                              # the contract's keys are untouched
    for key in ['walk_forward', 'monte_carlo', 'stress', 'diagnostics']: assert key in m, key
    wf = m['walk_forward']
    assert wf['windows'][0]['test_start'] == '2023-01-01' and wf['budget']['timesteps_per_window'] == 256
    o, dsr = wf['overfitting']['pbo'], wf['overfitting']['deflated_sharpe']
    assert wf['budget']['seeds'] == [1]                           # --walk-forward-seeds overrides the config's wf_seeds ([0])
    assert dsr['n_trials'] == o['n_trials'] == 8 + 1 + 1 and o['n_combinations'] == 70    # 8 rules, 1 seed, their mix; C(8, 4) splits
    assert abs(o['pbo'] * 70 - round(o['pbo'] * 70)) < 1e-9 and dsr['dsr'] < dsr['psr']  # a share of the splits; 10 trials deflate
    assert dsr['n_obs'] == len(pd.read_csv(out/'walk_forward'/'oos_returns.csv'))         # on the out-of-sample bars only
    assert set(wf['out_of_sample']) >= {'agent_seed1', 'fixed_tp_sl', 'atr_trailing', 'hold_to_horizon'}
    mc = m['monte_carlo']
    assert mc['n_samples'] == 40 and set(mc['block_bootstrap']) == set(m['policies'])
    for name, b in mc['block_bootstrap'].items():
        assert b['final_return']['p5'] <= b['final_return']['p50'] <= b['final_return']['p95'], name
    st = m['stress']
    assert st['crash_windows']['ftx_nov_2022']['seen_in_training'] is False          # the tiny model trained on H1 2022
    assert st['crash_windows']['luna_3ac_2022']['seen_in_training'] is True
    assert set(st['synthetic']) == {'gap_down_15%_x5', 'vol_spike_x3', 'liquidity_drought'}
    for name, p in st['synthetic']['liquidity_drought']['policies'].items():
        assert p['n_trades'] == 0 or p['return_change'] < 0, name                      # dearer fills hurt everyone
    for f in ['monte_carlo.png', 'walk_forward/equity.png', 'walk_forward/oos_returns.csv', 'report.html']:
        assert (out/f).stat().st_size > 1000, f
    page = (out/'report.html').read_text()
    for h in ['Walk-forward', 'Monte Carlo', 'Stress', 'Policy diagnostics']: assert h in page, h
    assert 'walk-forward (out of sample)' in r.stdout and 'PBO' in r.stdout and 'deflated Sharpe' in r.stdout
    d = m['diagnostics']['agent']                                 # the degenerate-policy detector, always on
    assert d['decisions'] > 0 and abs(sum(d['action_share'].values()) - 1) < 1e-9 and d['degenerate'] == bool(d['warnings'])
    assert sum(d['exit_reasons'].values()) == m['policies']['agent']['n_trades']             # every trade's exit is counted
    assert d['own_exits'] == d['exit_reasons'].get('agent_close_tp', 0) + d['exit_reasons'].get('agent_close_sl', 0)
    for k in ['cvar_95_cornish_fisher', 'tail_ratio', 'ulcer_index', 'max_drawdown_duration_bars', 'profit_factor']:
        assert k in m['policies']['agent'], k


def test_bad_monte_carlo_count(tiny_model, tmp_path):
    r = run_cli('evaluate', '--model', tiny_model, '--out', tmp_path/'ev', '--monte-carlo', -3)
    assert r.returncode == 2 and r.stderr.count('\n') == 1 and 'monte-carlo' in r.stderr


def test_old_config_loads_and_new_reward_keys_are_checked(tmp_path):
    "A config.yaml written before the reward/evaluation fields existed still loads; a typo in a new key is caught."
    old = tmp_path/'old.yaml'
    old.write_text("reward: {name: return_drawdown, max_drawdown: 0.2, drawdown_penalty: 0.5, fee_rate: 0.001, scale: 100.0}\n"
                   "evaluation: {seed: 0}\n")
    cfg = load_config(old)
    assert cfg.reward == RewardConfig() and cfg.evaluation.wf_timesteps == RunConfig().evaluation.wf_timesteps
    (tmp_path/'bad.yaml').write_text("reward: {w_downsid: 3}\n")
    with pytest.raises(Exception, match="reward.w_downsid"): load_config(tmp_path/'bad.yaml')


def test_every_reward_variant_trains_an_env_step():
    "Each reward configuration runs in the real environment (check_env) on bundled BTC candles."
    from gymnasium.utils.env_checker import check_env
    from riskrl_nb.data.candles import load_bundled, period_slice
    from riskrl_nb.data.features import compute_features, FeatureScaler
    from riskrl_nb.data.entries import ema_cross_entries
    from riskrl_nb.sim.execution import Market
    from riskrl_nb.sim.env import MarketData, PositionRiskEnv
    btc = load_bundled('BTC', '1h').loc['2022-01-01':'2022-03-31']
    feats = compute_features(btc)
    data = MarketData(Market.from_candles(btc), FeatureScaler.fit(feats.iloc[200:]).transform(feats), ema_cross_entries(btc))
    for over in [dict(name='composite', w_diff_sharpe=1.0, w_downside=50, w_consistency=1, w_turnover=1, w_holding=1e-4, w_trade=1),
                 dict(name='hierarchical'), dict(shaping='equity', robust_k=3)]:
        cfg = RunConfig(); cfg.reward = RewardConfig(**over)
        check_env(PositionRiskEnv(data, (200, len(btc)), cfg), skip_render_check=True)
    # normalisation keeps running statistics across episodes (as VecNormalize), so it is not reset-deterministic
    cfg = RunConfig(); cfg.reward = RewardConfig(normalize=True)
    env = PositionRiskEnv(data, (200, len(btc)), cfg)
    env.reset(seed=0); rewards = [env.step(0)[1] for _ in range(50)]
    assert np.isfinite(rewards).all() and max(map(abs, rewards)) <= cfg.reward.normalize_clip


def test_walk_forward_seeds_must_not_be_negative(small_wf_model, tmp_path):
    r = run_cli('evaluate', '--model', small_wf_model, '--out', tmp_path/'ev', '--walk-forward', '--walk-forward-seeds', 0, -1)
    assert r.returncode == 2 and '--walk-forward-seeds' in r.stderr and len(r.stderr.strip().splitlines()) == 1, r.stderr
    assert not (tmp_path/'ev'/'metrics.json').exists()
