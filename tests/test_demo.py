"""`riskrl demo --quick`: the main job end to end on the bundled data."""
import json
from pathlib import Path
import pandas as pd
import pytest
from conftest import run_cli
from contract import check_metrics, check_trades, check_rule_book


def check_quick_demo(out: Path, stdout: str, steps: int):
    "What `riskrl demo --quick --steps STEPS --out OUT` must leave: contract-valid metrics and trades of BTC 2023, the report."
    m = json.loads((out/'eval'/'metrics.json').read_text())
    check_metrics(m)
    assert (m['data']['symbol'], m['data']['start'], m['data']['end']) == ('BTC', '2023-01-01T00:00:00Z', '2023-12-31T23:00:00Z')
    assert m['data']['bars'] == 8759   # 2023 has one missing hour (2023-03-24T13:00Z)
    check_trades(pd.read_csv(out/'eval'/'trades.csv'), m)
    check_rule_book(m, pd.read_csv(out/'eval'/'trades.csv'))
    assert (out/'model'/'model.zip').exists() and (out/'eval'/'report.html').exists()
    cfg = __import__('yaml').safe_load((out/'model'/'config.yaml').read_text())['train']
    rollout = cfg['n_envs'] * cfg['n_steps']   # PPO learns in whole rollouts (64 x 128 by default)
    assert json.loads((out/'model'/'meta.json').read_text())['timesteps'] == -(-steps // rollout) * rollout
    for name in m['policies']: assert name in stdout
    assert 'report:' in stdout
    data = json.loads((out/'model'/'data.json').read_text())
    assert data['files'][0]['periods']['train'][0].startswith('2021-01-0')   # after the feature warm-up
    assert data['files'][0]['periods']['valid'][1].startswith('2022-12-31')


@pytest.mark.slow
def test_demo_quick(tmp_path):
    """The quick demo's path with a smaller budget: this proves the pipeline runs, not that 20k steps learn.
    Slow: tests/test_readme.py runs the same command (the README's) and applies `check_quick_demo` to its output."""
    r = run_cli('demo', '--quick', '--steps', 8192, '--no-progress', '--out', tmp_path/'demo')
    assert r.returncode == 0, r.stderr[-3000:]
    check_quick_demo(tmp_path/'demo', r.stdout, 8192)


def test_demo_several_seeds(tmp_path, tiny_config):
    "`--seeds 2`: both seeds are trained and reported; the model is the one with the better validation score."
    r = run_cli('demo', '--config', tiny_config, '--steps', 1024, '--seeds', 2, '--seed', 5, '--no-progress', '--out', tmp_path/'d')
    assert r.returncode == 0, r.stderr[-3000:]
    m = json.loads((tmp_path/'d'/'eval'/'metrics.json').read_text())
    s = m['seeds']
    assert [run['seed'] for run in s['runs']] == [5, 6] and s['n'] == 2
    vals = [json.loads((tmp_path/'d'/'seeds'/f'seed{k}'/'meta.json').read_text())['best_validation'] for k in (5, 6)]
    chosen = 5 + max(range(2), key=lambda k: vals[k])
    assert s['selected_seed'] == chosen and 'validation' in s['selection']
    assert (tmp_path/'d'/'model'/'model.zip').read_bytes() == (tmp_path/'d'/'seeds'/f'seed{chosen}'/'model.zip').read_bytes()
    picked = next(run for run in s['runs'] if run['seed'] == chosen)
    assert abs(picked['total_return'] - m['policies']['agent']['total_return']) < 1e-12
    assert 'agent over 2 seeds' in r.stdout and f"{s['seeds_beating_rule_book']} the rule book's" in r.stdout and 'verdict: agent' in r.stdout
    assert 'Seed spread' in (tmp_path/'d'/'eval'/'report.html').read_text()
