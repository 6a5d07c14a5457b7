"""bench/wide_book.py and nb 21d (ablation 15): the top-1 equal-weight book is the benchmark's `rule_book`, a weighted book is
the weighted sum of its members, and the choice of the book reads no bar after the end of the training periods."""
import sys
from pathlib import Path
import numpy as np
import pandas as pd
from riskrl_nb.core.config import BaselineConfig, CostConfig, EnvConfig
from riskrl_nb.core.metrics import sortino
from riskrl_nb.data.candles import load_bundled
from riskrl_nb.data.entries import ema_cross_entries
from riskrl_nb.eval import benchmark as B
from riskrl_nb.sim.execution import Market, Simulation, run_backtest
from riskrl_nb.sim.rules import make_baseline, tune_baselines, RULES
from riskrl_nb.sim.wide_book import ranked_rules, member_returns, tune_wide_book, WIDE_BOOK_GRID

sys.path.insert(0, str(Path(__file__).resolve().parents[1]/'bench'))
from wide_book import book_rows

GRID = BaselineConfig(take_profit_grid=[0.03, 0.05, 0.08], stop_loss_grid=[0.02, 0.03], atr_mult_grid=[2.0, 4.0, 6.0],
                      horizon_grid=[24, 48, 96], tune_metric='sortino')


def _sims(frames):
    return {c: Simulation(Market.from_candles(d), ema_cross_entries(d), CostConfig(), EnvConfig()) for c, d in frames.items()}


def _at(d, s): return int(np.searchsorted(d.index, pd.Timestamp(s, tz='UTC')))


def _choose(frames):
    "The gate's whole choice on the training spans: tune the rules, rank them, backtest the candidates, choose the book."
    sims = _sims(frames)
    periods = {c: (_at(d, '2022-01-01'), _at(d, '2022-10-01')) for c, d in frames.items()}
    params, table = tune_baselines(list(sims.values()), list(periods.values()), GRID, 8760)
    ranked = ranked_rules(dict(params=params, grid=table.to_dict('records')), max(WIDE_BOOK_GRID['k']))
    chosen, tab = tune_wide_book(member_returns(sims, periods, ranked, max(WIDE_BOOK_GRID['k'])), ranked, WIDE_BOOK_GRID, 8760)
    return chosen, tab, periods


def _shaken(frames, periods):
    out = {}
    for c, df in frames.items():
        b = periods[c][1]
        f = df.copy()
        noise = np.exp(np.random.default_rng(len(c)).normal(0, 0.03, len(f) - b))
        for col in ('open', 'high', 'low', 'close'): f.iloc[b:, f.columns.get_loc(col)] *= noise
        f['high'] = f[['open', 'high', 'close']].max(axis=1); f['low'] = f[['open', 'low', 'close']].min(axis=1)
        out[c] = f
    return out


def test_choice_reads_no_bar_after_the_training_end():
    frames = {c: load_bundled(c, '1h') for c in ('BTC', 'ETH')}
    chosen, tab, periods = _choose(frames)
    for w in tab.weights: assert abs(sum(w) - 1) < 1e-12 and min(w) >= 0
    assert tab.n_members.max() > 3 and set(tab.weighting) == {'equal', 'inverse_vol', 'min_variance'}
    shaken = _shaken(frames, periods)
    for c in frames: assert not np.allclose(shaken[c].close.to_numpy()[periods[c][1]:], frames[c].close.to_numpy()[periods[c][1]:])
    chosen2, tab2, _ = _choose(shaken)
    assert chosen2 == chosen
    pd.testing.assert_frame_equal(tab, tab2)


def _window(weights):
    "BTC and ETH's 2023 test half-year as the gate builds it: the three rules' rows and returns, and the book added by `book_rows`."
    frames = {c: load_bundled(c, '1h') for c in ('BTC', 'ETH')}
    sims = _sims(frames)
    params, table = tune_baselines(list(sims.values()), [(_at(d, '2022-01-01'), _at(d, '2023-01-01')) for d in frames.values()], GRID, 8760)
    ranked = ranked_rules(dict(params=params, grid=table.to_dict('records')), 1)
    rows, returns = [], {}
    for c, d in frames.items():
        tests = {c: (_at(d, '2023-01-01'), _at(d, '2023-07-01'))}
        f = member_returns({c: sims[c]}, tests, ranked, 1)[c]
        for r in RULES:
            res = run_backtest(sims[c], make_baseline(r, params[r]), *tests[c])
            assert np.array_equal(res.returns.to_numpy(), f[r].to_numpy())
            rows.append(dict(variant='wide_book', kind='pooled', window='2023H1', coin=c, policy=r, seed=None, best_rule='hold_to_horizon',
                             **B.bench_metrics(res, sims[c])))
            returns.setdefault(('wide_book', 'pooled', '2023H1', c), {})[r] = res.returns
    rows, returns = book_rows(rows, returns, list(RULES), weights)
    long = pd.DataFrame(rows)
    frames_ = {k: pd.DataFrame(v) for k, v in returns.items()}
    return B.add_rule_book(B._add_mix(long, frames_), frames_), frames_


def test_top1_equal_book_is_the_rule_book_and_weights_reach_the_book():
    long, frames = _window([1 / 3] * 3)
    for key, f in frames.items():
        assert np.abs(f.agent_seed0.to_numpy() - f.rule_book.to_numpy()).max() < 1e-12
        assert np.abs(f.agent_mix.to_numpy() - f.rule_book.to_numpy()).max() < 1e-12
    c = B.comparison(long)
    assert np.abs((c.agent_mix - c.rule_book).to_numpy()).max() < 1e-12
    assert (c.agent_mix == c.rule_book).all()                                       # exact ties: counted as not ahead, as the gate counts them
    assert set(long.policy) == set(RULES) | {'agent_seed0', 'agent_mix', 'rule_book'}
    w = [0.5, 0.3, 0.2]
    long_w, frames_w = _window(w)
    for key, f in frames_w.items():
        want = sum(x * f[r] for x, r in zip(w, RULES))
        assert np.abs(f.agent_seed0.to_numpy() - want.to_numpy()).max() < 1e-15
        assert abs(sortino(f.agent_seed0, 8760) - sortino(f.rule_book, 8760)) > 1e-3   # weighted is not the equal book
    assert (long_w[long_w.policy == 'agent_seed0'].seed == 0).all()
