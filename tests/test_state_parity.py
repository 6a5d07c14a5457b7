"""One execution state: every path that values, charges or masks a position agrees with the readable simulator.

- `Simulation.from_open_position` (serving, a portfolio env) continues a real trade exactly;
- `StanceEnv.step` (the hierarchical policy's env) yields the simulator's trades and the log-growth of its account;
- serving's ATR fallback says what the `atr_trailing` rule does, bar by bar, on real candles;
- the mask, fee and liquidation-value functions are the ones the env, the kernel and the oracle use.
(The numba kernel's parity with impact and funding costs: tests/test_vec_env.py, case 'realistic costs'.)
"""
import math
from types import SimpleNamespace
import numpy as np
import pandas as pd
import pytest
from riskrl_nb.core.config import CostConfig, EnvConfig, RunConfig, load_config
from riskrl_nb.data.candles import load_bundled, period_slice
from riskrl_nb.data.entries import ema_cross_entries
from riskrl_nb.sim.execution import Market, Simulation, HOLD, run_backtest, liquidation_value, trade_fee
from riskrl_nb.sim.env import MarketData, PositionRiskEnv, ObservationBuilder, action_mask
from riskrl_nb.sim.rules import AtrTrailing, HoldToHorizon, FixedTpSl

COSTS = CostConfig(fee_rate=0.0005, maker_fee_rate=0.0002, slippage_bps=2.0, spread_bps=2.0, impact_coef=0.5, funding_rate_8h=0.0003)
NO_FUNDING = CostConfig(**{**vars(COSTS), 'funding_rate_8h': 0.0})   # a live position's past funding is in its equity, not its trade


@pytest.fixture(scope='module')
def btc():
    df = load_bundled('BTC', '1h')
    p = period_slice(df, '2023-01-01', '2023-06-30')
    return df, Market.from_candles(df), ema_cross_entries(df, side='both'), (p.start, p.stop)


def test_open_position_continues_the_trade(btc):
    "Rebuilt at every decision bar from (side, units, entry price, equity), a trade ends as the simulator ended it."
    _, mk, sig, (a, b) = btc
    env = EnvConfig(initial_equity=1_000_000.0, max_holding_bars=72)
    sim, n = Simulation(mk, sig, NO_FUNDING, env, a, a + 2000), 0
    while (i := sim.run_until_decision()) is not None and n < 40:
        t = sim._trade
        probe = Simulation(mk, sig, NO_FUNDING, env, a, a + 2000)   # the same run, continued from bar i by the rebuilt account
        rebuilt = Simulation.from_open_position(mk, t['side'], t['entry_units'], t['entry_value'] / t['entry_units'], t['entry_bar'],
                                                NO_FUNDING, env, equity=sim.mark(i), at=i)
        assert math.isclose(rebuilt.liquidation_equity(i), sim.liquidation_equity(i), rel_tol=1e-12)
        assert math.isclose(rebuilt.unrealised_return(i), sim.unrealised_return(i), rel_tol=1e-9, abs_tol=1e-12)
        assert (ObservationBuilder.masks(rebuilt, i) == ObservationBuilder.masks(sim, i)).all()
        rebuilt.end = sim.end
        while rebuilt.run_until_decision() is not None: pass
        ref = _finish_trade(probe, i, t['entry_bar'])
        got = rebuilt.trades[0]
        assert (got['exit_bar'], got['exit_reason']) == (ref['exit_bar'], ref['exit_reason'])
        assert math.isclose(got['exit_price'], ref['exit_price'], rel_tol=1e-12)
        assert math.isclose(got['return'], ref['return'], rel_tol=1e-9)
        sim.apply(HOLD, i); n += 1
    assert n == 40


def _finish_trade(sim, i, entry_bar):
    "Run `sim` (fresh) holding every position up to bar i, then to the end of the trade entered at `entry_bar`."
    while (j := sim.run_until_decision()) is not None:
        if sim.trades and sim.trades[-1]['entry_bar'] == entry_bar: break
    return next(t for t in sim.trades if t['entry_bar'] == entry_bar)


def test_one_mask_one_fee_one_liquidation_value(btc):
    "The env's mask, the account's liquidation value and the fee are the module-level functions the kernel compiles."
    _, mk, sig, (a, b) = btc
    sim = Simulation(mk, sig, COSTS, EnvConfig(initial_equity=1_000_000.0), a, b)
    seen = set()
    while (i := sim.run_until_decision()) is not None:
        upnl = sim.unrealised_return(i)
        assert tuple(ObservationBuilder.masks(sim, i)) == action_mask(upnl)
        seen.add(upnl > 0)
        price = sim.costs.taker_price(i, mk.close[i], -sim.side, abs(sim.units) * mk.close[i])
        assert sim.liquidation_equity(i) == liquidation_value(sim.cash, sim.units, price, COSTS.fee_rate)
    assert seen == {True, False}
    fees = sim.trades_frame().fees.sum()
    assert fees == pytest.approx(sim.fees_paid) and trade_fee(-1000.0, 0.001) == trade_fee(1000.0, 0.001) == 1.0


