"""End-to-end through the CLI: train, evaluate on files the model has never seen, bad input."""
import json
from pathlib import Path
import numpy as np
import pandas as pd
import pytest
from conftest import run_main as run_cli   # in-process (no torch import per command); the console script: test_readme
from riskrl_nb.core.config import bundled_path
from riskrl_nb.data.candles import load_bundled, write_candles
from contract import check_metrics, check_trades, check_rule_book


def test_model_folder_is_complete(tiny_model):
    for f in ['model.zip', 'config.yaml', 'scaler.json', 'features.json', 'data.json', 'baselines.json', 'train_log.csv']:
        assert (tiny_model/f).exists(), f
    data = json.loads((tiny_model/'data.json').read_text())
    assert data['files'][0]['symbol'] == 'BTC' and len(data['files'][0]['sha256']) == 64
    base = json.loads((tiny_model/'baselines.json').read_text())
    assert set(base['params']) == {'fixed_tp_sl', 'atr_trailing', 'hold_to_horizon'}


def test_evaluate_no_report_writes_the_same_metrics_and_no_report(tiny_model, tmp_path):
    "--no-report: the same metrics.json, trades.csv and equity.csv as with the report, and no report, tearsheet or report figure."
    args = ['evaluate', '--model', tiny_model, '--start', '2023-11-01', '--end', '2023-12-31']
    full, bare = run_cli(*args, '--out', tmp_path/'full'), run_cli(*args, '--out', tmp_path/'bare', '--no-report')
    assert full.returncode == bare.returncode == 0, bare.stderr
    for f in ('metrics.json', 'trades.csv', 'equity.csv'):
        assert (tmp_path/'bare'/f).read_bytes() == (tmp_path/'full'/f).read_bytes(), f
    bare_files, full_files = ({p.name for p in (tmp_path/d).iterdir()} for d in ('bare', 'full'))
    assert bare_files < full_files and not {'report.html', 'tearsheet.html', 'equity.png', 'trades.png'} & bare_files, bare_files
    assert {'report.html', 'tearsheet.html', 'equity.png', 'trades.png'} <= full_files
    assert (tmp_path/'full'/'report.html').exists() and 'report:' in full.stdout and 'report:' not in bare.stdout
    assert 'metrics:' in bare.stdout
    (tmp_path/'pf').mkdir(); (tmp_path/'pf'/'portfolio.json').write_text('{}')   # a portfolio folder: refused before it is read
    r = run_cli('evaluate', '--model', tmp_path/'pf', '--out', tmp_path/'x', '--no-report')
    assert r.returncode == 2 and 'portfolio model' in r.stderr and not (tmp_path/'x').exists()


def test_evaluate_default_period(tiny_model, tmp_path):
    r = run_cli('evaluate', '--model', tiny_model, '--out', tmp_path/'ev')
    assert r.returncode == 0, r.stderr
    m = json.loads((tmp_path/'ev'/'metrics.json').read_text())
    check_metrics(m)
    assert m['data']['symbol'] == 'BTC' and m['data']['start'] == '2023-01-01T00:00:00Z'
    check_trades(pd.read_csv(tmp_path/'ev'/'trades.csv'), m)
    for f in ['report.html', 'equity.png', 'tearsheet.html', 'equity.csv']:
        assert (tmp_path/'ev'/f).stat().st_size > 1000, f
    for name in ['agent', 'fixed_tp_sl', 'atr_trailing', 'hold_to_horizon', 'rule_book', 'oracle']:
        assert name in r.stdout   # the side-by-side table is printed
    assert 'verdict: agent Sharpe' in r.stdout and 'the rule book' in r.stdout
    check_rule_book(m, pd.read_csv(tmp_path/'ev'/'trades.csv'))


def test_evaluate_unseen_coin_other_year_plain_csv(tiny_model, tmp_path):
    "Another coin, another year, another file name, plain CSV: a complete metrics.json."
    df = load_bundled('XRP', '1h').loc['2019-03-01':'2019-09-30']
    p = write_candles(df, tmp_path/'XRPUSDT_1h_2019.csv')
    r = run_cli('evaluate', '--model', tiny_model, '--data', p, '--out', tmp_path/'ev', '--no-report')
    assert r.returncode == 0, r.stderr
    m = json.loads((tmp_path/'ev'/'metrics.json').read_text())
    check_metrics(m)
    assert m['data']['symbol'] == 'XRPUSDT' and m['period']['chosen'] == 'whole file'
    assert m['data']['start'] > '2019-03-01'   # after the feature warm-up


def test_evaluate_daily_file_with_dates(tiny_model, tmp_path):
    r = run_cli('evaluate', '--model', tiny_model, '--data', bundled_path('LINK', '1d'), '--out', tmp_path/'ev',
                '--start', '2021-01-01', '--end', '2022-12-31')
    assert r.returncode == 0, r.stderr
    m = json.loads((tmp_path/'ev'/'metrics.json').read_text())
    check_metrics(m)
    assert m['data']['interval'] == '1d' and m['data']['bars'] == 730


@pytest.mark.parametrize('make_bad,expected', [
    (lambda p: p.write_text('timestamp,open,high,low,close\n'), "column 'volume' missing"),
    (lambda p: write_candles(load_bundled('ETH', '1h').iloc[:150], p), 'feature windows need'),
    (lambda p: write_candles(load_bundled('ETH', '1h').iloc[::-1].iloc[:500], p), 'timestamps not ascending'),
])
def test_evaluate_bad_data_exit_2(tiny_model, tmp_path, make_bad, expected):
    p = tmp_path/'bad.csv'
    make_bad(p)
    r = run_cli('evaluate', '--model', tiny_model, '--data', p, '--out', tmp_path/'ev')
    assert r.returncode == 2, r.stderr
    assert len(r.stderr.strip().splitlines()) == 1 and 'bad.csv' in r.stderr and expected in r.stderr, r.stderr
    assert not (tmp_path/'ev'/'metrics.json').exists()


def test_train_bad_input_exit_2(tmp_path):
    bad_cfg = tmp_path/'bad.yaml'
    bad_cfg.write_text('train:\n  learning_rat: 0.1\n')
    cases = [
        (['--algo', 'alphazero'], "unknown algorithm 'alphazero'"),
        (['--config', bad_cfg], "unknown config key 'train.learning_rat'"),
        (['--config', tmp_path/'nope.yaml'], 'config file not found'),
        (['--data', tmp_path/'nope.csv'], 'nope.csv: file not found'),
        (['--steps', 'many'], "invalid int value"),
    ]
    for args, expected in cases:
        r = run_cli('train', '--out', tmp_path/'m', '--no-progress', *args)
        assert r.returncode == 2, (args, r.stderr)
        assert len(r.stderr.strip().splitlines()) == 1 and expected in r.stderr, (args, r.stderr)


def test_evaluate_incomplete_model_folder(tiny_model, tmp_path):
    import shutil
    broken = tmp_path/'broken'
    shutil.copytree(tiny_model, broken)
    (broken/'scaler.json').unlink()
    r = run_cli('evaluate', '--model', broken, '--out', tmp_path/'ev')
    assert r.returncode == 2 and 'scaler.json missing' in r.stderr
