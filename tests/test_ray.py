"""Ray as a backend: the same small grid run locally and on a two-node Ray cluster started on loopback (identical
results files, resumable across backends), and the backend options' errors. Starting Ray's processes takes about
20 s per node on an idle 2-core machine and times out (Ray's raylet waits a fixed time for its agents) under heavy
load, so the cluster test is `slow`; the default tests check the options without starting Ray."""
import contextlib, json, os, shutil, signal, socket, subprocess, sys, tempfile, time
from pathlib import Path
import nbformat
import pandas as pd
import pytest
import yaml
from conftest import TINY_CONFIG as TINY, run_main
from raystart import fast_ray_pythonpath

ray = pytest.importorskip('ray', reason="Ray is optional: pip install 'riskrl[ray]'")

NOTEBOOK = [nbformat.v4.new_code_cell("out_dir = ''\nsymbol = 'BTC'\nwindow = 24", metadata={'tags': ['parameters']}),
            nbformat.v4.new_code_cell(
"""import json, os
from pathlib import Path
from riskrl_nb.data.candles import load_bundled
r = load_bundled(symbol, '1h')['close'].pct_change()
vol = r.rolling(window).std().dropna()
Path(out_dir, 'metrics.json').write_text(json.dumps(dict(vol_mean=float(vol.mean()), vol_last=float(vol.iloc[-1]), bars=len(vol))))
Path(out_dir, 'where.txt').write_text(os.environ.get('RAY_RAYLET_PID', 'local'))""")]


def write_grid(folder: Path) -> Path:
    nb = nbformat.v4.new_notebook(cells=NOTEBOOK, metadata={'kernelspec': {'name': 'python3', 'display_name': 'python3', 'language': 'python'}})
    nbformat.write(nb, folder/'vol.ipynb')
    (folder/'grid.yaml').write_text(yaml.safe_dump(dict(notebook='vol.ipynb', parameters=dict(symbol='ETH'), grid=dict(window=[24, 168]))))
    return folder/'grid.yaml'


@pytest.fixture(autouse=True)
def fast_ray_start(tmp_path_factory, monkeypatch):
    "Ray processes started by this file's tests skip a 4.5 s optional import (see raystart.py)."
    monkeypatch.setenv('PYTHONPATH', fast_ray_pythonpath(tmp_path_factory.mktemp('raystub')))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0)); return s.getsockname()[1]


@contextlib.contextmanager
def loopback_cluster(nodes: int = 2, num_cpus: int = 1, timeout: float = 150):
    """`ray start --head` plus `nodes - 1` `ray start --address` on this machine (loopback), each in its own process
    group with `--block`, so that stopping the group stops every process of that node; stopped also on failure."""
    from riskrl_nb.ops.distributed import RAY_START_ENV
    tmp = Path(tempfile.mkdtemp(prefix='rr', dir='/tmp'))   # short: Ray's socket paths must stay under 107 characters
    env = dict(os.environ, **RAY_START_ENV, PYTHONPATH=fast_ray_pythonpath(tmp/'stub'),   # skip a 4.5 s import per Ray process (raystart.py)
               RAY_AUTH_MODE=os.environ.get('RAY_AUTH_MODE', 'disabled'))   # Ray >= 2.5x turns token auth on for the head when ~/.ray/auth_token exists; the joining node does not
    port, procs = free_port(), []
    common = ['--block', '--node-ip-address', '127.0.0.1', '--num-cpus', str(num_cpus), '--object-store-memory', str(100 * 2**20),
              '--disable-usage-stats']
    def start(i, args):
        log = tmp/f'node{i}.log'
        p = subprocess.Popen([sys.executable, '-m', 'ray.scripts.scripts', 'start', *args, *common], stdout=open(log, 'w'),
                             stderr=subprocess.STDOUT, env=env, start_new_session=True)
        procs.append(p)
        t0 = time.time()
        while 'Ray runtime started' not in log.read_text():
            assert p.poll() is None and time.time() - t0 < timeout, f"ray node {i} did not start:\n{log.read_text()[-3000:]}"
            fatal = [l for f in tmp.glob('r/session_*/logs/raylet*.out') for l in f.read_text(errors='replace').splitlines() if ' C ' in l[:40]]
            assert not fatal, (f"ray node {i}: its raylet aborted ({fatal[-1][-200:]}); on a busy machine Ray's agents start slower "
                               "than the raylet waits for them (their import of jsonschema's rfc3987_syntax grammar alone takes ~5 s)")
            time.sleep(0.5)
    try:
        start(0, ['--head', '--port', str(port), '--include-dashboard', 'false', '--temp-dir', str(tmp/'r')])
        for i in range(1, nodes): start(i, ['--address', f'127.0.0.1:{port}'])
        yield f'127.0.0.1:{port}'
    finally:
        for p in reversed(procs):
            with contextlib.suppress(ProcessLookupError): os.killpg(p.pid, signal.SIGTERM)
        for p in reversed(procs):
            try: p.wait(timeout=30)
            except subprocess.TimeoutExpired: pass
            with contextlib.suppress(ProcessLookupError): os.killpg(p.pid, signal.SIGKILL)   # what SIGTERM left
        shutil.rmtree(tmp, ignore_errors=True)


