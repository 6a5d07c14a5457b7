"""riskrl experiments run: a tiny grid of the train-and-evaluate notebook, two runs in parallel, resumed."""
import json
import pytest
import numpy as np
import pandas as pd
import yaml
from conftest import ROOT, TINY_CONFIG, run_cli

ONE_POINT = dict(take_profit_grid=[0.03], stop_loss_grid=[0.02], atr_mult_grid=[3.0], horizon_grid=[24])   # no tuning time
OVERRIDES = yaml.safe_load(TINY_CONFIG)
OVERRIDES['baselines'] = ONE_POINT
OVERRIDES['data']['test_end'] = '2023-03-31'      # a quarter of test is enough to check the plumbing


@pytest.mark.slow   # ~40 s; in CI test_benchmark drives `riskrl experiments run` end to end and nbs/51_experiments.ipynb checks grids and resume
def test_tiny_grid_end_to_end(tmp_path):
    grid = tmp_path/'grid.yaml'
    grid.write_text(yaml.safe_dump(dict(
        notebook=str(ROOT/'nbs'/'experiments'/'train_evaluate.ipynb'),
        parameters=dict(steps=512, report=False, overrides=OVERRIDES),
        grid=dict(seed=[0, 1]), plot=['agent.sharpe', 'agent.max_drawdown', 'oracle.total_return'])))
    out = tmp_path/'runs'
    r = run_cli('experiments', 'run', grid, '--jobs', 2, '--out', out)
    assert r.returncode == 0, r.stdout[-2000:] + r.stderr[-2000:]
    assert '2 to run (2 at a time)' in r.stdout
    df = pd.read_csv(out/'results.csv')
    assert list(df['run']) == ['seed=0', 'seed=1'] and list(df['seed']) == [0, 1] and set(df['status']) == {'ok'}
    assert np.isfinite(df['agent.sharpe']).all() and (df['oracle.total_return'] >= df['agent.total_return']).all()
    for run in df['run']:
        d = out/run
        for f in ['executed.ipynb', 'summary.json', 'run.json', 'papermill.log', 'eval/metrics.json', 'model/model.zip']:
            assert (d/f).exists(), f
        assert json.loads((d/'summary.json').read_text())['seed'] == int(run[-1])
    assert 'seed=1/executed.ipynb' in (out/'results.html').read_text() and (out/'results.png').stat().st_size > 5000

    r = run_cli('experiments', 'run', grid, '--jobs', 2, '--out', out)        # resumable: nothing left to do
    assert r.returncode == 0 and '2 already complete, 0 to run' in r.stdout, r.stdout + r.stderr
