"""Checks of the user-facing file formats in CONTRACT.md (metrics.json, trades.csv)."""
import math
import pandas as pd

POLICIES = ['agent', 'fixed_tp_sl', 'atr_trailing', 'hold_to_horizon', 'oracle']
KEYS = ['total_return', 'sharpe', 'sortino', 'max_drawdown', 'calmar', 'cvar_95', 'omega', 'n_trades', 'win_rate',
        'exit_efficiency', 'fees_paid']
TRADE_COLUMNS = ['policy', 'entry_time', 'exit_time', 'side', 'size', 'entry_price', 'exit_price', 'return', 'fees',
                 'exit_reason']


def check_metrics(m: dict):
    assert set(m['data']) >= {'path', 'symbol', 'interval', 'start', 'end', 'bars'}
    assert m['data']['start'].endswith('Z') and m['data']['end'].endswith('Z') and m['data']['bars'] > 1
    assert set(m['costs']) >= {'fee_rate', 'slippage_bps'} and m['costs']['fee_rate'] > 0 and m['costs']['slippage_bps'] > 0
    assert list(m['policies'])[:len(POLICIES) - 1] == POLICIES[:-1] and 'oracle' in m['policies']
    for name, p in m['policies'].items():
        for k in KEYS:
            assert k in p, (name, k)
            v = p[k]
            assert v is None or isinstance(v, (int, float)), (name, k, v)
            assert v is None or math.isfinite(v), (name, k, v)
        assert isinstance(p['n_trades'], int)
        assert p['max_drawdown'] <= 0 and p['cvar_95'] <= 0 and 0 <= p['win_rate'] <= 1 and p['fees_paid'] >= 0
        assert p['n_trades'] == 0 or p['fees_paid'] > 0, name     # costs are always on
        if name != 'agent' and name != 'oracle': assert p['params'], name   # the frozen rule parameters are reported
    o = m['policies']['oracle']
    assert o['exit_efficiency'] is None or abs(o['exit_efficiency'] - 1) < 1e-9


def check_trades(t: pd.DataFrame, m: dict):
    assert list(t.columns[:len(TRADE_COLUMNS)]) == TRADE_COLUMNS
    for name, p in m['policies'].items():
        assert (t.policy == name).sum() == p['n_trades'], name
    assert t.entry_time.str.endswith('Z').all() and (t.exit_time >= t.entry_time).all()
    assert (t.fees > 0).all() and t.side.isin(['long', 'short']).all()


RULES = POLICIES[1:4]


def check_rule_book(m: dict, t: pd.DataFrame):
    "`rule_book` (an addition to the contract): right after the rules, the same keys as the agent, its trades the rules' at a third of the size."
    assert list(m['policies'])[:5] == [*POLICIES[:4], 'rule_book']
    assert set(m['policies']['rule_book']) == set(m['policies']['agent'])
    book = t[t.policy == 'rule_book']
    assert len(book) == sum((t.policy == r).sum() for r in RULES) == m['policies']['rule_book']['n_trades']
    for r in RULES:
        mine, theirs = book[book.exit_reason.str.startswith(r + ':')], t[t.policy == r]
        assert sorted(mine.exit_reason) == sorted(r + ':' + theirs.exit_reason), r
        assert abs(mine['size'].sum() - theirs['size'].sum() / 3) < 1e-9 and abs(mine.fees.sum() - theirs.fees.sum() / 3) < 1e-6, r
