"""Parity with backtesting.py (riskrl_nb.eval.parity): the agent's recorded exits and the tuned rules give the same
trades in both engines on a small window, and a broken fill convention is caught."""
import pandas as pd
import pytest

pytest.importorskip('backtesting')
from conftest import run_main
from riskrl_nb.core.config import CostConfig, EntryConfig, RiskrlError, bundled_path
from riskrl_nb.data.candles import load_bundled, period_slice
from riskrl_nb.data.entries import make_entries
from riskrl_nb.sim import execution
from riskrl_nb.sim.execution import Market, Simulation, run_backtest
from riskrl_nb.sim.rules import FixedTpSl, HoldToHorizon
from riskrl_nb.eval.parity import (PARITY_TOLERANCE_BP, compare_trades, parity, replay_in_backtesting, rule_plan,
                                   check_parity_config)

WINDOW = ('2023-01-01', '2023-02-28')


def _window():
    df = load_bundled('BTC')
    s = period_slice(df, *WINDOW)
    return Market.from_candles(df), make_entries(df, EntryConfig()), s.start, s.stop


def test_agent_and_rules_agree_with_backtesting_py(tiny_model, tmp_path):
    "The tiny model's agent (its exits replayed) and its three tuned rules: zero different trades, < 1 bp per trade."
    table = parity(tiny_model, [bundled_path('BTC', '1h')], *WINDOW)
    assert set(table.policy) == {'agent', 'fixed_tp_sl', 'atr_trailing', 'hold_to_horizon'}, table
    assert (table.trades > 0).all(), table
    assert (table.different == 0).all() and (table.max_return_diff_bp < PARITY_TOLERANCE_BP).all(), table
    assert table.ok.all()
    r = run_main('parity', '--model', tiny_model, '--data', bundled_path('BTC', '1h'), '--start', WINDOW[0],
                 '--end', WINDOW[1], '--out', tmp_path)
    assert r.returncode == 0, r.stderr + r.stdout
    assert 'parity: ok' in r.stdout and (tmp_path/'parity.md').read_text().count('| BTC |') == 4
    assert len(pd.read_csv(tmp_path/'parity.csv')) == 4


def test_other_costs_maker_fee_and_spread_agree():
    "Maker fee on targets below the taker fee, a spread and more slippage: the commission callable follows them."
    m, sig, a, b = _window()
    costs = CostConfig(fee_rate=0.001, maker_fee_rate=0.0002, slippage_bps=8.0, spread_bps=4.0)
    ours = run_backtest(Simulation(m, sig, costs), FixedTpSl(0.03, 0.02), a, b).trades
    r = compare_trades(ours, replay_in_backtesting(m, sig, a, b, rule_plan('fixed_tp_sl', dict(take_profit_pct=0.03, stop_loss_pct=0.02)), costs))
    assert r['different'] == 0 and r['max_return_diff_bp'] < PARITY_TOLERANCE_BP, r
    assert (ours.exit_reason == 'take_profit').sum() >= 2 and (ours.exit_reason == 'stop_loss').sum() >= 2


def test_long_and_short_entries_agree():
    "Entries on both sides of the EMA cross: short brackets, the buy-side exit slippage and fee."
    df = load_bundled('BTC')
    s = period_slice(df, *WINDOW)
    m, sig = Market.from_candles(df), make_entries(df, EntryConfig(side='both'))
    ours = run_backtest(Simulation(m, sig), FixedTpSl(0.03, 0.02), s.start, s.stop).trades
    assert (ours.side == 'short').sum() >= 3 and (ours.side == 'long').sum() >= 3
    plan = rule_plan('fixed_tp_sl', dict(take_profit_pct=0.03, stop_loss_pct=0.02))
    r = compare_trades(ours, replay_in_backtesting(m, sig, s.start, s.stop, plan))
    assert r['different'] == 0 and r['max_return_diff_bp'] < PARITY_TOLERANCE_BP, r


def test_fills_at_close_are_detected(monkeypatch):
    "riskrl broken to fill decided exits at the decision bar's close instead of the next open: parity fails."
    m, sig, a, b = _window()
    plan = rule_plan('hold_to_horizon', dict(horizon=24))
    good = compare_trades(run_backtest(Simulation(m, sig), HoldToHorizon(24), a, b).trades,
                          replay_in_backtesting(m, sig, a, b, plan))
    assert good['different'] == 0 and good['max_return_diff_bp'] < PARITY_TOLERANCE_BP

    original = execution.Simulation.apply
    def fill_at_close(self, d, i=None):   # a decision at bar i's close fills at that close (the bug to catch)
        original(self, d, i)
        if self.pending_exit is not None:
            i = self.i - 1 if i is None else i
            target_units, reason = self.pending_exit
            self.pending_exit = None
            price = self.costs.taker_price(i, self.market.close[i], -self.side)
            self._fill(i, target_units - self.units, price, False, reason)
    monkeypatch.setattr(execution.Simulation, 'apply', fill_at_close)
    m2, sig2, a2, b2 = _window()
    broken = compare_trades(run_backtest(Simulation(m2, sig2), HoldToHorizon(24), a2, b2).trades,
                            replay_in_backtesting(m2, sig2, a2, b2, plan))
    assert broken['different'] > 0 or broken['max_return_diff_bp'] > PARITY_TOLERANCE_BP, broken
    # and the other way round: backtesting.py filling at the close is caught against the correct riskrl
    monkeypatch.undo()
    m3, sig3, a3, b3 = _window()
    ours = run_backtest(Simulation(m3, sig3), HoldToHorizon(24), a3, b3).trades
    other = compare_trades(ours, replay_in_backtesting(m3, sig3, a3, b3, plan, trade_on_close=True))
    assert other['different'] > 0, other


def test_unsupported_settings_are_refused():
    from riskrl_nb.core.config import EnvConfig
    with pytest.raises(RiskrlError, match='impact_coef'): check_parity_config(CostConfig(impact_coef=1.0), EnvConfig())
    with pytest.raises(RiskrlError, match='max_leverage'): check_parity_config(CostConfig(), EnvConfig(max_leverage=2.0))
    with pytest.raises(RiskrlError, match='action_space'): check_parity_config(CostConfig(), EnvConfig(action_space='box'))
    with pytest.raises(RiskrlError, match='oracle'): rule_plan('oracle', {})
