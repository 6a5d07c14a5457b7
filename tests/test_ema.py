"""train.ema_decay through the CLI: the EMA model folder trains and exports as one network (`load_bundle` reads it as any); a bad decay exits 2.
The EMA arithmetic and the saved weights are tested in nbs/34_training.ipynb ('An exponential moving average of the weights')."""
import json
from conftest import run_main

EMA_CONFIG = """
data: {train_start: '2022-01-01', train_end: '2022-06-30', valid_start: '2022-07-01', valid_end: '2022-08-31',
       test_start: '2023-01-01', test_end: '2023-01-31'}
train: {total_timesteps: 512, n_steps: 128, n_envs: 2, eval_freq: 256, batch_size: 64, n_epochs: 2, pretrain_oracle: false,
        ema_decay: 0.9}
baselines: {take_profit_grid: [0.03], stop_loss_grid: [0.02], atr_mult_grid: [3.0], horizon_grid: [24]}
"""


def test_ema_model_trains_and_exports(tmp_path):
    cfg = tmp_path/'ema.yaml'
    cfg.write_text(EMA_CONFIG)
    r = run_main('train', '--config', cfg, '--out', tmp_path/'m', '--no-progress')
    assert r.returncode == 0, r.stderr
    meta = json.loads((tmp_path/'m'/'meta.json').read_text())
    assert meta['ema'] == dict(decay=0.9, updates=2, every='policy update'), meta
    r = run_main('export', '--model', tmp_path/'m')
    assert r.returncode == 0, r.stderr
    report = json.loads((tmp_path/'m'/'export_report.json').read_text())   # export checks policy.onnx against the SB3 policy itself
    assert list(report['variants']) == ['fp32'] and report['variants']['fp32']['agreement'] == 1.0, report


def test_ema_decay_outside_range_exit_2(tmp_path):
    for decay in ('1.0', '-0.5', 'fast'):
        cfg = tmp_path/'bad.yaml'
        cfg.write_text(f'train:\n  ema_decay: {decay}\n')
        r = run_main('train', '--config', cfg, '--out', tmp_path/'m', '--no-progress')
        assert r.returncode == 2, (decay, r.stderr)
        assert len(r.stderr.strip().splitlines()) == 1 and "'train.ema_decay'" in r.stderr, (decay, r.stderr)
        assert not (tmp_path/'m').exists()
