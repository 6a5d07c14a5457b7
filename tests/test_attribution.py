"""Attribution of the agent's P&L (issue 18): by exit reason, regime and coin, each summing to the total, and the
per-trade edge over the best rule whose sum is the agent-minus-rule P&L over the same entries."""
import json
from dataclasses import replace
import numpy as np
import pandas as pd
import pytest


@pytest.fixture(scope='module')
def attributed(tiny_model, tmp_path_factory):
    from riskrl_nb.eval.evaluation import evaluate
    out = tmp_path_factory.mktemp('attribution')/'ev'   # not there yet: evaluate creates it
    sections = {'by_regime': 'riskrl_nb.eval.regimes:by_regime_section', 'attribution': 'riskrl_nb.eval.attribution:attribution_section'}
    m = evaluate(tiny_model, out_dir=out, start='2023-01-01', end='2023-04-30', report=False, sections=sections)
    return m, out


def test_pnl_by_reason_regime_and_coin_sum_to_the_total(attributed, tiny_model):
    m, out = attributed
    r = m['attribution']
    trades = pd.read_csv(out/'trades.csv')
    agent = trades[trades.policy == 'agent']
    assert r['trades'] == len(agent) > 3
    initial = m['execution']['initial_equity']
    assert r['pnl'] == pytest.approx(m['policies']['agent']['total_return'] * initial, abs=1e-6)   # every trade closed by the end
    for key in ('by_exit_reason', 'by_regime', 'by_coin'):
        assert sum(v['pnl'] for v in r[key].values()) == pytest.approx(r['pnl'], abs=1e-6), key
        assert sum(v['trades'] for v in r[key].values()) == len(agent), key
    assert set(r['by_exit_reason']) == set(agent.exit_reason)
    for reason, v in r['by_exit_reason'].items():   # each reason's P&L from the trades file itself
        t = agent[agent.exit_reason == reason]
        assert v['pnl'] == pytest.approx(float((t['return'] * t.units * t.entry_price).sum()), abs=1e-6)
    assert set(r['by_regime']) <= set(m['by_regime']['regimes'])
    assert list(r['by_coin']) == ['BTC']


def test_edges_sum_to_agent_minus_rule_over_the_same_entries(attributed, tiny_model):
    from riskrl_nb.agents.bundle import load_bundle
    from riskrl_nb.data.candles import load_candles
    from riskrl_nb.data.entries import make_entries
    from riskrl_nb.sim.execution import Simulation, Market, run_backtest
    from riskrl_nb.eval.attribution import frozen_rule, SameEntry
    m, _ = attributed
    e = m['attribution']['edge']
    info = json.loads((tiny_model/'baselines.json').read_text())
    grid = pd.DataFrame(info['grid'])
    assert e['rule'] == grid.groupby('baseline').score.max().idxmax()          # the best rule on the training data
    per = pd.DataFrame(e['per_trade'])
    assert len(per) == e['trades'] == m['attribution']['trades']
    assert per.edge.sum() == pytest.approx(e['agent_pnl'] - e['rule_pnl'], abs=1e-6)
    assert per.agent_pnl.sum() == pytest.approx(m['attribution']['pnl'], abs=1e-6)
    assert np.allclose(per.entry_price, per.rule_entry_price, rtol=1e-12) and np.allclose(per.units, per.rule_units, rtol=1e-12)
    # each rule P&L again, as the change of the equity of an account that only takes that one entry
    b = load_bundle(tiny_model)
    df = load_candles(m['data']['path'])
    market = Market.from_candles(df)
    rule = frozen_rule(e['rule'], b.baselines[e['rule']], market)
    end = df.index.get_loc(pd.Timestamp(m['data']['end'])) + 1   # a trade open at the period's end closes there, as the agent's
    for row in per.itertuples():
        one = np.zeros(len(df), dtype=np.int8); one[row.entry_bar - 1] = 1
        sim = Simulation(market, one, b.cfg.costs, replace(b.cfg.env, initial_equity=row.equity_before))
        res = run_backtest(sim, SameEntry(rule, b.cfg.env.position_size), row.entry_bar - 1, min(end, row.entry_bar + b.cfg.env.max_holding_bars + 2))
        assert len(res.trades) == 1 and res.trades.entry_bar.iloc[0] == row.entry_bar
        assert res.equity.iloc[-1] - row.equity_before == pytest.approx(row.rule_pnl, abs=1e-6)


def test_attribution_in_the_report(attributed):
    from riskrl_nb.eval.attribution import attribution_html
    from riskrl_nb.eval.report import REPORT_SECTIONS
    from riskrl_nb.eval.evaluation import SECTIONS
    m, out = attributed
    assert SECTIONS['attribution'] == 'riskrl_nb.eval.attribution:attribution_section'
    assert REPORT_SECTIONS['attribution'] == 'riskrl_nb.eval.attribution:attribution_html'
    html = attribution_html(m, out)
    assert (out/'attribution.png').stat().st_size > 10_000 and 'data:image/png;base64' in html
    assert m['attribution']['edge']['rule'] in html and 'By exit reason' in html
