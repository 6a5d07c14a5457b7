"""Each execution rule on hand-built bars, with the prices and fees worked out by hand.

The bars are hourly from 1970-01-01 00:00 UTC (funding times at bars 7, 15, 23, ...); the account starts
with 1,000 USDT; an entry signal at bar 0's close fills at bar 1's open.
"""
import math
import numpy as np
import pytest
from riskrl_nb.core.config import CostConfig, EnvConfig
from riskrl_nb.sim.execution import (Simulation, EntryOrder, Decision, HOLD, CLOSE, hand_market, liquidation_price,
                                 CostModel)

COSTS = CostConfig(fee_rate=0.001, maker_fee_rate=0.0002, slippage_bps=5.0, spread_bps=4.0)   # adverse 7 bps
ADV = 0.0005 + 0.0002
ENV = EnvConfig(initial_equity=1000.0, max_holding_bars=100)


def run(rows, side=1, order=None, decisions=None, costs=COSTS, env=ENV):
    "Run one trade: signal at bar 0, `order` at the entry, `decisions[k]` at the k-th decision (HOLD otherwise)."
    sim = Simulation(hand_market(rows), np.r_[side, np.zeros(len(rows) - 1)], costs, env)
    sim.entry_hook = lambda s, i, sd: order
    k = 0
    while (i := sim.run_until_decision()) is not None:
        sim.apply((decisions or {}).get(k, HOLD), i); k += 1
    return sim, sim.trades_frame()


def entry_units(price, size=1.0, equity=1000.0, fee=0.001):
    return size * equity / (price * (1 + fee))


def test_market_entry_and_exit_pay_spread_slippage_and_taker_fee():
    sim, t = run([(100, 100, 100, 100), (100, 101, 99, 100), (102, 103, 101, 102), (102, 102, 102, 102)], decisions={0: CLOSE})
    t = t.iloc[0]
    entry, exit_ = 100 * (1 + ADV), 102 * (1 - ADV)
    u = entry_units(entry)
    assert math.isclose(t.entry_price, entry) and math.isclose(t.exit_price, exit_)
    assert math.isclose(t.fees, 0.001 * u * (entry + exit_))
    assert math.isclose(sim.cash, 1000 + u * (exit_ - entry) - t.fees)


def test_take_profit_is_a_maker_fill_at_its_price_even_after_a_gap():
    _, t = run([(100, 100, 100, 100), (100, 101, 99, 100), (106, 107, 105, 106), (106, 106, 106, 106)],
               order=EntryOrder(target_pct=0.03))
    t = t.iloc[0]
    entry = 100 * (1 + ADV)
    u = entry_units(entry)
    assert t.exit_reason == 'take_profit' and math.isclose(t.exit_price, entry * 1.03)   # not the better 106 open
    assert math.isclose(t.fees, 0.001 * u * entry + 0.0002 * u * entry * 1.03)           # maker fee on the exit


def test_short_stop_gap_and_stop_first():
    # a short's stop is above: a bar opening above it fills at the open, buying back with adverse costs
    _, t = run([(100, 100, 100, 100), (100, 101, 99, 100), (105, 106, 104, 105), (105, 105, 105, 105)], side=-1,
               order=EntryOrder(stop_pct=0.02, target_pct=0.02))
    t = t.iloc[0]
    assert (t.side, t.exit_reason) == ('short', 'stop_loss') and math.isclose(t.exit_price, 105 * (1 + ADV))
    # both levels inside one bar: the stop (above) is assumed to come first
    _, t = run([(100, 100, 100, 100), (100, 101, 99, 100), (100, 104, 96, 100), (100, 100, 100, 100)], side=-1,
               order=EntryOrder(stop_pct=0.02, target_pct=0.02))
    fill = 100 * (1 - ADV)
    assert t.iloc[0].exit_reason == 'stop_loss' and math.isclose(t.iloc[0].exit_price, fill * 1.02 * (1 + ADV))


def test_orders_placed_at_an_open_have_no_gap_rule_in_that_bar():
    # the entry bar itself dips through the stop: the stop fills at its level (placed after the open), not at the open
    _, t = run([(100, 100, 100, 100), (100, 100.5, 95, 96), (96, 96, 96, 96)], order=EntryOrder(stop_pct=0.02))
    fill = 100 * (1 + ADV)
    assert t.iloc[0].exit_bar == 1 and math.isclose(t.iloc[0].exit_price, fill * 0.98 * (1 - ADV))


def test_partial_close_pays_costs_on_the_closed_part_only():
    rows = [(100, 100, 100, 100), (100, 101, 99, 100), (104, 105, 103, 104), (108, 109, 107, 108), (108, 108, 108, 108)]
    sim, t = run(rows, decisions={0: Decision(close_fraction=0.3), 1: CLOSE})
    t = t.iloc[0]
    entry = 100 * (1 + ADV); u = entry_units(entry)
    p1, p2 = 104 * (1 - ADV), 108 * (1 - ADV)
    fees = 0.001 * (u * entry + 0.3 * u * p1 + 0.7 * u * p2)
    assert math.isclose(t.fees, fees) and math.isclose(t.exit_price, 0.3 * p1 + 0.7 * p2)
    assert math.isclose(sim.cash, 1000 - u * entry + 0.3 * u * p1 + 0.7 * u * p2 - fees)
    assert math.isclose(t['return'], (sim.cash - 1000) / (u * entry))


