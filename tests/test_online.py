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
