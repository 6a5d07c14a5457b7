"""Portfolio: one coin equals the single-coin env; coins without data never trade; the CVaR limit holds; partial fills conserve."""
from dataclasses import replace
import numpy as np
import pandas as pd
import pytest
from riskrl_nb.core.config import load_config, CostConfig, EnvConfig
from riskrl_nb.data.candles import load_bundled
from riskrl_nb.sim.execution import Market, Simulation, run_backtest
from riskrl_nb.sim.prepare import prepare_data
from riskrl_nb.sim.rules import make_baseline
from riskrl_nb.sim.portfolio import (PortfolioSimulation, PortfolioRiskEnv, run_portfolio_backtest, compare_with_single, align)
from riskrl_nb.sim.risk_limits import portfolio_cvar

CFG = load_config(overrides={'data': {'train_start': '2022-01-01'}})


@pytest.fixture(scope='module')
def coins():
    frames = [load_bundled(c, '1h').loc['2022-01-01':] for c in ('ETH', 'XRP', 'DOGE', 'ADA')]
    frames[2] = frames[2].loc['2023-05-01':]                                            # DOGE listed in May 2023
    frames[1] = frames[1].drop(frames[1].loc['2023-03-01':'2023-03-20'].index)          # XRP: three weeks missing
    frames[3] = frames[3].loc[:'2022-10-31']                                            # ADA: no data in 2023 at all
    prepared, _ = prepare_data(frames, CFG)
    return prepared


def test_one_coin_portfolio_equals_single_env(coins):
    "ETH alone (another coin than the notebook's BTC), the default config and the rich action space, several windows."
    eth = coins[0]
    s0, e0 = eth.periods['test']
    wins = [(s0 + 100, s0 + 1200), (s0 + 4000, s0 + 4800), (e0 - 700, e0)]
    assert compare_with_single(eth.data, CFG, wins, seed=3) > 20
    assert compare_with_single(eth.data, replace(CFG, env=replace(CFG.env, action_space='multidiscrete', position_size=0.7)), wins, seed=4) > 20


def test_a_coin_without_data_is_never_traded(coins):
    datasets = [p.data for p in coins]
    index = align(datasets)
    u0 = index.at('2023-01-01')
    env = PortfolioRiskEnv(datasets, CFG, period=(u0, len(index)), random_windows=False)
    env.reset(seed=0)
    assert 3 not in env.psim.active                                   # ADA: no bar in the window
    rng = np.random.default_rng(0)
    done, seen = False, set()
    while not done:
        m = env.action_masks().reshape(env.n, 3)
        t = index.times[env.psim.u - 1]
        for k in range(env.n):
            if index.bar_of[k, env.psim.u - 1] < 0: assert m[k].tolist() == [True, False, False]   # no bar now: hold only
        seen |= set(env.due)
        a = np.array([rng.choice(np.flatnonzero(row)) for row in m])
        *_, term, trunc, info = env.step(a)
        done = term or trunc
    assert {0, 1, 2} <= seen and 3 not in seen
    trades = env.psim.result().trades
    assert set(trades.coin) == {'ETH', 'XRP', 'DOGE'}
    doge = trades[trades.coin == 'DOGE']
    assert (doge.entry_time >= pd.Timestamp('2023-05-01', tz='UTC')).all()
    xrp = trades[trades.coin == 'XRP']
    missing = lambda t: (t >= pd.Timestamp('2023-03-01', tz='UTC')) & (t < pd.Timestamp('2023-03-21', tz='UTC'))
    assert not missing(xrp.entry_time).any() and not missing(xrp.exit_time).any()
    # every fill is at a bar the coin has: its bar indices map back to its own timestamps
    for k, name in enumerate(index.names[:3]):
        t = trades[trades.coin == name]
        own = set(coins[k].data.market.times)
        assert set(t.entry_time.astype('int64')) <= own and set(t.exit_time.astype('int64')) <= own


@pytest.mark.parametrize('allocation', ['equal', 'risk_parity'])
def test_cvar_limit_never_exceeded_in_a_backtest(coins, allocation):
    datasets, periods = [p.data for p in coins], [p.periods.get('test') for p in coins]
    limit = 0.03
    cfg = replace(CFG, portfolio=replace(CFG.portfolio, allocation=allocation, max_cvar=limit, cvar_horizon=24, window=720))
    psim = PortfolioSimulation(datasets, cfg, periods)
    res = run_portfolio_backtest(psim, lambda k: make_baseline('atr_trailing', {'atr_mult': 4.0}), psim.index.at('2023-01-01'))
    e = res.entries
    assert len(e) > 30 and (e.cvar_scale < 1).sum() >= 3                # the limit bound
    # recompute the book's CVaR after each entry independently, from the account's positions at that close
    for _, row in e[e['size'] > 0].iterrows():
        assert row.cvar_after <= limit + 1e-9
    # and the free run takes more risk
    free = run_portfolio_backtest(PortfolioSimulation(datasets, replace(cfg, portfolio=replace(cfg.portfolio, max_cvar=0.0)), periods),
                                  lambda k: make_baseline('atr_trailing', {'atr_mult': 4.0}), psim.index.at('2023-01-01'))
    assert free.entries['size'].sum() > e['size'].sum()


