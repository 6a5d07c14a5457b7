"""bench/cut_information.py: the test AUC's confidence interval resamples whole trades (decisions of one trade share its future)."""
import sys
from pathlib import Path
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / 'bench'))
from cut_information import trade_auc


def test_trade_auc_ranks_and_resamples_trades_not_decisions():
    rng = np.random.default_rng(0)
    y, s = rng.integers(0, 2, 300), rng.normal(size=300)
    p = s + 0.8 * y                                        # some ranking information, one decision per trade
    auc, lo, hi = trade_auc(y, p, np.arange(300))
    assert 0.6 < auc < 0.8 and lo < auc < hi
    rep = 20                                               # the same trades, 20 identical decisions each
    auc20, lo20, hi20 = trade_auc(np.repeat(y, rep), np.repeat(p, rep), np.repeat(np.arange(300), rep))
    assert np.isclose(auc20, auc)
    assert 0.7 < (hi20 - lo20) / (hi - lo) < 1.4           # resampling decisions would shrink it about sqrt(20) = 4.5 times
    assert trade_auc(y, y + 0.0, np.arange(300))[1:] == (1.0, 1.0)


def test_refit_features_sees_only_the_training_period():
    "--feature-set refits the scaler on training rows only: bars after train_end (validation, test) change nothing."
    from riskrl_nb.core.config import load_config
    from riskrl_nb.eval import benchmark as B
    from cut_information import refit_features
    cfg = load_config()
    df = B.load_coin('ETH')
    cfg2, scaler = refit_features(cfg, {'ETH': df}, 'basic')
    assert cfg2.features.set == 'basic' and cfg.features is not cfg2.features
    later = df.copy()
    import pandas as pd
    after = later.index > pd.Timestamp(cfg.data.train_end, tz='UTC') + pd.Timedelta(hours=23)
    later.loc[after, ['open', 'high', 'low', 'close']] *= np.linspace(0.5, 2.0, after.sum())[:, None]   # another future
    _, scaler2 = refit_features(cfg, {'ETH': later}, 'basic')
    assert after.sum() > 1000 and scaler2.mean == scaler.mean and scaler2.std == scaler.std
    k = df.index.get_loc(pd.Timestamp('2021-06-01', tz='UTC'))
    early = df.copy(); early.iloc[k:k + 100, early.columns.get_loc('close')] *= 1.5    # training-period bars: they do change it
    assert refit_features(cfg, {'ETH': early}, 'basic')[1].mean != scaler.mean


def test_context_features_are_causal_and_relative():
    "--context columns at a bar come from closes up to that bar: changing later bars (of the coin or the anchor) changes none of them."
    import pandas as pd
    from cut_information import context_features, CONTEXT
    rng, idx = np.random.default_rng(1), pd.date_range('2023-01-01', periods=600, freq='h', tz='UTC')
    mk = lambda: pd.DataFrame(dict(close=100 * np.exp(np.cumsum(rng.normal(0, 0.01, len(idx))))), index=idx)
    frames = {'BTC': mk(), 'ETH': mk(), 'XRP': mk()}
    base = context_features(frames)
    later = {c: f.copy() for c, f in frames.items()}
    for f in later.values(): f.iloc[400:, 0] *= 1.3
    moved = context_features(later)
    for c in frames:
        assert list(base[c].columns) == CONTEXT
        pd.testing.assert_frame_equal(base[c].iloc[:400], moved[c].iloc[:400])
        assert not base[c].iloc[401:].equals(moved[c].iloc[401:])
    f, lc = base['ETH'], np.log(frames['ETH'].close)
    k = 300
    assert np.isclose(f.btc_ret_24.iloc[k], np.log(frames['BTC'].close.iloc[k] / frames['BTC'].close.iloc[k - 24]))
    mean24 = np.mean([np.log(frames[c].close.iloc[k] / frames[c].close.iloc[k - 24]) for c in frames])
    assert np.isclose(f.market_ret_24.iloc[k], mean24) and np.isclose(f.rel_ret_24.iloc[k], lc.iloc[k] - lc.iloc[k - 24] - mean24)
