"""Trainers other than `riskrl train` honour its `train.*` keys or say which they cannot apply (issue: CPCV, update,
Reptile and the portfolio trained a different agent than `riskrl train`, silently)."""
import json, shutil
import numpy as np
import pandas as pd
import pytest


def _tiny_cpcv(evaluation=(), **train):
    from riskrl_nb.core.config import load_config
    return load_config(overrides=dict(
        train=dict(total_timesteps=256, n_steps=64, n_envs=2, batch_size=64, **train),
        baselines=dict(take_profit_grid=[0.03], stop_loss_grid=[0.02], atr_mult_grid=[3.0], horizon_grid=[24]),
        evaluation=dict(cpcv_groups=3, cpcv_test_groups=1, **dict(evaluation))))


@pytest.fixture(scope='module')
def cpcv_with_oracle():
    """CPCV of a config with oracle pre-training and bc_steps, every call of the pre-training recorded (the real one runs)."""
    import riskrl_nb.agents.training as training
    from riskrl_nb.data.candles import load_bundled
    from riskrl_nb.eval.overfitting import cpcv_backtest
    from riskrl_nb.data.features import FeatureScaler
    calls, real, real_fit = [], training.pretrain_oracle, FeatureScaler.fit
    def recording(model, cfg, train_sets, *a, **k):
        out = real(model, cfg, train_sets, *a, **k)
        calls.append(dict(periods=[p.periods['train'] for p in train_sets], labels=len(out['data']['labels'])))
        return out
    btc = load_bundled('BTC', '1h')
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(training, 'pretrain_oracle', recording)
        mp.setattr(FeatureScaler, 'fit', classmethod(lambda cls, df, *a, **k: calls.append(dict(scaler_rows=df.index)) or real_fit(df, *a, **k)))
        cv = cpcv_backtest(_tiny_cpcv(pretrain_oracle=dict(epochs=1, samples=800, bc_steps=2), eval_freq=128), btc, '2023-01-01', '2023-04-30')
    return cv, calls, btc


def _bars(ranges):
    return np.concatenate([np.arange(x, y) for x, y in ranges])


def test_cpcv_clones_the_oracle_on_each_splits_training_ranges_only(cpcv_with_oracle):
    """Each split's agent is pre-trained as `riskrl train`'s is, and its oracle labels come from that split's training
    ranges alone (less its nested validation range and the purge before it): no bar of a test group, nor of the purge
    before it or the embargo after it. (Mutation: `cut = valid[0][0]` in `cpcv_validation`, no purge, fails.)"""
    from riskrl_nb.eval.overfitting import cpcv_splits
    from riskrl_nb.data.candles import period_slice
    from riskrl_nb.data.features import feature_warmup
    cv, calls, btc = cpcv_with_oracle
    fits, calls = [c['scaler_rows'] for c in calls if 'scaler_rows' in c], [c for c in calls if 'periods' in c]
    cfg = _tiny_cpcv()
    s = period_slice(btc, '2023-01-01', '2023-04-30')
    a = max(s.start, feature_warmup(cfg.features))
    splits = cpcv_splits(a, s.stop, 3, 1, purge=cv['purge_bars'], embargo=cv['embargo_bars'])
    assert len(calls) == len(splits) == cv['n_splits']
    assert len(fits) == len(splits)
    for call, sp, sel, fit in zip(calls, splits, cv['checkpoint_selection'], fits):
        assert sel['test_groups'] == sp.test_groups
        assert call['periods'] == [r for r in sel['train'] if r[1] - r[0] > 2]   # what the agent trained on, nothing else
        bars, valid = _bars(call['periods']), _bars(sel['valid'])
        n = len(_bars(sp.train))
        assert len(valid) == round(0.2 * n)                           # evaluation.cpcv_valid_frac of the training bars
        assert set(valid) <= set(_bars(sp.train))                     # training bars only: never a test, purge or embargo bar
        assert list(valid) == list(_bars(sp.train)[-len(valid):])    # the latest training bars (M5: `fit.pop(0)` fails)
        train = _bars(sel['train'])                                    # the rest, less the purge before the validation range
        assert list(train) == [x for x in _bars(sp.train) if x < valid.min() - cv['purge_bars']]
        assert valid.min() - bars.max() > cv['purge_bars']
        assert fit.equals(btc.index[train])   # the feature scaler too, as `prepare_data` fits it on the train period only
        for ga, gb in sp.test:
            for b in (bars, valid):
                assert not ((b >= ga - cv['purge_bars']) & (b < gb + cv['embargo_bars'])).any()
        assert call['labels'] == 800
    assert [(o['bc_steps'], o['cloning_rounds']) for o in cv['training']['oracle']] == [(2, 2)] * 3   # after each of 2 updates
    assert cv['ignored_train_keys'] == {}   # eval_freq applies in the nested validation
    assert [s['validations'] for s in cv['checkpoint_selection']] == [5] * 3   # the clone, then after each of 2 updates; the fresh rival's 2


