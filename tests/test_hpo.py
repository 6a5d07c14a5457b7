"""riskrl hpo end-to-end: two workers sharing one study on a real PostgreSQL server, and a study that
survives a killed worker and a Ctrl-C and is resumed, then summarised by the hpo_summary notebook."""
import json, os, re, signal, subprocess, sys, time, uuid
from pathlib import Path
import pytest
import yaml
from conftest import ROOT, RISKRL, TINY_CONFIG

SPACE = """include_defaults: false
train.learning_rate: {low: 1.0e-5, high: 1.0e-3, log: true}
train.net_arch: {choices: [[32, 32], [64, 64]]}
reward.drawdown_penalty: {low: 0.0, high: 2.0}
"""
PG_HELP = ("set RISKRL_PG_URL=postgresql://USER:PW@127.0.0.1:5432/DB to run it against a PostgreSQL server "
           "(.ci/run installs and starts one)")


@pytest.fixture()
def hpo_files(tmp_path):
    (tmp_path/'tiny.yaml').write_text(TINY_CONFIG)
    (tmp_path/'space.yaml').write_text(SPACE)
    return ['--config', tmp_path/'tiny.yaml', '--space', tmp_path/'space.yaml']


def hpo_cmd(files, out, *extra):
    return [RISKRL, 'hpo', *map(str, files), '--out', str(out), *map(str, extra)]


def start(cmd):
    env = dict(os.environ, PYTHONWARNINGS='ignore')
    # a runner started in the background (`cmd &` without job control) ignores SIGINT, and its children inherit
    # that; the worker must see Ctrl-C as a user would, whatever launched the tests
    sigint_default = lambda: signal.signal(signal.SIGINT, signal.SIG_DFL)
    return subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env, preexec_fn=sigint_default)


def reported_trials(stdout) -> set:
    "Numbers of the trials a worker says it finished."
    return {int(m) for m in re.findall(r'^trial\s+(\d+) (?:complete|pruned)', stdout, re.M)}


def storage(url):
    from riskrl_nb.ops.hpo import make_storage
    return make_storage(url)


def wait_for(predicate, timeout=120, every=0.2, proc=None):
    "Poll `predicate` until it is truthy; fail at once, with its stderr, if the worker `proc` has exited first."
    t0 = time.time()
    while time.time() - t0 < timeout:
        v = predicate()
        if v: return v
        if proc is not None and proc.poll() is not None:
            raise AssertionError(f"worker exited (code {proc.returncode}) before the awaited state:\n{proc.stderr.read()[-2000:]}")
        time.sleep(every)
    raise AssertionError(f"timed out after {timeout}s")


def pg_url() -> str:
    "The PostgreSQL URL, or skip (developer machine) / fail (CI, RISKRL_REQUIRE_PG=1) when there is no server."
    url, required = os.environ.get('RISKRL_PG_URL'), os.environ.get('RISKRL_REQUIRE_PG') == '1'
    problem = None if url else 'RISKRL_PG_URL is not set'
    if url:
        try: storage(url)
        except Exception as e: problem = f"cannot reach {url.split('@')[-1]}: {e}"
    if problem:
        if required: pytest.fail(f"RISKRL_REQUIRE_PG=1 but {problem}")
        pytest.skip(f"no PostgreSQL server ({problem}); {PG_HELP}")
    return url


def test_two_workers_share_a_postgresql_study(tmp_path, hpo_files):
    "Two worker processes on one PostgreSQL study: every trial runs once, none is lost or duplicated."
    import optuna
    from optuna.trial import TrialState
    url, name, n = pg_url(), f"test-two-workers-{uuid.uuid4().hex[:8]}", 4
    try:
        workers = [start(hpo_cmd(hpo_files, tmp_path/w, '--storage', url, '--study', name, '--trials', n, '--steps', 512))
                   for w in ('a', 'b')]
        outs = [w.communicate(timeout=600) for w in workers]
        for w, (out, err) in zip(workers, outs): assert w.returncode == 0, err[-3000:]
        study = optuna.load_study(study_name=name, storage=storage(url))
        trials = study.trials
        numbers = [t.number for t in trials]
        assert n <= len(trials) <= n + 1                      # one extra at most: both workers started the last one
        assert numbers == list(range(len(trials)))
        assert all(t.state in (TrialState.COMPLETE, TrialState.PRUNED) for t in trials), [t.state for t in trials]
        assert len({t.user_attrs['worker'] for t in trials}) == 2      # both workers took part
        a, b = (reported_trials(out) for out, _ in outs)
        assert not a & b and a | b == set(numbers), (a, b)              # each trial ran in exactly one worker
        folders = [{p.name for p in (tmp_path/w/'trials').iterdir()} for w in ('a', 'b')]
        assert not folders[0] & folders[1] and folders[0] | folders[1] == {f'{k:04d}' for k in numbers}
        assert len({json.dumps(t.params, sort_keys=True) for t in trials}) == len(trials)   # no duplicated parameters
        assert all((tmp_path/w/'best_config.yaml').exists() for w in ('a', 'b'))
    finally:
        try: optuna.delete_study(study_name=name, storage=storage(url))
        except Exception: pass