def results(out: Path) -> pd.DataFrame:
    return pd.read_csv(out/'results.csv').drop(columns=['seconds'])   # timing is the one field allowed to differ


def files(out: Path) -> list:
    return sorted(str(p.relative_to(out)) for p in out.rglob('*') if p.is_file())


@pytest.mark.slow
def test_grid_on_a_two_node_ray_cluster_matches_the_local_run(tmp_path, monkeypatch):
    "Not in the default run (Ray's start-up): the default tests check the options; the local path is test_experiments.py's."
    monkeypatch.chdir(tmp_path)
    grid = write_grid(tmp_path)
    r = run_main('experiments', 'run', grid, '--jobs', 2, '--out', tmp_path/'local')
    assert r.returncode == 0, r.stdout + r.stderr
    with loopback_cluster(nodes=2) as address:
        r = run_main('experiments', 'run', grid, '--backend', 'ray', '--address', address, '--out', tmp_path/'ray')
        assert r.returncode == 0, r.stdout + r.stderr
        assert f'2 to run (as Ray tasks on {address})' in r.stdout, r.stdout
        again = run_main('experiments', 'run', grid, '--backend', 'ray', '--address', address, '--out', tmp_path/'ray')
        assert again.returncode == 0 and '2 already complete, 0 to run' in again.stdout, again.stdout + again.stderr
    local, on_ray = results(tmp_path/'local'), results(tmp_path/'ray')
    assert list(local['run']) == ['window=24', 'window=168'] and set(local['status']) == {'ok'}
    pd.testing.assert_frame_equal(local, on_ray)
    for run in local['run']:
        assert (tmp_path/'local'/run/'metrics.json').read_bytes() == (tmp_path/'ray'/run/'metrics.json').read_bytes()
    assert files(tmp_path/'local') == files(tmp_path/'ray')
    where = {(tmp_path/'ray'/run/'where.txt').read_text() for run in local['run']}
    assert 'local' not in where and len(where) == 2, f"both nodes should have run a job: {where}"   # raylet pids of the two nodes
    assert {(tmp_path/'local'/run/'where.txt').read_text() for run in local['run']} == {'local'}
    r = run_main('experiments', 'run', grid, '--out', tmp_path/'ray')   # the ray run's folder is complete for the local backend too
    assert r.returncode == 0 and '2 already complete, 0 to run' in r.stdout, r.stdout + r.stderr


def test_backend_options_are_checked(tmp_path):
    grid = write_grid(tmp_path)
    r = run_main('experiments', 'run', grid, '--address', 'auto', '--out', tmp_path/'o')
    assert r.returncode == 2 and '--address auto needs --backend ray' in r.stderr, r.stderr
    r = run_main('experiments', 'run', grid, '--backend', 'dask', '--out', tmp_path/'o')
    assert r.returncode == 2 and "invalid choice: 'dask'" in r.stderr, r.stderr
    r = run_main('hpo', '--trials', 2, '--workers', 2, '--out', tmp_path/'h')
    assert r.returncode == 2 and '--workers 2 needs --backend ray' in r.stderr, r.stderr
    r = run_main('benchmark', '--quick', '--address', 'auto', '--out', tmp_path/'b')
    assert r.returncode == 2 and 'needs --backend ray' in r.stderr, r.stderr


def test_a_bad_address_is_one_line(tmp_path):
    "An address where no cluster runs: a RiskrlError naming it (ray.init fails fast: nothing listens on the port)."
    grid = write_grid(tmp_path)
    r = run_main('experiments', 'run', grid, '--backend', 'ray', '--address', f'127.0.0.1:{free_port()}', '--out', tmp_path/'o')
    assert r.returncode == 2 and 'cannot connect to a Ray cluster' in r.stderr, r.stdout + r.stderr


BENCH = ['benchmark', '--coins', 'BTC', 'ETH', '--windows', '2023H2', '--seeds', '2', '--steps', '256', '--train-months', '4',
         '--loo', 'none', '--no-progress']