@pytest.mark.parametrize('rule', ['fixed_tp_sl', 'hold_to_horizon'])
def test_stance_env_is_the_simulator(btc, rule):
    "A stance that never changes is its rule: same trades as the backtest; the rewards sum to the account's log-growth."
    from riskrl_nb.agents.hierarchical import StanceEnv
    df, mk, sig, (a, b) = btc
    params = {'fixed_tp_sl': dict(take_profit_pct=0.03, stop_loss_pct=0.02), 'hold_to_horizon': dict(horizon=12)}[rule]
    cfg = load_config(overrides=dict(costs=vars(COSTS), reward=dict(drawdown_penalty=0.0), train=dict(stance_bars=5)))
    data = MarketData(mk, np.zeros((len(mk), 2), np.float32), sig, 'BTC')
    env = StanceEnv(data, (a, b), cfg, {rule: params})
    env.reset(options=dict(start=a, end=b))
    start, total, steps, done = env._value, 0.0, 0, False
    while not done:
        _, r, term, trunc, info = env.step(0)
        total += r; steps += 1; done = term or trunc
        assert info['stance'] == rule
    policy = FixedTpSl(**params) if rule == 'fixed_tp_sl' else HoldToHorizon(**params)
    ref = run_backtest(Simulation(mk, sig, cfg.costs, cfg.env), policy, a, b)
    pd.testing.assert_frame_equal(env.sim.trades_frame(), ref.trades)
    assert env.sim.cash == ref.equity.iloc[-1]
    assert total / cfg.reward.scale == pytest.approx(math.log(env.sim.cash / start), rel=1e-9)
    assert len(ref.trades) > 20 and steps < ref.decisions   # each stance step spans several decisions


def test_serving_atr_fallback_is_the_atr_trailing_rule(btc):
    "At every decision of the rule's backtest, the service's fallback holds with the rule's stop; where the stop filled, it closes."
    from riskrl_nb.serve.limits import atr_trailing_decision
    _, mk, sig, (a, b) = btc
    cfg = EnvConfig(max_holding_bars=10_000)   # no horizon: every exit is the trailing stop (or the period's end)
    params = dict(atr_mult=2.5, atr_window=14)
    rule = AtrTrailing(**params)
    sim = Simulation(mk, sig, CostConfig(), cfg).reset(a, b)
    rule.reset(sim); sim.entry_hook = rule.on_signal

    def fallback(t, j):
        "The service's view of the open trade `t` at bar j (the bars up to j), and its fallback decision."
        price = t['entry_value'] / t['entry_units']
        s = Simulation.from_open_position(mk.past(j), t['side'], t['entry_units'], price, t['entry_bar'], CostConfig(), cfg)
        view = SimpleNamespace(market=mk.past(j), i=j, side=t['side'], entry_bar=t['entry_bar'], sim=s,
                               unrealised_return=s.unrealised_return(j))
        return atr_trailing_decision(view, params)

    holds = 0
    while (i := sim.run_until_decision()) is not None:
        t = dict(sim._trade)
        sim.apply(rule.decide(sim, i), i)
        action, size, stop, _ = fallback(t, i)
        assert action == 'hold' and stop == pytest.approx(sim.stop, rel=1e-12), (i, stop, sim.stop)
        holds += 1
    trades = sim.trades_frame()
    stopped = trades[trades.exit_reason == 'trailing_stop']
    assert len(stopped) > 20 and holds > 200
    for t in stopped.itertuples():   # the bar the stop filled in: the service says close
        trade = dict(side=1 if t.side == 'long' else -1, entry_units=t.units, entry_value=t.units * t.entry_price,
                     entry_bar=t.entry_bar)
        action, size, stop, _ = fallback(trade, t.exit_bar)
        assert action in ('close_tp', 'close_sl') and size == 1.0, t


def test_kernel_charges_impact_and_funding_as_the_simulator(btc):
    """Heavy square-root impact on a large account and funding every 8 hours: the kernel's trades are the simulator's,
    bit for bit, and the costs changed them (so the comparison is not of two cost-free runs)."""
    from riskrl_nb.data.features import compute_features, FeatureScaler
    from riskrl_nb.sim.vec_env import compare_with_reference
    df, mk, sig, (a, b) = btc
    x = FeatureScaler.fit(compute_features(df).iloc[a:b]).transform(compute_features(df))
    data = MarketData(mk, x, sig, 'BTC')
    heavy = dict(costs=dict(impact_coef=2.0, funding_rate_8h=0.001, fee_rate=0.0004), env=dict(initial_equity=50_000_000.0))
    windows = [(a + 200, a + 1400), (a + 1800, a + 3000)]
    hold_or_close = lambda rng, masks: np.where(rng.random(len(masks)) < 0.2, rng.integers(1, 3, len(masks)), 0)
    got = compare_with_reference(data, (a, b), load_config(overrides=heavy), windows, hold_or_close)
    free = compare_with_reference(data, (a, b), load_config(overrides=dict(heavy, costs=dict(fee_rate=0.0004))), windows, hold_or_close)
    assert len(got) > 10 and (got.funding != 0).mean() > 0.5
    same = got.merge(free, on=['entry_bar', 'exit_bar'], suffixes=('', '_free'))
    assert len(same) > 5 and (same.entry_price * np.where(same.side == 'long', 1, -1)
                              > same.entry_price_free * np.where(same.side == 'long', 1, -1)).all()   # impact: entries fill worse
