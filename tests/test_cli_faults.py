"""User mistakes and damaged files through the CLI: one line on stderr naming the problem, exit code 2, never a
traceback or a hang; evaluating inside the training period is allowed but flagged."""
import json, os, shutil
from pathlib import Path
import pytest
from conftest import run_cli, run_main
from riskrl_nb.core.config import RiskrlError
from riskrl_nb.data.candles import load_bundled, load_candles, write_candles
from riskrl_nb.agents.bundle import write_manifest, WEIGHTS_FILE


def one_line_exit_2(r, *needles):
    assert r.returncode == 2 and r.stderr.count('\n') == 1 and 'Traceback' not in r.stderr, r.stderr[-3000:]
    for n in needles: assert n in r.stderr, (n, r.stderr)


def cli(capsys, *args):
    "`riskrl ARGS` in this process (user mistakes fail before any work: no need to pay a process start each)."
    from types import SimpleNamespace
    from riskrl_nb.cli import main
    capsys.readouterr()
    rc = main([str(a) for a in args])
    out = capsys.readouterr()
    return SimpleNamespace(returncode=rc, stdout=out.out, stderr=out.err)


def _truncated(m): (m/WEIGHTS_FILE).write_bytes((m/WEIGHTS_FILE).read_bytes()[:200])
def _garbage(m): (m/WEIGHTS_FILE).write_bytes(os.urandom(3000))
def _bad_scaler_json(m): (m/'scaler.json').write_text('{"columns": ["ret_1"], "mean": [0.0]')
def _bad_scaler_fields(m): (m/'scaler.json').write_text('{"columns": ["ret_1"], "average": [0.0]}')
def _short_scaler(m):
    d = json.loads((m/'scaler.json').read_text()); d['mean'] = d['mean'][:-1]; (m/'scaler.json').write_text(json.dumps(d))
def _bad_baselines(m): (m/'baselines.json').write_text('[]')


@pytest.mark.parametrize('damage, needle', [
    (_truncated, 'policy.pt: not a readable weights file'), (_garbage, 'policy.pt: not a readable weights file'),
    (_bad_scaler_json, 'scaler.json'), (_bad_scaler_fields, 'scaler.json: not a feature scaler'),
    (_short_scaler, 'scaler.json: not a feature scaler'), (_bad_baselines, 'baselines.json: not readable')])
def test_evaluate_damaged_model_file(tiny_model, tmp_path, capsys, damage, needle):
    "Damaged after training (the manifest catches it) and damaged then re-sealed (the loader catches it)."
    m = tmp_path/'m'; shutil.copytree(tiny_model, m)
    damage(m)
    one_line_exit_2(cli(capsys, 'evaluate', '--model', m, '--out', tmp_path/'ev'), 'changed since training')
    write_manifest(m)
    one_line_exit_2(cli(capsys, 'evaluate', '--model', m, '--out', tmp_path/'ev'), needle)


def test_evaluate_bad_options(tiny_model, tmp_path, capsys):
    one_line_exit_2(cli(capsys, 'evaluate', '--model', tiny_model, '--out', tmp_path/'ev', '--start', 'notadate'),
                    "start date 'notadate' is not a date")
    (tmp_path/'file').write_text('x')
    one_line_exit_2(cli(capsys, 'evaluate', '--model', tiny_model, '--out', tmp_path/'file'), 'exists and is not a folder')


def test_evaluate_short_valid_file_runs(tiny_model, tmp_path):
    "Twelve days: too short for quantstats' tearsheet (it raised LinAlgError); the evaluation completes without it."
    p = write_candles(load_bundled('BTC', '1h').loc['2023-01-01':'2023-01-12'], tmp_path/'BTC_short.csv')
    r = run_main('evaluate', '--model', tiny_model, '--data', p, '--out', tmp_path/'ev')
    assert r.returncode == 0 and 'Traceback' not in r.stderr, r.stderr[-3000:]
    assert (tmp_path/'ev'/'metrics.json').exists() and (tmp_path/'ev'/'report.html').exists()


@pytest.mark.parametrize('config, key', [('train: {batch_size: 0}', 'train.batch_size'),
                                         ('costs: {fee_rate: -0.5}', 'costs.fee_rate'),
                                         ('train: {total_timesteps: -5}', 'train.total_timesteps'),
                                         ('env: {action_space: discreet3}', 'env.action_space')])
def test_train_config_out_of_range(tmp_path, capsys, config, key):
    (tmp_path/'c.yaml').write_text(config + '\n')
    one_line_exit_2(cli(capsys, 'train', '--config', tmp_path/'c.yaml', '--out', tmp_path/'m'), key, 'c.yaml')
    assert not (tmp_path/'m').exists()


def test_fifo_as_data_does_not_hang(tmp_path):
    fifo = tmp_path/'BTC.csv'; os.mkfifo(fifo)
    one_line_exit_2(run_cli('train', '--data', fifo, '--out', tmp_path/'m', timeout=300), 'BTC.csv: not a regular file')
    assert not (tmp_path/'m').exists() and not (tmp_path/'.m.partial').exists()
    r = run_cli('data', 'validate', fifo, timeout=300)
    assert r.returncode == 2 and 'not a regular file' in r.stderr


def test_unreadable_data_file(tmp_path, monkeypatch):
    "A file that cannot be read (permissions; the tests may run as root, so the read error is injected)."
    p = write_candles(load_bundled('BTC', '1h').iloc[:300], tmp_path/'BTC.csv')
    def denied(self): raise PermissionError(13, 'Permission denied')
    monkeypatch.setattr(Path, 'read_bytes', denied)
    with pytest.raises(RiskrlError, match=r'BTC.csv: cannot be read \(Permission denied\)'): load_candles(p)


@pytest.mark.skipif(os.geteuid() == 0, reason='root reads any file')
def test_unreadable_data_file_cli(tmp_path):
    p = write_candles(load_bundled('BTC', '1h').iloc[:300], tmp_path/'BTC.csv'); p.chmod(0)
    one_line_exit_2(run_cli('train', '--data', p, '--out', tmp_path/'m'), 'cannot be read')


def test_evaluate_inside_training_period_is_flagged(tiny_model, tmp_path):
    r = run_main('evaluate', '--model', tiny_model, '--out', tmp_path/'ev', '--start', '2022-03-01', '--end', '2022-03-31')
    assert r.returncode == 0 and 'warning: the evaluated period 2022-03-01..2022-03-31 overlaps the model' in r.stderr, r.stderr[-2000:]
    m = json.loads((tmp_path/'ev'/'metrics.json').read_text())
    assert m['period']['overlaps_training'] is True and 'in-sample' in m['warnings'][0]
    assert m['training_overlap']['periods'][0]['split'] == 'train'
    assert 'In-sample evaluation' in (tmp_path/'ev'/'report.html').read_text()
    r = run_main('evaluate', '--model', tiny_model, '--out', tmp_path/'ev2', '--start', '2023-01-01', '--end', '2023-01-31')
    m = json.loads((tmp_path/'ev2'/'metrics.json').read_text())
    assert r.returncode == 0 and m['period']['overlaps_training'] is False and 'warnings' not in m and 'overlaps' not in r.stderr
