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