def test_square_root_impact_grows_with_the_order_and_shrinks_with_volume():
    m = hand_market([(100, 102, 98, 100)] * 3)
    cm = CostModel(CostConfig(slippage_bps=0, impact_coef=0.8), m)
    sigma = math.log(102 / 98) / (2 * math.sqrt(math.log(2)))
    base = cm.taker_price(1, 100.0, 1, 1e6) / 100 - 1
    assert math.isclose(base, 0.8 * sigma * math.sqrt(1e6 / (1e9 * 100)))
    assert math.isclose(cm.taker_price(1, 100.0, 1, 9e6) / 100 - 1, 3 * base)     # 9x the order, 3x the impact
    m.volume[:] *= 4; cm = CostModel(CostConfig(slippage_bps=0, impact_coef=0.8), m)
    assert math.isclose(cm.taker_price(1, 100.0, 1, 1e6) / 100 - 1, base / 2)      # 4x the volume, half the impact
    assert math.isclose(cm.taker_price(1, 100.0, -1, 1e6) / 100 - 1, -base / 2)    # a sell receives less


def test_funding_sign_and_timing():
    rows = [(100, 100, 100, 100)] * 20
    rate = 0.0002
    costs = CostConfig(fee_rate=0.001, slippage_bps=0.0, funding_rate_8h=rate)
    _, long_t = run(rows, 1, costs=costs)
    _, short_t = run(rows, -1, costs=costs)
    u_long, u_short = entry_units(100), entry_units(100)
    # held from bar 1 to the end (bar 19): funding times at the closes of bars 7 and 15
    assert math.isclose(long_t.iloc[0].funding, 2 * rate * u_long * 100)       # paid by the long
    assert math.isclose(short_t.iloc[0].funding, -2 * rate * u_short * 100)    # received by the short
    # closed at bar 6's open: no funding time was held through
    _, t = run(rows, 1, decisions={4: CLOSE}, costs=costs)
    assert t.iloc[0].exit_bar == 6 and t.iloc[0].funding == 0.0


def test_leverage_and_position_limits_on_entries_and_resizes():
    rows = [(100, 100, 100, 100)] * 6
    env = EnvConfig(initial_equity=1000.0, max_leverage=2.0, max_holding_bars=100)
    costs = CostConfig(fee_rate=0.001, slippage_bps=0.0)
    sim = Simulation(hand_market(rows), np.r_[1, np.zeros(5)], costs, env)
    sim.entry_hook = lambda s, i, side: EntryOrder(size=5.0)                 # asks for 5x, gets 2x
    i = sim.run_until_decision()
    assert math.isclose(sim.units, entry_units(100, 2.0))
    sim.apply(Decision(target_size=4.0), i); i = sim.run_until_decision()   # a resize beyond 2x is capped at 2x
    assert abs(sim.units * 100 / sim.mark(i) - 2.0) < 0.01
    env = EnvConfig(initial_equity=1000.0, max_leverage=3.0, max_position_value=1500.0, max_holding_bars=100)
    sim = Simulation(hand_market(rows), np.r_[1, np.zeros(5)], costs, env)
    sim.entry_hook = lambda s, i, side: EntryOrder(size=1.0)
    i = sim.run_until_decision()
    sim.apply(Decision(target_size=3.0), i); sim.run_until_decision()       # an add is capped at 1,500 of notional
    assert math.isclose(sim.units * 100, 1500.0)


def test_short_liquidation_and_no_negative_equity():
    rows = [(100, 100, 100, 100), (100, 101, 99, 100), (120, 240, 119, 230), (230, 230, 230, 230)]
    env = EnvConfig(initial_equity=1000.0, max_leverage=1.0, maintenance_margin=0.01, max_holding_bars=100)
    sim, t = run(rows, -1, env=env)
    t = t.iloc[0]
    fill = 100 * (1 - ADV)
    u = entry_units(fill)
    cash = 1000 + u * fill - 0.001 * u * fill
    liq = liquidation_price(cash, -u, 0.01)
    assert 190 < liq < 200 and t.exit_reason == 'liquidation'
    assert math.isclose(t.exit_price, liq * (1 + ADV)) and sim.cash > 0


def test_horizon_closes_at_the_next_open():
    rows = [(100, 100, 100, 100)] * 10
    _, t = run(rows, env=EnvConfig(initial_equity=1000.0, max_holding_bars=3))
    assert (t.iloc[0].exit_reason, t.iloc[0].entry_bar, t.iloc[0].exit_bar) == ('horizon', 1, 4)


def test_fills_at_the_next_open_after_a_gap():
    "close[t] != open[t+1]: the entry signalled at bar 0's close fills at bar 1's open, the exit decided at bar 1's close at bar 2's open."
    sim, t = run([(100, 100, 100, 100), (104, 105, 103, 101), (97, 98, 96, 99), (95, 95, 95, 95)], decisions={0: CLOSE})
    t = t.iloc[0]
    entry, exit_ = 104 * (1 + ADV), 97 * (1 - ADV)   # not bar 0's close (100) nor bar 1's close (101)
    u = entry_units(entry)
    assert math.isclose(t.entry_price, entry) and math.isclose(t.exit_price, exit_)
    assert math.isclose(sim.cash, 1000 + u * (exit_ - entry) - t.fees)
    _, t = run([(100, 100, 100, 100), (96, 97, 95, 99), (103, 104, 102, 103), (103, 103, 103, 103)], side=-1, decisions={0: CLOSE})
    t = t.iloc[0]
    assert (t.side, math.isclose(t.entry_price, 96 * (1 - ADV)), math.isclose(t.exit_price, 103 * (1 + ADV))) == ('short', True, True)