@pytest.mark.slow   # ~50 s; in CI nbs/50_hpo.ipynb retries a dead worker's stale trial in-process and the two-worker PostgreSQL test runs
def test_killed_and_interrupted_workers_resume(tmp_path, hpo_files):
    "SIGKILL mid-trial, then Ctrl-C mid-trial: the study stays consistent and the same command resumes it."
    import optuna
    from optuna.trial import TrialState
    out = tmp_path/'hpo'
    # trials long enough (several seconds) to be caught RUNNING by the polling below on a loaded machine
    cmd = hpo_cmd(hpo_files, out, '--trials', 2, '--steps', 4096, '--heartbeat', 1, '--sampler-seed', 0)
    url = f"sqlite:///{out/'study.db'}"
    def running(pid=None):
        if not (out/'study.db').exists(): return None
        try: trials = optuna.load_study(study_name='riskrl', storage=url).trials
        except Exception: return None     # not created yet
        return [t for t in trials if t.state == TrialState.RUNNING
                and (pid is None or t.user_attrs.get('worker', '').endswith(f':{pid}'))]

    a = start(cmd)                                          # 1. a worker killed in the middle of a trial
    killed = wait_for(lambda: running(a.pid), proc=a)[0].number
    time.sleep(0.5); a.kill(); a.wait()
    assert running()[0].number == killed                    # left RUNNING: its heartbeat will go stale
    time.sleep(1.5)
    b = start(cmd)                                          # 2. the next worker re-queues it; Ctrl-C it mid-trial
    interrupted = wait_for(lambda: running(b.pid), proc=b)[0].number
    # Ctrl-C once the trial is training (its staging folder exists): during the imports and data preparation before,
    # Python may drop the KeyboardInterrupt in a garbage-collection callback and the trial would simply finish
    wait_for(lambda: (out/'trials'/f'.{interrupted:04d}.partial').exists(), proc=b)
    time.sleep(1.0); b.send_signal(signal.SIGINT)
    _, err = b.communicate(timeout=120)
    assert b.returncode == 130 and 'interrupted' in err and 'Run the same command to resume' in err, err[-2000:]
    c = subprocess.run(cmd, capture_output=True, text=True, timeout=600)   # 3. resume to the end
    assert c.returncode == 0, c.stderr[-3000:]

    trials = optuna.load_study(study_name='riskrl', storage=url).trials
    states = {t.number: t.state for t in trials}
    assert states[killed] == TrialState.FAIL and states[interrupted] == TrialState.FAIL
    assert not any(s in (TrialState.RUNNING, TrialState.WAITING) for s in states.values())
    assert sum(s in (TrialState.COMPLETE, TrialState.PRUNED) for s in states.values()) == 2
    retries = {t.system_attrs.get('failed_trial'): t for t in trials if 'failed_trial' in t.system_attrs}
    assert killed in retries                                # the killed trial ran again with its parameters
    assert retries[killed].params == trials[killed].params
    assert any(interrupted in t.system_attrs.get('retry_history', []) for t in trials)
    assert yaml.safe_load((out/'best_config.yaml').read_text())['train']['total_timesteps'] == 4096

    import papermill as pm                                  # 4. the summary notebook on that study
    (tmp_path/'summary').mkdir()
    pm.execute_notebook(str(ROOT/'nbs'/'experiments'/'hpo_summary.ipynb'), str(tmp_path/'summary'/'executed.ipynb'),
                        parameters=dict(hpo_dir=str(out), out_dir=str(tmp_path/'summary')), kernel_name='python3',
                        progress_bar=False)
    s = json.loads((tmp_path/'summary'/'summary.json').read_text())
    assert s['n_complete'] + s['n_pruned'] == 2 and s['n_failed'] == 2 and s['n_trials'] == len(trials)
    for f in ['trials.csv', 'best_config.yaml', 'history.png', 'validation_curves.png']:
        assert (tmp_path/'summary'/f).exists(), f
