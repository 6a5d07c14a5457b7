"""Shared fixtures: the CLI as a subprocess, a tiny trained model, corrupted candle files."""
import json, os, shutil, subprocess, sys
from pathlib import Path
import pytest

ROOT = Path(__file__).resolve().parents[1]
RISKRL = str(Path(sys.executable).parent/'riskrl')

# A configuration small enough to train in seconds: short periods, tiny rollouts, tiny grids.
TINY_CONFIG = """
data: {train_start: '2022-01-01', train_end: '2022-06-30', valid_start: '2022-07-01', valid_end: '2022-08-31',
       test_start: '2023-01-01', test_end: '2023-12-31'}
train: {total_timesteps: 2048, n_steps: 256, n_envs: 2, eval_freq: 1024, batch_size: 128}
baselines: {take_profit_grid: [0.03, 0.05], stop_loss_grid: [0.02, 0.03], atr_mult_grid: [2.0, 3.0], horizon_grid: [24, 48]}
"""


def run_cli(*args, cwd=None, timeout=900):
    "Run `riskrl ARGS...`; return the CompletedProcess (text mode)."
    env = dict(os.environ, PYTHONWARNINGS='ignore')
    return subprocess.run([RISKRL, *map(str, args)], capture_output=True, text=True, cwd=cwd, timeout=timeout, env=env)


@pytest.fixture(scope='session')
def tiny_config(tmp_path_factory) -> Path:
    p = tmp_path_factory.mktemp('cfg')/'tiny.yaml'
    p.write_text(TINY_CONFIG)
    return p


@pytest.fixture(scope='session')
def tiny_model(tmp_path_factory, tiny_config) -> Path:
    "A model folder trained through the CLI on the bundled BTC data (a few seconds)."
    out = tmp_path_factory.mktemp('model')/'m'
    r = run_cli('train', '--config', tiny_config, '--out', out, '--no-progress', '--seed', 3)
    assert r.returncode == 0, r.stderr
    return out


@pytest.fixture(scope='session')
def exported_model(tmp_path_factory, tiny_model) -> Path:
    "A copy of `tiny_model` exported for serving (policy.onnx + policy.int8.onnx, serving.json)."
    out = tmp_path_factory.mktemp('exported')/'m'
    shutil.copytree(tiny_model, out)
    r = run_cli('export', '--model', out, '--quantize')
    assert r.returncode == 0, r.stderr
    return out
