"""Issue 5: the rich feature set and market regimes end to end (CLI), and their no-look-ahead guarantees on other coins."""
import base64, json
from types import SimpleNamespace
import numpy as np
import pandas as pd
import pytest
from conftest import run_main as run_cli   # in-process: no process start (and torch import) per command
from contract import check_metrics, check_trades

# Small enough to train in seconds: rich features with a peer, a 2-regime router with tiny regime models.
ROUTER_CONFIG = """
data: {train_start: '2022-01-01', train_end: '2022-06-30', valid_start: '2022-07-01', valid_end: '2022-08-31',
       test_start: '2023-01-01', test_end: '2023-12-31'}
train: {total_timesteps: 1024, n_steps: 256, n_envs: 2, eval_freq: 512, batch_size: 128}
baselines: {take_profit_grid: [0.03], stop_loss_grid: [0.02], atr_mult_grid: [3.0], horizon_grid: [24]}
features: {set: rich, cross_assets: [ETH]}
regimes: {n_regimes: 2, regime_steps: 512, balanced_sampling: true}
"""


@pytest.fixture(scope='module')
def router_model(tmp_path_factory):
    d = tmp_path_factory.mktemp('router')
    (d/'cfg.yaml').write_text(ROUTER_CONFIG)
    r = run_cli('train', '--config', d/'cfg.yaml', '--out', d/'m', '--no-progress', '--regime-models', '--seed', 1)
    assert r.returncode == 0, r.stderr[-3000:]
    return d/'m'


def test_regime_router_train_and_evaluate(router_model, tmp_path):
    "`train --regime-models` writes a normal model folder plus the router; evaluate adds the router row and by_regime."
    m = router_model
    assert json.loads((m/'features.json').read_text())['set'] == 'rich'
    router = json.loads((m/'regimes'/'router.json').read_text())
    assert list(router['models']) == ['calm', 'turbulent'] and (m/'regimes'/'detector.json').exists()
    for sub in router['models'].values(): assert (m/sub/'model.zip').exists()
    r = run_cli('evaluate', '--model', m, '--out', tmp_path/'e')
    assert r.returncode == 0, r.stderr[-3000:]
    metrics = json.loads((tmp_path/'e'/'metrics.json').read_text())
    check_metrics(metrics)
    check_trades(pd.read_csv(tmp_path/'e'/'trades.csv'), metrics)
    assert 'regime_router' in metrics['policies'] and 'regime_router' in r.stdout
    decisions = metrics['policies']['regime_router']['params']['decisions']
    assert set(decisions) <= {'calm', 'turbulent', 'fallback'} and sum(decisions.values()) > 0
    br = metrics['by_regime']
    assert br['method'] == 'hmm' and 'saved in the model folder' in br['fitted_on']
    assert set(br['policies']) == set(metrics['policies'])
    assert abs(sum(v['share'] for v in br['regimes'].values()) - 1) < 1e-9
    for name, per in br['policies'].items():   # every bar and every trade belongs to exactly one regime
        assert sum(x.get('bars', 0) for x in per.values()) == metrics['data']['bars'], name
        assert sum(x.get('n_trades', 0) for x in per.values()) == metrics['policies'][name]['n_trades'], name
        growth = np.prod([1 + x['total_return'] for x in per.values() if x])
        assert abs(growth - (1 + metrics['policies'][name]['total_return'])) < 1e-9, name
    assert (tmp_path/'e'/'regimes.png').stat().st_size > 20_000
    html = (tmp_path/'e'/'report.html').read_text()   # the report section of the same block, with its plot inlined
    assert 'By regime (HMM detector fitted on' in html and "Each policy's return (Sharpe)" in html
    assert base64.b64encode((tmp_path/'e'/'regimes.png').read_bytes()).decode() in html


