"""Online updates (issue 20): `riskrl update` never reads a bar after its cut-off, and refuses bad options with one line."""
import pandas as pd
from conftest import run_main


def _poisoned_copy(path, cutoff, out):
    "The candle file with every bar after `cutoff` made invalid: NaN close, high below low, negative volume, out of order."
    raw = pd.read_csv(path)
    after = (pd.to_datetime(raw.timestamp, utc=True) >= pd.Timestamp(cutoff, tz='UTC') + pd.Timedelta(days=1)).to_numpy()
    bad = raw.copy()
    bad.loc[after, 'close'] = float('nan'); bad.loc[after, 'high'] = -1e300; bad.loc[after, 'volume'] = -5
    bad = pd.concat([bad[~after], bad[after].iloc[::-1]])
    bad.to_csv(out, index=False)
    return out


def test_update_never_reads_bars_after_its_cutoff(tiny_model, tmp_path):
    """The same update on the clean file (in-process API) and on a copy poisoned after the cut-off (the CLI):
    the poisoned run cannot fail on the bad bars, and the new weights are identical to the last bit."""
    import torch
    from riskrl_nb.core.config import bundled_path
    from riskrl_nb.agents.online import update
    from riskrl_nb.agents.bundle import read_weights
    cutoff = '2022-09-30'
    bad = _poisoned_copy(bundled_path('BTC', '1h'), cutoff, tmp_path/'BTC.csv')
    clean = update(tiny_model, [bundled_path('BTC', '1h')], tmp_path/'clean', cutoff=cutoff, steps=256, ewc=10.0, verbose=False)
    r = run_main('update', '--model', tiny_model, '--data', bad, '--out', tmp_path/'poisoned', '--cutoff', cutoff,
                 '--steps', 256, '--ewc', 10, '--no-progress')
    assert r.returncode == 0, r.stderr
    a, b = read_weights(clean/'policy.pt'), read_weights(tmp_path/'poisoned'/'policy.pt')
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
    before = read_weights(tiny_model/'policy.pt')
    assert any(not torch.equal(a[k], before[k]) for k in a)   # it did train


def test_update_refuses_bad_options_with_one_line(tiny_model, tmp_path):
    from riskrl_nb.core.config import bundled_path
    btc = bundled_path('BTC', '1h')
    for args, expected in [(['--replay-ratio', '1.5'], '--replay-ratio 1.5'), (['--ewc', '-1'], '--ewc -1'),
                           (['--cutoff', '2022-08-15'], 'nothing new')]:
        r = run_main('update', '--model', tiny_model, '--data', btc, '--out', tmp_path/'u', *args)
        assert r.returncode == 2 and expected in r.stderr and len(r.stderr.strip().splitlines()) == 1, r.stderr
    tmp_path.joinpath('taken').mkdir()
    r = run_main('update', '--model', tiny_model, '--data', btc, '--out', tmp_path/'taken')
    assert r.returncode == 2 and 'never overwrites' in r.stderr


def test_a_chain_of_ewc_updates_keeps_the_earlier_bars_for_its_fisher(tiny_model, tmp_path):
    """EWC without replay, twice: the second update's Fisher data (old_training_sets) still holds the original
    training bars, listed in data.json as `earlier` (not `replay`: they were not trained on again), and the drift
    reference of an EWC-only update is its new bars alone."""
    import json
    import numpy as np
    from riskrl_nb.core.config import bundled_path
    from riskrl_nb.agents.online import update, old_training_sets
    from riskrl_nb.agents.bundle import load_bundle, load_reference
    btc = [bundled_path('BTC', '1h')]
    original = {str(p.candles.index[p.periods['train'][0]])[:10] for p in old_training_sets(load_bundle(tiny_model))}
    one = update(tiny_model, btc, tmp_path/'one', new_start='2023-01-01', cutoff='2023-01-31', replay_ratio=0.0, ewc=10.0, steps=256, verbose=False)
    two = update(one, btc, tmp_path/'two', new_start='2023-02-01', cutoff='2023-02-28', replay_ratio=0.0, ewc=10.0, steps=256, verbose=False)
    files = json.loads((two/'data.json').read_text())['files']
    assert [f['role'] for f in files][0] == 'new' and {f['role'] for f in files[1:]} == {'earlier'}
    starts = {str(p.candles.index[p.periods['train'][0]])[:10] for p in old_training_sets(load_bundle(two))}
    assert starts == original | {'2023-01-01', '2023-02-01'}, starts
    assert load_reference(two)['rows'] <= 28 * 24   # February's bars only, none of the earlier ones


def test_the_online_experiment_grids_load():
    "Both experiment notebooks are papermill-parameterised for `riskrl experiments run` (every key is a declared parameter)."
    from pathlib import Path
    from riskrl_nb.ops.experiments import load_grid
    root = Path(__file__).resolve().parents[1]
    for name, nb in [('online_walk_forward', 'online_walk_forward.ipynb'), ('online_few_shot', 'online_few_shot.ipynb')]:
        grid = load_grid(root/'configs'/f'{name}.yaml')
        assert grid.notebook.name == nb and len(grid.runs) == 1 and grid.runs[0].params['seeds'] == [0, 1, 2]