def test_cpcv_agent_without_the_oracle_is_another_agent(cpcv_with_oracle):
    "The same CPCV with `pretrain_oracle: false` tests a different agent (the pre-training changed what is tested)."
    from riskrl_nb.eval.overfitting import cpcv_backtest
    cv, _, btc = cpcv_with_oracle
    plain = cpcv_backtest(_tiny_cpcv(pretrain_oracle=False), btc, '2023-01-01', '2023-04-30')
    assert plain['training']['oracle'] == [None, None, None]
    assert not plain['paths'][0]['agent'].equals(cv['paths'][0]['agent'])
    pd.testing.assert_series_equal(plain['paths'][0]['fixed_tp_sl'], cv['paths'][0]['fixed_tp_sl'])   # the rules are the same


def test_cpcv_says_that_no_checkpoint_is_chosen(capsys):
    """With `cpcv_valid_frac: 0` validation keys set to other than their default are printed (one line) and returned;
    with a nested validation range (the default) they apply; the default config is silent."""
    from riskrl_nb.eval.overfitting import check_cpcv_config
    assert check_cpcv_config(_tiny_cpcv()) == {}
    assert check_cpcv_config(_tiny_cpcv(select='cross_coin', eval_freq=128)) == {}
    assert capsys.readouterr().err == ''
    ignored = check_cpcv_config(_tiny_cpcv(dict(cpcv_valid_frac=0.0), select='cross_coin', eval_freq=128))
    assert set(ignored) == {'train.select', 'train.eval_freq'}
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith('CPCV: train.select, train.eval_freq not applied: evaluation.cpcv_valid_frac is 0')
    box = _tiny_cpcv(algo='ppo')
    box.env.action_space = 'box'   # no oracle labels for a continuous action: the default pre-training is dropped, as `train` says
    assert check_cpcv_config(box) == {}
    assert capsys.readouterr().err.startswith("CPCV: oracle pre-training (a default) skipped: env.action_space 'box'")


def test_cpcv_without_validation_trains_as_before():
    """`cpcv_valid_frac: 0`: no checkpoint is chosen and a split's agent is the one trained, as before validation
    existed, on all its training ranges (the loop body of `cpcv_backtest` without a validation range, replayed here for
    split 0). (Mutation: `if k == 0: return list(train), []` dropped from `cpcv_validation` fails.)"""
    from dataclasses import replace
    from riskrl_nb.agents.policy import make_policy
    from riskrl_nb.core.config import periods_per_year
    from riskrl_nb.data.candles import load_bundled, period_slice
    from riskrl_nb.data.entries import make_entries
    from riskrl_nb.data.features import compute_features, feature_warmup, FeatureScaler
    from riskrl_nb.eval.overfitting import cpcv_backtest, cpcv_splits, range_augmented, train_on_ranges, NO_CHECKPOINT_CHOICE
    from riskrl_nb.sim.env import MarketData
    from riskrl_nb.sim.execution import Market, Simulation, run_backtest
    from riskrl_nb.sim.rules import tune_baselines
    cfg = _tiny_cpcv(dict(cpcv_valid_frac=0.0), pretrain_oracle=dict(epochs=1, samples=300, bc_steps=1))
    btc = load_bundled('BTC', '1h')
    cv = cpcv_backtest(cfg, btc, '2023-01-01', '2023-04-30')
    assert cv['checkpoint_selection'] == NO_CHECKPOINT_CHOICE
    s = period_slice(btc, '2023-01-01', '2023-04-30')
    sp = cpcv_splits(max(s.start, feature_warmup(cfg.features)), s.stop, 3, 1, cv['purge_bars'], cv['embargo_bars'])[0]
    feats, market, signals = compute_features(btc, cfg.features), Market.from_candles(btc), make_entries(btc, cfg.entry)
    scaler = FeatureScaler.fit(feats.iloc[_bars(sp.train)], cfg.features.clip)
    data = MarketData(market, scaler.transform(feats), signals, btc.attrs.get('symbol', ''))
    sim = Simulation(market, signals, cfg.costs, cfg.env)
    tuned, _ = tune_baselines([sim] * len(sp.train), sp.train, cfg.baselines, periods_per_year(market.interval_seconds))
    model, _, _ = train_on_ranges(cfg, data, sp.train, tuned, range_augmented(cfg, btc, data, sp.train, scaler))
    (ga, gb), = sp.test
    mine = run_backtest(sim, make_policy(model, data.features, cfg, tuned), ga, gb).returns
    pd.testing.assert_series_equal(cv['paths'][0]['agent'].loc[mine.index], mine)