def test_extra_columns_bad_file_is_one_line_exit_2(tmp_path):
    (tmp_path/'funding.csv').write_text('timestamp,funding\n2021-01-01T00:00:00Z,0.0001\n2021-01-01T00:00:00Z,0.0002\n')
    (tmp_path/'cfg.yaml').write_text(f"features: {{extra_path: '{tmp_path/'funding.csv'}'}}\n")
    r = run_cli('train', '--config', tmp_path/'cfg.yaml', '--out', tmp_path/'m', '--no-progress')
    assert r.returncode == 2 and r.stderr.count('\n') == 1, r.stderr
    assert 'funding.csv' in r.stderr and 'duplicate timestamp' in r.stderr
    (tmp_path/'cfg2.yaml').write_text("features: {set: rich, normalize: global}\n")
    r = run_cli('train', '--config', tmp_path/'cfg2.yaml', '--out', tmp_path/'m', '--no-progress')
    assert r.returncode == 2 and "features.normalize" in r.stderr, r.stderr


def test_every_rich_feature_is_causal_on_another_coin(tmp_path):
    "ETH with BTC as peer, a funding-like extra file, expanding normalisation: no feature moves when the future does."
    from riskrl_nb.core.config import FeatureConfig
    from riskrl_nb.data.candles import load_bundled
    from riskrl_nb.data.features import compute_features, assert_causal, feature_warmup
    eth = load_bundled('ETH', '1h').loc['2022-01':'2022-06']
    stamps = pd.date_range('2021-12-01', '2022-07-01', freq='8h', tz='UTC')
    pd.DataFrame({'timestamp': stamps.strftime('%Y-%m-%dT%H:%M:%SZ'), 'funding': np.sin(np.arange(len(stamps)))}
                 ).to_csv(tmp_path/'funding.csv', index=False)
    cfg = FeatureConfig(set='rich', cross_assets=['BTC'], extra_path=str(tmp_path/'funding.csv'), extra_lag='1h',
                        normalize='expanding', norm_window=300, cache=False)
    feats = compute_features(eth, cfg)
    assert feats.iloc[feature_warmup(cfg):].notna().mean().min() > 0.99
    assert 'x_funding' in feats and 'xcorr_168' in feats
    for k in (feature_warmup(cfg) + 50, len(eth) - 200):
        assert_causal(lambda d: compute_features(d, cfg), eth, k,
                      require_change=[c for c in feats.columns if c != 'x_funding'])   # the extras do not depend on candles


def test_online_regime_labels_are_causal_on_another_coin():
    from riskrl_nb.core.config import RegimeConfig
    from riskrl_nb.data.candles import load_bundled, period_slice
    from riskrl_nb.data.features import assert_causal
    from riskrl_nb.data.regimes import fit_regime_model
    doge = load_bundled('DOGE', '1h')
    tr = period_slice(doge, '2021-01-01', '2022-06-30')
    for method in ('hmm', 'gmm'):
        model = fit_regime_model([doge], [(tr.start, tr.stop)], RegimeConfig(n_regimes=3), method=method)
        window = doge.loc['2023-01':'2023-04']
        for k in (100, 1500):
            assert_causal(lambda d: model.labels(d).to_frame(), window, k)
            assert_causal(model.proba, window, k, require_change=True)


def test_feature_cache_survives_a_corrupt_file(tmp_path):
    from riskrl_nb.core.config import FeatureConfig
    from riskrl_nb.data.candles import load_bundled
    from riskrl_nb.data.features import compute_features, feature_cache_key
    btc = load_bundled('BTC', '1h').iloc[-4000:]
    cfg = FeatureConfig(set='rich', cache_dir=str(tmp_path))
    a = compute_features(btc, cfg)
    path = tmp_path/f"rich-{feature_cache_key(btc, cfg)}.parquet"
    assert path.exists()
    pd.testing.assert_frame_equal(a, compute_features(btc, cfg))
    path.write_bytes(b'not parquet')
    pd.testing.assert_frame_equal(a, compute_features(btc, cfg))   # recomputed and rewritten
    assert path.read_bytes()[:4] == b'PAR1'


def test_by_regime_needs_history_before_the_period():
    from riskrl_nb.core.config import RunConfig
    from riskrl_nb.data.candles import load_bundled
    from riskrl_nb.eval.regimes import regime_model_for
    df = load_bundled('ETH', '1h').loc['2023-01']
    bundle = SimpleNamespace(path='/nonexistent', cfg=RunConfig())
    model, why = regime_model_for(bundle, df, (100, len(df)))
    assert model is None and 'at least 500' in why
    model, why = regime_model_for(bundle, df, (600, len(df)))
    assert model is not None and 'before the evaluation period' in why
