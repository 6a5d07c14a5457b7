"""The properties that make the numbers trustworthy: no look-ahead, one execution path, costs always on."""
import copy
import numpy as np
import pandas as pd
import pytest
from riskrl_nb.agents.bundle import load_bundle
from riskrl_nb.data.candles import load_bundled
from riskrl_nb.eval.evaluation import backtest_all
from riskrl_nb.eval.evaluation import SIZING_ROWS


@pytest.fixture(scope='module')
def eth_2023():
    return load_bundled('ETH', '1h').loc['2022-10-01':'2023-06-30']


def test_no_lookahead_any_policy(tiny_model, eth_2023):
    "Changing every bar after k changes no policy's equity up to k (the oracle is exempt: it may see the future)."
    bundle = load_bundle(tiny_model)
    k = len(eth_2023) - 1500
    future = eth_2023.copy()
    rng = np.random.default_rng(0)
    scale = np.exp(np.cumsum(rng.normal(0, 0.01, len(future) - k - 1)))
    for c in ['open', 'high', 'low', 'close']: future.iloc[k + 1:, future.columns.get_loc(c)] *= scale
    future.iloc[k + 1:, future.columns.get_loc('volume')] *= 3
    kw = dict(start='2023-01-01', end='2023-06-30')
    a, _, (s, _, _) = backtest_all(bundle, eth_2023, **kw)
    b, _, _ = backtest_all(bundle, future, **kw)
    cut = k - s   # position of bar k inside the evaluated period
    assert cut > 500
    for name in a:
        ea, eb = a[name].equity.to_numpy(), b[name].equity.to_numpy()
        if name == 'oracle':
            assert not np.array_equal(ea[:cut + 1], eb[:cut + 1])   # the oracle does use the future
            continue
        np.testing.assert_array_equal(ea[:cut + 1], eb[:cut + 1], err_msg=name)
        assert not np.array_equal(ea, eb), name


def test_fee_change_reaches_every_policy(tiny_model, eth_2023):
    "All policies run through one execution module: doubling the fee raises every policy's fees."
    bundle = load_bundle(tiny_model)
    base, _, _ = backtest_all(bundle, eth_2023, start='2023-01-01')
    dearer = copy.deepcopy(bundle)
    dearer.cfg.costs.fee_rate *= 2
    dearer.cfg.costs.maker_fee_rate *= 2
    high, _, _ = backtest_all(dearer, eth_2023, start='2023-01-01')
    assert set(SIZING_ROWS) <= set(base)   # the sizing rows (agent exits, rule sizes) are among the policies checked
    # fees per unit of traded value: the agent sees its balance (dearer fees may change when it trades) and Kelly sizes
    # by realised returns, so totals need not double; the rate paid on what was traded must
    rate = lambda r: r.fees_paid / (r.trades.units * (r.trades.entry_price + r.trades.exit_price)).sum()
    for name in base:
        fb, fh = base[name], high[name]
        assert 1.9 < rate(fh) / rate(fb) < 2.1, (name, rate(fh) / rate(fb))
        assert_costs_lower(fb, fh, name)


def assert_costs_lower(cheap, dear, name):
    """Dearer execution makes every trade that both runs made (same entry and exit bars) worse. Final equity is not the
    check: the agent sees its balance and may exit elsewhere, and a sizing rule that adapts to realised returns (Kelly)
    sizes smaller after dearer trades and can end richer without any cost going missing."""
    if len(cheap.trades) == 0: return
    # the book's rows are its three rules' trades: the same bars can hold up to three, told apart by the rule in exit_reason
    key = ['entry_bar', 'exit_bar'] + (['exit_reason'] if name == 'rule_book' else [])
    both = cheap.trades.merge(dear.trades, on=key, suffixes=('_cheap', '_dear'))
    # most trades are the same trades; the agent re-decides on its (lower) balance, so only some of its trades (and of
    # the sizing rows, which replay its exits) need be
    need = 1 if name == 'agent' or name in SIZING_ROWS else len(cheap.trades) // 2
    assert len(both) >= need, (name, len(both), len(cheap.trades))
    assert (both['return_dear'] < both['return_cheap']).all(), name


def test_same_entries_for_every_policy(tiny_model, eth_2023):
    "Every trade of every policy starts at a bar where the entry rule fired; the first entry is shared."
    from riskrl_nb.data.entries import make_entries
    bundle = load_bundle(tiny_model)
    res, sim, _ = backtest_all(bundle, eth_2023, start='2023-01-01')
    sig_fill_bars = set(np.flatnonzero(sim.signals) + 1)
    firsts = set()
    for name, r in res.items():
        assert set(r.trades.entry_bar) <= sig_fill_bars, name
        firsts.add(int(r.trades.entry_bar.min()))
    assert len(firsts) == 1


def test_spread_and_funding_reach_every_policy(tiny_model, eth_2023):
    "Spread and funding are execution costs too: switching them on lowers every trading policy's final equity."
    bundle = load_bundle(tiny_model)
    base, _, _ = backtest_all(bundle, eth_2023, start='2023-03-01', end='2023-06-30')
    real = copy.deepcopy(bundle)
    real.cfg.costs.spread_bps, real.cfg.costs.funding_rate_8h = 4.0, 0.0003
    dear, _, _ = backtest_all(real, eth_2023, start='2023-03-01', end='2023-06-30')
    assert set(SIZING_ROWS) <= set(base)
    for name in base:
        if len(base[name].trades) == 0: continue
        assert_costs_lower(base[name], dear[name], name)
        assert dear[name].trades.funding.sum() > 0, name    # the long entries pay funding


def test_sizing_rule_is_the_agents_guard_rail(tiny_model, eth_2023):
    "With sizing.rule set, the agent's own entries get that rule's sizes: its row equals the rule's comparison row."
    bundle = copy.deepcopy(load_bundle(tiny_model))
    bundle.cfg.sizing.rule = 'vol_target'
    res, _, _ = backtest_all(bundle, eth_2023, start='2023-03-01', end='2023-06-30')
    agent, row = res['agent'], res['vol_target']
    assert len(agent.trades) > 5 and not np.allclose(agent.trades['size'], 1.0)
    np.testing.assert_array_equal(agent.equity.to_numpy(), row.equity.to_numpy())