def test_cpcv_tests_the_checkpoint_validation_chose_even_the_clone(monkeypatch, cpcv_with_oracle):
    """When the oracle clone (step 0, `validate_first`) validates best, CPCV's agent is the clone: the same agent as
    a CPCV whose splits run no PPO step at all, not the agent after PPO. (Mutation: dropping the
    `model.policy.load_state_dict(read_weights(...))` of the best-validated weights in `learn_on` fails.)"""
    import riskrl_nb.agents.training as training
    from riskrl_nb.eval.overfitting import cpcv_backtest
    cv, _, btc = cpcv_with_oracle
    monkeypatch.setattr(training, 'validation_score', lambda model, *a, **k: dict(score=-float(model.num_timesteps), total_return=0.0))
    cfg = _tiny_cpcv(pretrain_oracle=dict(epochs=1, samples=800, bc_steps=2), eval_freq=128)
    clone = cpcv_backtest(cfg, btc, '2023-01-01', '2023-04-30')
    sel = clone['checkpoint_selection']
    assert [(s['chosen_step'], s['clone_chosen'], s['timesteps'], s['validations']) for s in sel] == [(0, True, 256, 5)] * 3   # the fresh rival's 2 lose too
    cfg.train.total_timesteps = 0   # no PPO step: the agent is the clone
    untrained = cpcv_backtest(cfg, btc, '2023-01-01', '2023-04-30')
    assert [s['timesteps'] for s in untrained['checkpoint_selection']] == [0] * 3
    pd.testing.assert_series_equal(clone['paths'][0]['agent'], untrained['paths'][0]['agent'])
    assert not clone['paths'][0]['agent'].equals(cv['paths'][0]['agent'])   # validation on the real scores chose other steps


def test_cpcv_valid_frac_is_checked():
    "A share outside [0, 0.5) is refused, naming the key."
    from riskrl_nb.core.config import load_config, ConfigError
    for bad in (-0.1, 0.5):
        with pytest.raises(ConfigError, match='evaluation.cpcv_valid_frac'):
            load_config(overrides=dict(evaluation=dict(cpcv_valid_frac=bad)))


def _with_train_keys(model_dir, out, **keys):
    "A copy of a model folder whose config sets `keys` of `train` (resealed)."
    from riskrl_nb.core.config import load_config, save_config
    from riskrl_nb.agents.bundle import write_manifest
    shutil.copytree(model_dir, out)
    cfg = load_config(out/'config.yaml')
    for k, v in keys.items(): setattr(cfg.train, k, v)
    save_config(cfg, out/'config.yaml')
    (out/'manifest.json').unlink(); write_manifest(out)
    return out


def test_update_keeps_an_ema_and_records_what_it_cannot_apply(tiny_model, tmp_path, capsys):
    """A parent with `train.ema_decay`: the update saves the average of the parent's and its own weights (recorded,
    said); `tensorboard` cannot apply: one line and an entry in meta.json; the default's bc_steps go on."""
    import torch
    from riskrl_nb.core.config import bundled_path
    from riskrl_nb.agents.online import update
    from riskrl_nb.agents.bundle import read_weights
    btc = bundled_path('BTC', '1h')
    parent = _with_train_keys(tiny_model, tmp_path/'parent', ema_decay=0.9, tensorboard=True)
    last = update(_with_train_keys(tiny_model, tmp_path/'p0', ema_decay=0.0), [btc], tmp_path/'last', cutoff='2022-09-30',
                  steps=512, verbose=False)   # decay 0: the average is the last weights
    capsys.readouterr()
    out = update(parent, [btc], tmp_path/'new', cutoff='2022-09-30', steps=512, verbose=True)
    p, w, s = read_weights(parent/'policy.pt'), read_weights(last/'policy.pt'), read_weights(out/'policy.pt')
    assert any(not torch.equal(w[k], p[k]) for k in p)
    for k in p:   # one update: ema = 0.9 parent + 0.1 last
        if p[k].is_floating_point(): torch.testing.assert_close(s[k], 0.9 * p[k] + 0.1 * w[k])
    info = json.loads((out/'meta.json').read_text())['update']
    assert info['ema'] == dict(decay=0.9, updates=1, every='policy update')   # 512 steps = one rollout of 2 x 256
    assert info['ignored_train_keys']['train.tensorboard'] == 'an update writes no TensorBoard logs'
    assert info['oracle_bc']['bc_steps'] == 16   # the default's (16 cloning minibatches per PPO update)
    captured = capsys.readouterr()
    assert 'EMA 0.9' in captured.out
    assert 'update: train.tensorboard not applied: an update writes no TensorBoard logs' in captured.err.splitlines()


