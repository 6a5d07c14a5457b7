"""bench/regime_rules.py (ablation 14): the fitting periods are the rules' own, split into training and validation months, and
the grid choice and the refit read no bar after the validation end."""
import sys
from pathlib import Path
import numpy as np
import pandas as pd
from riskrl_nb.core.config import CostConfig, EnvConfig, RegimeConfig, RunConfig, DataConfig
from riskrl_nb.data.candles import load_bundled
from riskrl_nb.data.entries import ema_cross_entries
from riskrl_nb.data.features import feature_warmup
from riskrl_nb.sim.execution import Market, Simulation
from riskrl_nb.sim.regime_rules import tune_regime_rules

sys.path.insert(0, str(Path(__file__).resolve().parents[1]/'bench'))
from regime_rules import split_periods

RULES = dict(fixed_tp_sl=dict(take_profit_pct=0.05, stop_loss_pct=0.03), atr_trailing=dict(atr_mult=4.0, atr_window=14),
             hold_to_horizon=dict(horizon=72))


def _frames():
    return {c: load_bundled(c, '1h') for c in ('BTC', 'ETH')}


def test_split_periods_are_the_rules_training_and_validation():
    frames = _frames()
    cfg = RunConfig(data=DataConfig(train_start='2021-01-01', train_end='2021-06-30', valid_start='2021-07-01', valid_end='2021-08-31',
                                    test_start='2021-09-01', test_end='2021-12-31'))   # inclusive dates
    train, valid, fit = split_periods(frames, cfg)
    for c, df in frames.items():
        at = lambda d: int(np.searchsorted(df.index, pd.Timestamp(d, tz='UTC')))
        assert train[c] == (max(at('2021-01-01'), feature_warmup(cfg.features)), at('2021-07-01'))
        assert valid[c] == (at('2021-07-01'), at('2021-09-01'))
        assert fit[c] == (train[c][0], valid[c][1])          # the rules' own bars: training start .. validation end


def _tune(frames):
    fr = list(frames.values())
    sims = [Simulation(Market.from_candles(d), ema_cross_entries(d), CostConfig(), EnvConfig()) for d in fr]
    at = lambda d, s: int(np.searchsorted(d.index, pd.Timestamp(s, tz='UTC')))
    train = [(at(d, '2022-01-01'), at(d, '2022-05-01')) for d in fr]
    valid = [(at(d, '2022-05-01'), at(d, '2022-07-01')) for d in fr]
    fit = [(a, b) for (a, _), (_, b) in zip(train, valid)]
    return tune_regime_rules(fr, sims, train, valid, fit, RULES, 'hold_to_horizon', dict(n_regimes=(2, 3), min_trades=(5,)),
                             RegimeConfig(n_iter=15), 8760), fit


def test_tuning_reads_no_bar_after_the_validation_end():
    frames = _frames()
    (chosen, fits, sel), fit = _tune(frames)
    shaken = {}
    for (c, df), (_, b) in zip(frames.items(), fit):
        out = df.copy()
        noise = np.exp(np.random.default_rng(len(c)).normal(0, 0.03, len(out) - b))
        for col in ('open', 'high', 'low', 'close'): out.iloc[b:, out.columns.get_loc(col)] *= noise
        out['high'] = out[['open', 'high', 'close']].max(axis=1); out['low'] = out[['open', 'low', 'close']].min(axis=1)
        shaken[c] = out
    (chosen2, fits2, sel2), _ = _tune(shaken)
    assert chosen2 == chosen
    pd.testing.assert_frame_equal(sel, sel2)
    for k in fits:
        assert fits[k]['table'] == fits2[k]['table'] and fits[k]['model'].means == fits2[k]['model'].means
        pd.testing.assert_frame_equal(fits[k]['scores'], fits2[k]['scores'])
    assert sel.valid_score.notna().all() and sel.chosen.sum() == 1
    assert any(set(f['table']) != {'hold_to_horizon'} for f in fits.values())   # the tables are not all the best rule
