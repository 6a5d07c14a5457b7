"""bench/vol_trim.py: the overlay is tuned on the rules' own training bars, and the trims' fees are the simulator's."""
import math, sys
from pathlib import Path
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / 'bench'))
from vol_trim import training_periods, trim_fees
from riskrl_nb.core.config import load_config, CostConfig, EnvConfig
from riskrl_nb.eval import benchmark as B
from riskrl_nb.sim.execution import Simulation, hand_market, run_backtest, taker_adverse
from riskrl_nb.sim.prepare import prepare_data
from riskrl_nb.sim.rules import make_baseline
from riskrl_nb.sim.vol_trim import VolTrim


def test_training_periods_are_the_bars_train_tunes_the_rules_on():
    "train start .. validation end after the warm-up, as `_tune_before_test` takes them from `prepare_data`; a coin with no training bars is left out."
    w = B.bench_window('2020H2', train_months=12)
    cfg = B.bench_config(w, ['ETH', 'BTC'], 0)
    frames = {'ETH': B.load_coin('ETH'), 'BTC': B.load_coin('BTC')}
    got = training_periods(frames, cfg)
    prepared, _ = prepare_data(list(frames.values()), cfg)
    want = {c: (p.periods['train'][0], p.periods.get('valid', p.periods['train'])[1]) for c, p in zip(frames, prepared) if 'train' in p.periods}
    assert got == want and len(got) >= 1


def test_trim_fees_are_the_fees_the_simulator_charged_for_the_trims():
    rows = [(100, 100, 100, 100), (100, 101, 99, 104), (104, 104, 100, 100), (101, 106, 100, 105), (110, 111, 94, 95),
            (95, 100, 94, 99), (99, 100, 98, 99.5)]
    m, costs = hand_market(rows), CostConfig(fee_rate=0.001, slippage_bps=5.0)
    sig = np.array([1, 0, 0, 0, 0, 0, 0], dtype=np.int8)
    vol3 = np.std(np.diff(np.log([100, 104, 100, 105])), ddof=1) * math.sqrt(8760)
    sim = Simulation(m, sig, costs, EnvConfig(max_holding_bars=100))
    pol = VolTrim(make_baseline('hold_to_horizon', dict(horizon=100)), target_vol=0.4 * vol3, window=3, band=0.1)
    res = run_backtest(sim, pol)
    assert len(pol.trims) == 2
    adv = taker_adverse(costs)
    want = sum(u * o * (1 - adv) * 0.001 for (i, u, _), o in zip(pol.trims, (110, 95)))
    assert abs(trim_fees(sim, pol.trims) - want) < 1e-12 * 10_000
    # what is left of the fees is the entry's and the final exit's
    t = res.trades.iloc[0]
    rest = t.units * 100 * (1 + adv) * 0.001 + (t.units - sum(u for _, u, _ in pol.trims)) * 99.5 * (1 - adv) * 0.001
    assert abs(res.fees_paid - trim_fees(sim, pol.trims) - rest) < 1e-12 * 10_000
