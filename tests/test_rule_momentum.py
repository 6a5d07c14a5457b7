"""bench/rule_momentum.py: the test's shadow records span the training start to the test end; tuning and test read what they should."""
import sys
from pathlib import Path
from types import SimpleNamespace
import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / 'bench'))
from rule_momentum import shadow_spans, choice_counts
from vol_trim import training_periods
from riskrl_nb.eval import benchmark as B
from riskrl_nb.sim.execution import Simulation, Market, run_backtest
from riskrl_nb.sim.rule_momentum import RuleMomentum, ShadowBook, shadow_trades
from riskrl_nb.data.entries import make_entries

RULES = dict(fixed_tp_sl=dict(take_profit_pct=0.03, stop_loss_pct=0.02), atr_trailing=dict(atr_mult=3.0, atr_window=14),
             hold_to_horizon=dict(horizon=48))


def window(name='2020H2'):
    w = B.bench_window(name, train_months=12)
    cfg = B.bench_config(w, ['ETH', 'BTC'], 0)
    frames = {'ETH': B.load_coin('ETH'), 'BTC': B.load_coin('BTC')}
    tests = {c: B.evaluation_period(df, SimpleNamespace(cfg=cfg), w.test_start, w.test_end)[:2] for c, df in frames.items()}
    return w, cfg, frames, tests


def test_shadow_spans_run_from_the_training_start_to_the_test_end():
    "Same start as the rules' tuning periods (a coin with training bars), the test period's end; BTC (no bars before 2020-08) from its first usable bar."
    w, cfg, frames, tests = window()
    spans, train = shadow_spans(frames, cfg, tests), training_periods(frames, cfg)
    assert set(train) == {'ETH'} and set(spans) == {'ETH', 'BTC'}
    assert spans['ETH'] == (train['ETH'][0], tests['ETH'][1])
    assert spans['BTC'] == tests['BTC']   # no BTC bars before 2020-08: its record starts where its test does, after the warm-up
    assert frames['ETH'].index[spans['ETH'][1] - 1] <= pd.Timestamp(w.test_end, tz='UTC') + pd.Timedelta(days=1)


def test_the_all_coin_scope_reads_other_coins_only_up_to_the_signal_bar():
    "Picks with scope 'all' on ETH are unchanged when BTC's bars after a cut change (its shadow trades re-run), and change with BTC's earlier bars."
    w, cfg, frames, tests = window('2021H1')
    eth_sim = Simulation(Market.from_candles(frames['ETH']), make_entries(frames['ETH'], cfg.entry), cfg.costs, cfg.env)
    spans = shadow_spans(frames, cfg, tests)
    def picks(btc):
        sims = {'ETH': eth_sim, 'BTC': Simulation(Market.from_candles(btc), make_entries(btc, cfg.entry), cfg.costs, cfg.env)}
        pol = RuleMomentum(RULES, ShadowBook(shadow_trades(sims, RULES, spans)), 'ETH', 'hold_to_horizon', lookback=336, scope='all', min_trades=3)
        res = run_backtest(eth_sim, pol, *tests['ETH'])
        return pol.choices, res
    base, res = picks(frames['BTC'])
    k = tests['ETH'][0] + 2000   # ETH and BTC share the hourly grid here
    cut = frames['ETH'].index[k]
    def changed(after:bool):
        btc = frames['BTC'].copy()
        rows = btc.index > cut if after else btc.index <= cut
        noise = np.exp(np.random.default_rng(2).normal(0, 0.03, rows.sum()))
        for c in ('open', 'high', 'low', 'close'): btc.loc[rows, c] *= noise
        btc['high'] = btc[['open', 'high', 'close']].max(axis=1); btc['low'] = btc[['open', 'low', 'close']].min(axis=1)
        return picks(btc)[0]
    upto = lambda ch: [c for c in ch if c[0] <= k]
    assert len(upto(base)) > 10 and not all(f for _, _, f in upto(base))
    assert upto(changed(after=True)) == upto(base)
    assert upto(changed(after=False)) != upto(base)   # the other coin's record is really read
    c = choice_counts(SimpleNamespace(choices=base), res)
    assert c['trades'] == len(res.trades) == sum(c[f'chose_{r}'] for r in RULES) and 0 <= c['fallbacks'] < c['trades']


def test_premise_summary_compares_the_pick_with_the_training_best_rule_on_the_same_entry():
    "Hand-built entries: the picked rule's return minus the training-best rule's, ties and 'ahead where they differ' as defined."
    from rule_momentum_premise import summary
    e = pd.DataFrame(dict(window='W', coin=['A', 'A', 'B', 'B'], entry_bar=[1, 2, 1, 2], best_rule='fixed_tp_sl', lookback=336, scope='coin',
                          pick=['atr_trailing', 'fixed_tp_sl', 'hold_to_horizon', 'atr_trailing'], fell_back=False,
                          return_fixed_tp_sl=[0.01, 0.02, -0.01, 0.0], return_atr_trailing=[0.03, 0.02, 0.05, 0.0],
                          return_hold_to_horizon=[0.0, 0.02, -0.03, 0.0]))
    s = summary('P', e)[0]
    assert abs(s['picked_minus_best_bp'] - (200 + 0 - 200 + 0) / 4) < 1e-9          # +0.02, 0, -0.02, 0
    assert s['rules_all_equal'] == 0.5 and s['returns_differ'] == 0.5 and s['picked_ahead_when_differ'] == 0.5
    assert abs(s['top_minus_best_bp'] - (200 + 0 + 600 + 0) / 4) < 1e-9
    assert abs(s['picked_minus_mean3_bp'] - 1e4 * np.mean([0.03 - 0.04 / 3, 0.0, -0.03 - 0.01 / 3, 0.0])) < 1e-9
