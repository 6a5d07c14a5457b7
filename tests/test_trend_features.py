"""Issue 13, sixth ablation: the basic set with a month of trend and volatility (return/vol windows of 720 bars).
The rows `trend` / `trend_vol` of configs/skill_ablation6.yaml rely on the warm-up, the causality and the scaler below."""
import numpy as np
import pandas as pd


def test_month_long_windows_warm_up_without_look_ahead():
    from riskrl_nb.core.config import FeatureConfig, load_config
    from riskrl_nb.data.candles import load_bundled
    from riskrl_nb.data.features import compute_features, assert_causal, feature_warmup
    from riskrl_nb.sim.prepare import prepare_data
    cfg = FeatureConfig(return_windows=[1, 4, 24, 168, 720], vol_windows=[24, 168, 720])
    assert feature_warmup(cfg) == 721   # the longest window (720 bars) + 1: training starts at bar 721 or later
    btc = load_bundled('BTC', '1h').iloc[:3000]
    feats = compute_features(btc, cfg)
    assert {'log_ret_168', 'log_ret_720', 'vol_720'} <= set(feats.columns)
    assert feats.log_ret_720.iloc[:720].isna().all() and feats.vol_720.iloc[:720].isna().all()   # no value before its window
    assert feats.iloc[720:].notna().all().all()   # every feature defined from bar 720 on (vol_720 reads returns 1..720)
    np.testing.assert_allclose(feats.log_ret_720.iloc[800], np.log(btc.close.iloc[800] / btc.close.iloc[80]))
    for k in (725, 2500):
        assert_causal(lambda d: compute_features(d, cfg), btc, k, require_change=True)
    # through the training path: the training range starts after the warm-up and the scaler is fitted on defined rows only
    run = load_config(overrides={'features': {'return_windows': [1, 4, 24, 168, 720], 'vol_windows': [24, 168, 720]},
                                 'data': {'train_start': str(btc.index[0].date()), 'train_end': str(btc.index[2000].date()),
                                          'valid_start': str(btc.index[2100].date()), 'valid_end': str(btc.index[2900].date()),
                                          'test_start': '2030-01-01', 'test_end': '2030-02-01'}})
    (p,), scaler = prepare_data([btc], run)
    assert p.periods['train'][0] == feature_warmup(cfg)
    assert 'vol_720' in scaler.columns and np.isfinite(scaler.mean).all() and np.isfinite(scaler.std).all()
    s, e = p.periods['train']
    for c in ('log_ret_720', 'vol_720'):   # no warm-up row (NaN, scaled to 0) inside the training range
        assert (p.data.features[s:e, scaler.columns.index(c)] != 0).all(), c