def test_cvar_after_matches_the_filled_book(coins):
    "The logged CVaR is the CVaR of the positions the account really holds after the fills (at the signal close's prices)."
    datasets, periods = [p.data for p in coins], [p.periods.get('test') for p in coins]
    cfg = replace(CFG, costs=CostConfig(fee_rate=0.0, slippage_bps=0.0), portfolio=replace(CFG.portfolio, max_cvar=0.03))
    psim = PortfolioSimulation(datasets, cfg, periods)
    psim.reset(psim.index.at('2023-01-01'))
    checked = refused = 0
    while (due := psim.step()) is not None:
        u = psim.u - 1
        rows = [r for r in psim.entry_log[-psim.n:] if r['step'] == u]
        if not rows: continue
        eq = psim.mark()
        book = psim.exposures(eq)
        lo = max(0, u - cfg.portfolio.window + 1)
        held = portfolio_cvar(book, psim.scenarios[lo:u + 1], 0.95)
        for row in rows:
            if row['size'] > 0: book[row['coin']] += row['size']
        if any(r['size'] > 0 for r in rows):
            assert portfolio_cvar(book, psim.scenarios[lo:u + 1], 0.95) <= 0.03 + 1e-9; checked += 1
        else:                       # refused: the book had drifted above the limit (prices move; only entries are limited)
            assert held > 0.03 - 1e-6; refused += 1
    assert checked > 20 and refused > 0


def _conserved(sim):
    tr = sim.trades_frame()
    side = np.where(tr.side == 'long', 1, -1)
    pnl = side * tr.units * (tr.exit_price - tr.entry_price) - tr.fees - tr.funding
    assert sim.units == 0.0
    np.testing.assert_allclose(sim.cash, sim.env.initial_equity + pnl.sum(), rtol=1e-10)
    np.testing.assert_allclose(tr.fees.sum(), sim.fees_paid, rtol=1e-10)


def test_partial_fills_conserve_quantity_and_cash():
    "A 1M account on DOGE with a 0.5 % participation cap: entries and exits spread over bars; units and cash add up."
    df = load_bundled('DOGE', '1h').loc['2023-01-01':'2023-06-30']
    m = Market.from_candles(df)
    sig = np.zeros(len(m), np.int8); sig[50::400] = 1
    env = EnvConfig(initial_equity=1_000_000.0, max_holding_bars=48)
    capped = Simulation(m, sig, CostConfig(participation_cap=0.005, impact_coef=0.5), env)
    r = run_backtest(capped, make_baseline('hold_to_horizon', {'horizon': 24}))
    assert len(r.trades) >= 5
    _conserved(capped)
    full = Simulation(m, sig, CostConfig(impact_coef=0.5), env)
    r0 = run_backtest(full, make_baseline('hold_to_horizon', {'horizon': 24}))
    assert (r.trades.exit_bar - r.trades.entry_bar).mean() > (r0.trades.exit_bar - r0.trades.entry_bar).mean()   # the exits took longer
    # a fill never exceeds the cap: units change per bar <= cap x bar value / open (+ round-off)
    units = np.r_[0.0, (r.exposure * r.equity / m.close[:len(r.equity)]).to_numpy()]
    step = np.abs(np.diff(units))[:-1]
    cap_units = 0.005 * np.maximum(m.volume * m.close, 1e-12) / m.open
    assert (step <= cap_units[:len(step)] * (1 + 1e-6) + 1e-9).all()


def test_cap_off_is_byte_identical():
    "participation_cap 0 (the default) and a cap too large to bind give the very same backtest."
    df = load_bundled('BTC', '1h').loc['2023-01-01':'2023-03-31']
    m = Market.from_candles(df)
    from riskrl_nb.data.entries import ema_cross_entries
    sig = ema_cross_entries(df)
    a = run_backtest(Simulation(m, sig, CostConfig(), EnvConfig()), make_baseline('atr_trailing', {'atr_mult': 3.0}))
    b = run_backtest(Simulation(m, sig, CostConfig(participation_cap=1.0), EnvConfig()), make_baseline('atr_trailing', {'atr_mult': 3.0}))
    assert np.array_equal(a.equity.to_numpy(), b.equity.to_numpy()) and a.trades.equals(b.trades)


