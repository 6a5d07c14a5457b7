"""Checkpoint selection when validation gives no usable score: `train` must still publish a complete model folder."""
import json
import pandas as pd
import riskrl_nb.agents.training as tr
from riskrl_nb.agents.bundle import load_bundle
from riskrl_nb.core.config import load_config

TINY = dict(data=dict(train_start='2022-01-01', train_end='2022-06-30', valid_start='2022-07-01', valid_end='2022-08-31'),
            train=dict(total_timesteps=1024, n_steps=256, n_envs=2, eval_freq=256, batch_size=128),
            baselines=dict(take_profit_grid=[0.03], stop_loss_grid=[0.02], atr_mult_grid=[3.0], horizon_grid=[24]))


def test_no_finite_validation_score_saves_the_final_policy_and_says_so(tmp_path, monkeypatch, capsys):
    "Every validation NaN: no candidate is ever 'best'; the final policy is saved (it loads), meta.json and stderr say so."
    monkeypatch.setattr(tr, 'validation_score', lambda *a, **k: dict(score=float('nan'), total_return=float('nan')))
    out = tr.train(load_config(overrides=TINY), tmp_path/'m', progress=False, verbose=False)
    assert load_bundle(out).policy is not None
    log = pd.read_csv(out/'train_log.csv')
    assert len(log) >= 2 and log.valid_sharpe.isna().all()
    assert json.loads((out/'meta.json').read_text())['saved'] == 'final (no finite validation score)'
    assert f"validation: no finite sharpe in {len(log)} checks; the final policy is saved" in capsys.readouterr().err


def test_best_validated_policy_is_what_meta_says_was_saved(tmp_path, monkeypatch):
    """With finite scores the policy is saved at each new best (the clone at step 0, 0.5 after the first rollout of 2 x 256)
    and not after the worse last one, nor again at the end, nor by the fresh rival scoring below 0.5; meta.json says so."""
    scores = iter([0.1, 0.5, -0.2, 0.3, 0.0, 0.0])
    monkeypatch.setattr(tr, 'validation_score', lambda *a, **k: dict(score=next(scores), total_return=0.0))
    saved_at, save = [], tr.save_policy
    monkeypatch.setattr(tr, 'save_policy', lambda model, out: (saved_at.append(model.num_timesteps), save(model, out))[1])
    out = tr.train(load_config(overrides=TINY), tmp_path/'m', progress=False, verbose=False)
    log = pd.read_csv(out/'train_log.csv')
    assert list(log.valid_sharpe) == [0.1, 0.5, -0.2, 0.3, 0.0] and list(log.run) == ['clone'] * 3 + ['fresh'] * 2 and saved_at == [0, 512]
    assert json.loads((out/'meta.json').read_text())['fresh_rival']['chosen'] == 'clone'
    assert json.loads((out/'meta.json').read_text())['saved'] == 'best validation'
    assert json.loads((out/'meta.json').read_text())['best_validation'] == 0.5


def test_learn_on_without_a_finite_score_keeps_the_final_policy_and_says_so(monkeypatch, capsys):
    "The side trainers' `learn_on` (CPCV, online updates, Reptile): no chosen checkpoint, the final policy, one line on stderr."
    from riskrl_nb.sim.prepare import prepare_data, load_frames
    cfg = load_config(overrides=TINY)
    prepared, _ = prepare_data(load_frames(cfg), cfg)
    monkeypatch.setattr(tr, 'validation_score', lambda *a, **k: dict(score=float('nan'), total_return=float('nan')))
    model, _, applied = tr.learn_on(cfg, prepared, valid_sets=prepared)
    assert applied['validation']['chosen_step'] is None and len(applied['validation']['log']) >= 2
    assert 'validation: no finite sharpe in' in capsys.readouterr().err