@pytest.mark.parametrize('backend', ['pool', pytest.param('ray', marks=pytest.mark.slow)])
def test_benchmark_cells_as_jobs_match_the_sequential_run(tmp_path, tiny_config, backend):
    """The benchmark's models trained as jobs (a pool of this process; slow: Ray tasks on a local instance, whose
    start the pool case skips): the same table and model folders as the sequential run."""
    from riskrl_nb.eval import benchmark
    r = run_main(*BENCH, '--config', tiny_config, '--out', tmp_path/'seq')
    assert r.returncode == 0, r.stderr[-2000:]
    if backend == 'ray': r = run_main(*BENCH, '--config', tiny_config, '--out', tmp_path/'jobs', '--backend', 'ray', '--jobs', 2)
    else:
        from riskrl_nb.ops.distributed import executor
        from argparse import ArgumentParser
        p = ArgumentParser(); benchmark._benchmark_args(p)
        with executor('local', 1) as pool:   # one thread: rule tuning's memo patches a module attribute
            benchmark._benchmark_cli(p.parse_args([str(a) for a in BENCH[1:]] + ['--config', str(tiny_config), '--out', str(tmp_path/'jobs')]), pool=pool)
    assert r.returncode == 0, r.stderr[-2000:]
    seq, jobs = pd.read_csv(tmp_path/'seq'/'table.csv'), pd.read_csv(tmp_path/'jobs'/'table.csv')
    pd.testing.assert_frame_equal(seq, jobs)
    assert files(tmp_path/'seq'/'models') == files(tmp_path/'jobs'/'models')


def test_hpo_workers_as_jobs_share_one_study(tmp_path):
    """`run_study_workers`, the path `riskrl hpo --backend ray --workers N` takes, on the local executor (threads: the
    Ray transport itself is checked by the slow test below): workers join the study the driver opened and together run
    exactly its trials, in its folder."""
    import optuna
    from riskrl_nb.core.config import load_config
    from riskrl_nb.ops.hpo import hpo, run_study_workers, load_hpo_study, check_space
    base = load_config(overrides=yaml.safe_load(TINY) | dict(train=dict(total_timesteps=256, n_steps=128, n_envs=2, eval_freq=256, batch_size=64)))
    space = check_space({'train.learning_rate': dict(low=1e-4, high=1e-3, log=True)})
    hpo(base, 0, tmp_path, space=space, pruner='none')                       # the driver opens the study
    ran = run_study_workers(f"sqlite:///{tmp_path/'study.db'}", 'riskrl', base, space, ['sortino'], 2, tmp_path, False, 'none', 20,
                            0, 60, workers=1, backend='local')
    study = load_hpo_study(f"sqlite:///{tmp_path/'study.db'}", 'riskrl')
    states = [t.state for t in study.get_trials(deepcopy=False)]
    assert ran == 2 and states == [optuna.trial.TrialState.COMPLETE] * 2, states
    assert sorted(p.name for p in (tmp_path/'trials').iterdir()) == ['0000', '0001']   # the trials' model folders, where a local run puts them


@pytest.mark.slow
def test_hpo_on_ray_runs_the_study_in_workers(tmp_path):
    "`riskrl hpo --backend ray --workers 2` on a local Ray instance: the study gets its trials, run by Ray workers."
    (tmp_path/'tiny.yaml').write_text(TINY)
    (tmp_path/'space.yaml').write_text("include_defaults: false\ntrain.learning_rate: {low: 1.0e-5, high: 1.0e-3, log: true}\n")
    r = run_main('hpo', '--config', tmp_path/'tiny.yaml', '--space', tmp_path/'space.yaml', '--trials', 2, '--steps', 256,
                 '--pruner', 'none', '--backend', 'ray', '--workers', 2, '--out', tmp_path/'h')
    assert r.returncode == 0, r.stdout + r.stderr
    assert '2 workers as ray tasks' in r.stdout and 'this worker ran 2' in r.stdout, r.stdout
    assert len(pd.read_csv(tmp_path/'h'/'trials.csv')) == 2


@pytest.mark.parametrize('error', [RuntimeError('raylet did not start in time'), KeyboardInterrupt()])
def test_a_failed_ray_start_stops_what_it_started(monkeypatch, error):
    "ray.init failing half-way (a local instance whose raylet timed out, or Ctrl-C) must not leave Ray's processes behind."
    from riskrl_nb.core.config import RiskrlError
    from riskrl_nb.ops import distributed
    calls = []
    class FakeRay:
        def is_initialized(self): return False
        def init(self, **kw): calls.append('init'); raise error
        def shutdown(self): calls.append('shutdown')
    monkeypatch.setattr(distributed, 'import_ray', lambda: FakeRay())
    expected = RiskrlError if isinstance(error, RuntimeError) else KeyboardInterrupt
    with pytest.raises(expected):
        with distributed.ray_session(): pass
    assert calls == ['init', 'shutdown']