def test_cpcv_trains_a_residual_agent_around_the_rule_tuned_best_on_each_split(monkeypatch):
    """`env.reference: best` becomes, per split, the rule tuned best on its training ranges (as `train` does), and the
    agent is backtested through its own policy (`make_policy`: here the residual around that rule)."""
    import riskrl_nb.agents.policy as policy
    from riskrl_nb.data.candles import load_bundled
    from riskrl_nb.eval.overfitting import cpcv_backtest
    from riskrl_nb.sim.residual import RULES
    made, real = [], policy.make_policy
    monkeypatch.setattr(policy, 'make_policy', lambda *a, **k: made.append(real(*a, **k)) or made[-1])
    cfg = _tiny_cpcv(pretrain_oracle=dict(epochs=1, samples=300, bc_steps=1))
    cfg.env.action_space, cfg.env.reference = 'residual', 'best'
    cv = cpcv_backtest(cfg, load_bundled('BTC', '1h'), '2023-01-01', '2023-04-30')
    assert len(cv['training']['reference']) == 3 and set(cv['training']['reference']) <= set(RULES)
    assert {type(p).__name__ for p in made} == {'ResidualPolicy'}   # the tested agents and their validation backtests
    assert len(made) == 3 + sum(s['validations'] for s in cv['checkpoint_selection'])
    assert cv['paths'][0]['agent'].notna().all()


def test_portfolio_saves_the_average_of_its_weights(tmp_path):
    "With `train.ema_decay` the portfolio folder holds the EMA (decay 0: the last weights; 0.5: halfway from the start)."
    import torch
    from riskrl_nb.core.config import load_config, bundled_path
    from riskrl_nb.agents.portfolio import train_portfolio
    paths = [bundled_path(c, '1h') for c in ('BTC', 'ETH')]
    def trained(decay):
        cfg = load_config(overrides={'data': {'train_start': '2022-01-01'}, 'env': {'episode_bars': 200},
                                     'train': {'n_steps': 64, 'batch_size': 64, 'n_epochs': 1, 'n_envs': 2, 'ema_decay': decay}})
        folder = train_portfolio(cfg, paths, tmp_path/str(decay), steps=128, seed=0)
        return torch.load(folder/'policy.pt', weights_only=True), json.loads((folder/'portfolio.json').read_text())
    (last, info0), (half, info) = trained(0.0), trained(0.5)
    assert info['ema'] == dict(decay=0.5, updates=1, every='policy update') and info0['ema']['updates'] == 1
    assert 'train.pretrain_oracle' in info['ignored_train_keys']
    assert any(not torch.equal(half[k], last[k]) for k in last if last[k].is_floating_point())


def test_update_augments_the_new_bars_as_train_does(tiny_model, tmp_path):
    "A parent trained with `train.augment` gets copies of the new bars in its update (recorded); the key is not reported as ignored."
    from riskrl_nb.core.config import bundled_path, AugmentConfig
    from riskrl_nb.agents.online import update
    parent = _with_train_keys(tiny_model, tmp_path/'parent', augment=AugmentConfig(methods=['mirror']))
    out = update(parent, [bundled_path('BTC', '1h')], tmp_path/'new', cutoff='2022-09-30', steps=256, verbose=False)
    info = json.loads((out/'meta.json').read_text())['update']
    assert info['augmented_sets'] == 1 and 'train.augment' not in info['ignored_train_keys']
    assert abs(info['episode_weights']['new'] - 0.5) < 1e-9   # the copy counts as new bars: the replay ratio holds
