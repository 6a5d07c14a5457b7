"""Shared fixtures: the CLI as a subprocess, a tiny trained model, corrupted candle files."""
import json, os, shutil, subprocess, sys
from pathlib import Path
import pytest
from filelock import FileLock

ROOT = Path(__file__).resolve().parents[1]
RISKRL = str(Path(sys.executable).parent/'riskrl')
# SB3 models trained without a logger each leave an SB3-<time> folder in the temporary directory: `make test` points
# SB3_LOGDIR into the checkout's .cache, and so does a bare `pytest` run (the workers and the processes they start inherit it)
os.environ.setdefault('SB3_LOGDIR', str(ROOT/'.cache'/'sb3-logs'))

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


def run_main(*args):
    """`riskrl ARGS` in this process, as `run_cli` returns it (returncode, stdout, stderr): no process start, the package
    and torch are imported once. The console script itself is exercised by run_cli's tests and the README test."""
    import contextlib, io
    from types import SimpleNamespace
    from riskrl_nb.cli import main
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try: rc = main([str(a) for a in args])
        except SystemExit as e: rc = e.code
    return SimpleNamespace(returncode=rc, stdout=out.getvalue(), stderr=err.getvalue())


@pytest.fixture(scope='session')
def tiny_config(tmp_path_factory) -> Path:
    p = tmp_path_factory.mktemp('cfg')/'tiny.yaml'
    p.write_text(TINY_CONFIG)
    return p


def shared_once(tmp_path_factory, name: str, make) -> Path:
    """`make(folder)` once per test run, shared by every pytest-xdist worker: the first worker to get here builds
    `folder` under the run's common temporary root while holding a file lock; the others wait and reuse it.
    Tests must treat the folder as read-only (copy it to change it)."""
    root = tmp_path_factory.getbasetemp()
    if os.environ.get('PYTEST_XDIST_WORKER'): root = root.parent   # basetemp/popen-gwN -> the run's shared folder
    folder, done = root/f'shared-{name}', root/f'shared-{name}.done'
    with FileLock(str(root/f'shared-{name}.lock')):
        if not done.exists():
            shutil.rmtree(folder, ignore_errors=True)
            make(folder)
            done.touch()
    return folder


@pytest.fixture(scope='session')
def tiny_model(tmp_path_factory, tiny_config) -> Path:
    """A model folder trained by `riskrl train` on the bundled BTC data (a few seconds), once per run for all workers; in this
    process (`run_main`): a worker that needs it waits for it, so its process start would be waited for too."""
    def make(folder):
        r = run_main('train', '--config', tiny_config, '--out', folder/'m', '--no-progress', '--seed', 3)
        assert r.returncode == 0, r.stderr
    return shared_once(tmp_path_factory, 'tiny-model', make)/'m'


@pytest.fixture(scope='session')
def exported_model(tmp_path_factory, tiny_model) -> Path:
    "A copy of `tiny_model` exported for serving (policy.onnx + policy.int8.onnx, serving.json)."
    def make(folder):
        shutil.copytree(tiny_model, folder/'m')
        r = run_main('export', '--model', folder/'m', '--quantize')   # in this process, as tiny_model
        assert r.returncode == 0, r.stderr
    return shared_once(tmp_path_factory, 'exported-model', make)/'m'