def test_cli_portfolio_train_and_evaluate(tmp_path):
    "riskrl portfolio train / evaluate on two bundled coins with a tiny budget and small rule grids; bad coins exit 2."
    from conftest import run_main
    import json
    cfg = tmp_path/'small.yaml'
    cfg.write_text('data: {train_start: "2022-07-01", train_end: "2022-12-31", valid_start: "2023-01-01", valid_end: "2023-01-31",'
                   ' test_start: "2023-10-01", test_end: "2023-12-31"}\n'
                   'train: {n_envs: 2, n_steps: 128, batch_size: 64, n_epochs: 1}\nenv: {episode_bars: 300}\n'
                   'baselines: {take_profit_grid: [0.05], stop_loss_grid: [0.05], atr_mult_grid: [4.0], horizon_grid: [48]}\n')
    r = run_main('portfolio', 'train', '--data', 'BTC', 'ETH', '--out', tmp_path/'pm', '--config', cfg, '--steps', 256, '--seed', 1)
    assert r.returncode in (0, None), r.stderr
    assert (tmp_path/'pm'/'policy.pt').exists()
    r = run_main('portfolio', 'evaluate', '--model', tmp_path/'pm', '--out', tmp_path/'ev', '--config', cfg)
    assert r.returncode in (0, None), r.stderr
    m = json.loads((tmp_path/'ev'/'metrics.json').read_text())
    assert list(m['policies'])[0] == 'agent' and len(m['policies']) == 13 and m['coins'] == ['BTC', 'ETH']   # agent, 3 rules x 3 allocations, 3 books
    book = m['policies']['rule_book_equal']
    assert book['params']['members'] == ['fixed_tp_sl', 'atr_trailing', 'hold_to_horizon'] and book['params']['allocation'] == 'equal'
    assert book['n_trades'] == sum(m['policies'][f'{r}_equal']['n_trades'] for r in book['params']['members'])
    assert m['period']['start'].startswith('2023-10-01') and 'report.html' in r.stdout
    r = run_main('portfolio', 'train', '--data', 'BTC', 'NOPE', '--out', tmp_path/'x')
    assert r.returncode == 2 and r.stderr.strip().count('\n') == 0 and 'NOPE' in r.stderr


TINY_PORTFOLIO = """data: {train_start: '2022-03-01'}
train: {n_steps: 64, batch_size: 64, n_epochs: 1, n_envs: 2}
env: {episode_bars: 300}
baselines: {take_profit_grid: [0.05], stop_loss_grid: [0.05], atr_mult_grid: [4.0], horizon_grid: [48]}
"""


def test_train_portfolio_and_evaluate_through_the_main_commands(tmp_path):
    "`riskrl train --portfolio` writes a portfolio folder; `riskrl evaluate` recognises it and writes the portfolio report."
    import json
    from conftest import run_main as run_cli   # in this process: no second torch start
    (tmp_path/'c.yaml').write_text(TINY_PORTFOLIO)
    r = run_cli('train', '--portfolio', '--data', 'BTC', 'ETH', 'XRP', '--network', 'gnn', '--steps', '128', '--config', tmp_path/'c.yaml',
                '--out', tmp_path/'pm')
    assert r.returncode == 0, r.stderr[-800:]
    assert json.loads((tmp_path/'pm'/'portfolio.json').read_text())['network'] == 'gnn'
    r = run_cli('evaluate', '--model', tmp_path/'pm', '--out', tmp_path/'ev', '--start', '2023-01-01', '--end', '2023-02-28')
    assert r.returncode == 0, r.stderr[-800:]
    m = json.loads((tmp_path/'ev'/'metrics.json').read_text())
    assert 'agent' in m['policies'] and set(m['attribution']) == {'BTC', 'ETH', 'XRP'}
    assert {'return_contribution', 'risk_contribution'} <= set(m['attribution']['BTC'])
    html = (tmp_path/'ev'/'report.html').read_text()
    assert html.count('<img src="data:image/png;base64,') == 4 and 'correlation' in html and 'coin_equity' in html
    # a run's config without the gnn's graph window (an experiment's) still evaluates the gnn on the model's observation
    r = run_cli('portfolio', 'evaluate', '--model', tmp_path/'pm', '--config', tmp_path/'c.yaml', '--out', tmp_path/'ev2',
                '--start', '2023-01-01', '--end', '2023-01-31')
    assert r.returncode == 0, r.stderr[-800:]
    bad = run_cli('train', '--portfolio', '--data', 'BTC', 'ETH', '--network', 'lstm', '--out', tmp_path/'x')
    assert bad.returncode == 2 and '--network lstm' in bad.stderr
