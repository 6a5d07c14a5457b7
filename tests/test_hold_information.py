"""bench/hold_information.py: the labels of 'holding H more bars after a rule's exit pays' and their features."""
import sys
from pathlib import Path
import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / 'bench'))
from hold_information import exit_samples
from riskrl_nb.core.config import load_config
from riskrl_nb.data.features import compute_features, FeatureScaler
from riskrl_nb.eval import benchmark as B

BASELINES = {'fixed_tp_sl': {'take_profit_pct': 0.05, 'stop_loss_pct': 0.03}, 'atr_trailing': {'atr_mult': 4.0, 'atr_window': 14},
             'hold_to_horizon': {'horizon': 48}}

def test_exit_labels_compare_the_exit_fill_with_the_open_h_bars_later_and_features_end_before_the_exit_bar():
    cfg = load_config()
    df = B.load_coin('ETH')
    df = df.iloc[:B.period_slice(df, None, '2023-03-31').stop]
    feats = compute_features(df, cfg.features)
    scaler = FeatureScaler.fit(feats.iloc[B.period_slice(df, '2022-01-01', '2022-12-31')])
    f = exit_samples(df, cfg, BASELINES, scaler, '2023-01-01', '2023-03-31', [24, 168])
    assert set(f.rule) == set(BASELINES) and set(f.horizon) == {24, 168} and len(f) > 30
    assert (f.exit_bar + f.horizon < len(df)).all()   # an exit without a bar H later is left out
    X, opens = scaler.transform(feats), df.open.to_numpy(float)
    for r in f.sample(20, random_state=0).itertuples():
        assert r.label == int(r.gain > 0)
        np.testing.assert_array_equal(r.x, X[r.exit_bar - 1])   # the last closed bar before the exit bar, not the exit bar
    # the fill price is the trade's own: recompute it from the rule's backtest for one exit
    from riskrl_nb.sim.execution import Simulation, Market, run_backtest
    from riskrl_nb.sim.residual import tuned_rule
    from riskrl_nb.data.entries import make_entries
    sim = Simulation(Market.from_candles(df), make_entries(df, cfg.entry), cfg.costs, cfg.env)
    s = B.period_slice(df, '2023-01-01', '2023-03-31')
    t = run_backtest(sim, tuned_rule('hold_to_horizon', BASELINES, sim.market), s.start, s.stop).trades.iloc[0]
    row = f[(f.rule == 'hold_to_horizon') & (f.exit_bar == t.exit_bar) & (f.horizon == 24)].iloc[0]
    assert np.isclose(row.gain, opens[int(t.exit_bar) + 24] / t.exit_price - 1, atol=1e-12) and row.trade_return == t['return']
