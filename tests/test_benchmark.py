"""The skill benchmark: disjoint windows, rules tuned on training data only, the statistics on a hand-built table, a tiny end-to-end run."""
import json, math, subprocess, sys, time
import numpy as np
import pandas as pd
import pytest
from scipy import stats
from riskrl_nb.agents import training as agent_mod
from riskrl_nb.sim.prepare import prepare_data
from riskrl_nb.sim.rules import RULES
from riskrl_nb.eval.benchmark import (HALF_YEARS, BenchWindow, BenchSpec, bench_window, check_window, bench_config, load_coin,
                                 summarize_benchmark, comparison, excess_stream, share_ci)
from riskrl_nb.core.config import RiskrlError, bundled_path, load_config, config_to_dict
from riskrl_nb.data.candles import period_slice
from conftest import run_cli, run_main

SMALL_GRID = {'baselines': {'take_profit_grid': [0.03, 0.08], 'stop_loss_grid': [0.02, 0.05],
                            'atr_mult_grid': [2.0, 6.0], 'horizon_grid': [24, 168]}}


@pytest.mark.parametrize('half', HALF_YEARS)
def test_windows_train_valid_test_disjoint_in_bars(half):
    "On the real files the bar ranges of train, validation and test are ordered and never share a bar."
    w = bench_window(half)
    cfg = bench_config(w, [bundled_path('BTC'), bundled_path('ETH')], seed=0)
    frames = [load_coin('BTC'), load_coin('ETH')]
    prepared, _ = prepare_data(frames, cfg)
    for p, df in zip(prepared, frames):
        (ta, tb), (va, vb) = p.periods['train'], p.periods['valid']
        s = period_slice(df, w.test_start, w.test_end)
        assert ta < tb <= va < vb <= s.start < s.stop
        assert df.index[tb - 1] < pd.Timestamp(w.valid_start, tz='UTC') <= df.index[va]
        assert df.index[vb - 1] < pd.Timestamp(w.test_start, tz='UTC') <= df.index[s.start]
        assert p.periods['test'][0] == s.start   # the model's own test period is the benchmark's


def test_overlapping_window_refused():
    ok = bench_window('2022H2', valid_months=3)
    check_window(ok)
    for bad in [BenchWindow('v', ok.train_start, ok.valid_start, ok.valid_start, ok.valid_end, ok.test_start, ok.test_end),   # train ends on the first valid day
                BenchWindow('t', ok.train_start, ok.train_end, ok.valid_start, ok.test_start, ok.test_start, ok.test_end)]:   # valid runs into test
        with pytest.raises(RiskrlError, match='before'): check_window(bad)
        with pytest.raises(RiskrlError): bench_config(bad, [bundled_path('BTC')], seed=0)


def _tune(frames, cfg):
    "The rule tuning exactly as `train` runs it (prepare the files, tune on train + validation)."
    prepared, _ = prepare_data(frames, cfg)
    return agent_mod._tune_before_test(cfg, [p for p in prepared if 'train' in p.periods], False)


def test_rule_tuning_sees_only_training_data():
    "Scrambling every bar of the test half-year (and after) changes neither the tuned rules nor any grid score."
    w = bench_window('2023H1', train_months=9)
    cfg = bench_config(w, [bundled_path('ETH'), bundled_path('XRP')], seed=0, variant=SMALL_GRID)
    frames = [load_coin('ETH'), load_coin('XRP')]
    params, grid = _tune(frames, cfg)
    rng = np.random.default_rng(0)
    scrambled = []
    for df in frames:
        d = df.copy()
        after = d.index >= pd.Timestamp(w.test_start, tz='UTC')
        shock = np.exp(np.cumsum(rng.normal(0, 0.05, after.sum())))   # a different, much wilder future
        for c in ('open', 'high', 'low', 'close'): d.loc[after, c] = d.loc[after, c] * shock
        d.loc[after, 'high'] = d.loc[after, ['open', 'high', 'low', 'close']].max(axis=1)
        d.loc[after, 'low'] = d.loc[after, ['open', 'high', 'low', 'close']].min(axis=1)
        d.attrs = dict(df.attrs)
        scrambled.append(d)
    params2, grid2 = _tune(scrambled, cfg)
    assert params2 == params
    np.testing.assert_array_equal(grid.score.to_numpy(), grid2.score.to_numpy())
    # the check can fail: tuning that reached into the test half-year would see the scrambled bars
    leaky = bench_config(w, [bundled_path('ETH'), bundled_path('XRP')], seed=0, variant=SMALL_GRID)
    leaky.data.valid_end = w.test_end; leaky.data.test_start, leaky.data.test_end = '2024-01-01', '2024-06-30'
    _, g1 = _tune(frames, leaky)
    _, g2 = _tune(scrambled, leaky)
    assert not np.allclose(g1.score.to_numpy(), g2.score.to_numpy())


def _hand_built():
    "2 windows x 2 coins, 2 seeds, rules r1/r2; constant per-bar returns so every figure is known."
    idx = {'A': pd.date_range('2022-01-01', periods=200, freq='h', tz='UTC'),
           'B': pd.date_range('2022-07-01', periods=200, freq='h', tz='UTC')}
    best = {'A': 'fixed_tp_sl', 'B': 'hold_to_horizon'}
    sortinos = {  # (window, coin): (seed0, seed1, fixed_tp_sl, hold_to_horizon)
        ('A', 'X'): (2.0, 1.0, 1.5, 9.0), ('A', 'Y'): (0.5, 0.4, 1.0, 9.0),
        ('B', 'X'): (3.0, 3.0, 9.0, 1.0), ('B', 'Y'): (0.1, 2.0, 9.0, 1.5)}
    rows, returns = [], {}
    rng = np.random.default_rng(1)
    for (w, coin), vals in sortinos.items():
        for pol, s in zip(['agent_seed0', 'agent_seed1', 'fixed_tp_sl', 'hold_to_horizon'], vals):
            rows.append(dict(variant='v', kind='pooled', window=w, coin=coin, policy=pol, seed=None, best_rule=best[w], sortino=s,
                             total_return=0.0, trade_cvar_95=-0.01, exit_efficiency=0.1, sharpe=0.0, n_trades=5))
        f = pd.DataFrame({p: rng.normal(0.0, 0.01, 200) for p in ['agent_seed0', 'agent_seed1', 'fixed_tp_sl', 'hold_to_horizon']},
                         index=idx[w])
        returns[('v', 'pooled', w, coin)] = f
    long = pd.DataFrame(rows)
    for (v, k, w, coin), f in returns.items():   # the mix row, as run_benchmark adds it (Sortino set by hand here)
        f['agent_mix'] = f[['agent_seed0', 'agent_seed1']].mean(axis=1)
        mix = {('A', 'X'): 1.6, ('A', 'Y'): 0.9, ('B', 'X'): 3.0, ('B', 'Y'): 1.0}[(w, coin)]
        long.loc[len(long)] = dict(variant='v', kind='pooled', window=w, coin=coin, policy='agent_mix', seed=None, best_rule=best[w],
                                   sortino=mix, total_return=0.0, trade_cvar_95=-0.01, exit_efficiency=0.1, sharpe=0.0, n_trades=5)
    return dict(long=long, returns=returns, rules=pd.DataFrame(), coins=['X', 'Y'], spec=None), best


def test_share_ci_and_deflated_sharpe_on_hand_built_table():
    result, best = _hand_built()
    c = comparison(result['long'])
    # mix vs best rule: A/X 1.6 > 1.5 yes; A/Y 0.9 > 1.0 no; B/X 3.0 > 1.0 yes; B/Y 1.0 > 1.5 no
    assert c['beats_agent_mix'].tolist() == [True, False, True, False]
    assert c['beats_agent_seed0'].tolist() == [True, False, True, False]
    assert c['beats_agent_seed1'].tolist() == [False, False, True, True]
    s = summarize_benchmark(result, n_boot=4000, n_blocks=4)['v/pooled']
    mix = s['share_beating_best_rule']['agent_mix']
    assert mix['share'] == 0.5 and mix['n'] == 4
    assert mix['lo'] == 0.0 and mix['hi'] == 1.0            # 4 coin-windows: the percentile bootstrap spans 0..1
    assert mix['lo_cluster'] == mix['hi_cluster'] == 0.5    # each window won exactly one of two coins
    assert s['share_beating_best_rule_on_return']['share'] == 0.0   # equal returns everywhere: a tie is not a win
    assert s['share_beating_rule'] == {'fixed_tp_sl': 0.25, 'hold_to_horizon': 0.25}   # 1.6>1.5 only; 3.0>1.0 only
    # the excess stream: per bar, mean over coins of agent_mix minus that window's best rule, windows chained
    r = result['returns']
    want = pd.concat([(r[('v', 'pooled', 'A', 'X')].agent_mix - r[('v', 'pooled', 'A', 'X')].fixed_tp_sl
                       + r[('v', 'pooled', 'A', 'Y')].agent_mix - r[('v', 'pooled', 'A', 'Y')].fixed_tp_sl) / 2,
                      (r[('v', 'pooled', 'B', 'X')].agent_mix - r[('v', 'pooled', 'B', 'X')].hold_to_horizon
                       + r[('v', 'pooled', 'B', 'Y')].agent_mix - r[('v', 'pooled', 'B', 'Y')].hold_to_horizon) / 2])
    got = excess_stream({(w, coin): f for (_, _, w, coin), f in r.items()}, 'agent_mix', best)
    pd.testing.assert_series_equal(got, want, check_names=False)
    # deflated Sharpe by the textbook formula, with the 2 seeds' excess streams as the trials
    seeds = [excess_stream({(w, coin): f for (_, _, w, coin), f in r.items()}, a, best) for a in ('agent_seed0', 'agent_seed1')]
    srs = np.array([x.mean() / x.std() for x in seeds])
    g = 0.5772156649015329
    sr0 = math.sqrt(srs.var(ddof=1)) * ((1 - g) * stats.norm.ppf(1 - 1 / 2) + g * stats.norm.ppf(1 - 1 / (2 * math.e)))
    sr, n = want.mean() / want.std(), len(want)
    sk, ku = stats.skew(want, bias=False), stats.kurtosis(want, bias=False) + 3
    dsr = stats.norm.cdf((sr - sr0) * math.sqrt(n - 1) / math.sqrt(1 - sk * sr + (ku - 1) / 4 * sr ** 2))
    assert s['n_trials'] == 2
    assert s['deflated_sharpe']['dsr'] == pytest.approx(dsr, rel=1e-6)
    assert s['pbo'] is not None and 0 <= s['pbo']['pbo'] <= 1


def test_share_ci_normal_approximation():
    s = share_ci([True] * 70 + [False] * 30, n_boot=20_000)
    half = 1.96 * math.sqrt(0.7 * 0.3 / 100)
    assert s['share'] == 0.7
    assert s['lo'] == pytest.approx(0.7 - half, abs=0.02) and s['hi'] == pytest.approx(0.7 + half, abs=0.02)


def test_benchmark_cli_tiny_end_to_end(tmp_path, tiny_config):
    "A complete tiny run: 2 coins, 1 window, 1 seed, one coin left out; outputs written; a rerun reuses every model."
    variants = tmp_path/'variants.yaml'
    variants.write_text("default: {}\nno_dd: {reward: {drawdown_penalty: 0.0}}\n")
    out = tmp_path/'bench'
    args = ['benchmark', '--coins', 'BTC', 'ETH', '--windows', '2023H2', '--seeds', '1', '--steps', '256', '--train-months', '4',
            '--loo', 'ETH', '--config', tiny_config, '--variants', variants, '--out', out, '--no-progress']
    t0 = time.time()
    r = run_main(*args)   # in-process: the console script is covered by the tests below
    assert r.returncode == 0, r.stderr[-2000:]
    first = time.time() - t0
    for f in ('table.csv', 'comparison.csv', 'rules.csv', 'summary.json', 'benchmark.md', 'benchmark.png'):
        assert (out/f).is_file(), f
    long = pd.read_csv(out/'table.csv')
    assert set(long.variant) == {'default', 'no_dd'} and set(long.kind) == {'pooled', 'loo'}
    pooled = long[long.kind == 'pooled']
    assert set(pooled.coin) == {'BTC', 'ETH'} and set(long[long.kind == 'loo'].coin) == {'ETH'}
    assert {'agent_seed0', 'agent_mix', *RULES} <= set(pooled.policy)
    summary = json.loads((out/'summary.json').read_text())['results']
    assert set(summary) == {'default/pooled', 'default/loo', 'no_dd/pooled', 'no_dd/loo'}
    assert summary['default/pooled']['n_trials'] == 2   # 2 variants x 1 seed
    # the no-learning counterpart of the mix: the equal-weight book of the three tuned rules, and the share the mix beats it
    assert 'rule_book' in set(pooled.policy)
    comp = pd.read_csv(out/'comparison.csv')
    p = comp[(comp.kind == 'pooled') & (comp.variant == 'default')]
    assert summary['default/pooled']['share_beating_rule_book']['share'] == (p.agent_mix > p.rule_book).mean()
    # how far from 70 %, in Sortino: the lift that puts 70 % of the coin-windows ahead, for the mix and the book
    from riskrl_nb.eval.benchmark import lift_to_target
    lift = summary['default/pooled']['sortino_lift_to_70']
    assert lift['agent_mix'] == lift_to_target(p.agent_mix - p.best_rule_sortino) and lift['rule_book'] == lift_to_target(p.rule_book - p.best_rule_sortino)
    assert (p.agent_mix + lift['agent_mix'] + 1e-9 > p.best_rule_sortino).mean() >= 0.7
    assert lift['agent_mix'] == 0 or (p.agent_mix + lift['agent_mix'] - 1e-9 > p.best_rule_sortino).mean() < 0.7
    md = (out/'benchmark.md').read_text()
    assert 'equal-weight book of the tuned rules' in md and md.count('On total return instead of Sortino') == len(summary)   # one verdict each
    assert md.count('To be ahead in 70 %, the mix would need') == len(summary)
    rules = pd.read_csv(out/'rules.csv')
    assert set(rules.rule) == set(RULES) and rules.groupby(['variant', 'kind', 'window', 'left_out'], dropna=False).best.sum().eq(1).all()
    model = out/'models'/'default'/'2023H2'/'seed0'/'model.zip'
    mtime = model.stat().st_mtime
    t0 = time.time()
    r = run_main(*args)   # in-process: the console script is covered by the tests below
    assert r.returncode == 0, r.stderr[-2000:]
    assert model.stat().st_mtime == mtime and time.time() - t0 < first   # reused, not retrained
    # ranked on 2023H2, judged on 2023H1: the 2023H2 models are reused, the judged window gets its own tables
    r = run_main(*args, '--confirm-windows', '2023H1')
    assert r.returncode == 0, r.stderr[-2000:]
    assert model.stat().st_mtime == mtime
    assert set(pd.read_csv(out/'table.csv').window) == {'2023H2'} and set(pd.read_csv(out/'confirm'/'table.csv').window) == {'2023H1'}
    sc = pd.read_csv(out/'select_confirm.csv', index_col=0)
    assert set(sc.index) == {'default', 'no_dd'} and sc.chosen.sum() == 1 and set(sc.select_windows) == {'2023H2'}
    judged = pd.read_csv(out/'confirm'/'comparison.csv')
    judged = judged[judged.kind == 'pooled'].groupby('variant').beats_agent_mix.mean()
    assert (sc.confirm_share == judged.reindex(sc.index)).all()   # the judged shares are the confirm tables' own
    assert 'judged on 2023H1' in (out/'benchmark.md').read_text() and 'chosen on 2023H2' in r.stdout
    # both windows in one table, and the walk-forward choice between the two variants (the models are reused)
    both = [*args[:args.index('2023H2')], '2023H1', *args[args.index('2023H2'):]]   # --windows 2023H1 2023H2
    r = run_main(*both, '--track-record', 'no_dd', 'default')
    assert r.returncode == 0, r.stderr[-2000:]
    assert model.stat().st_mtime == mtime and 'track record of no_dd, default:' in r.stdout
    tr = pd.read_csv(out/'track_record.csv').set_index(['window', 'coin'])
    comp = pd.read_csv(out/'comparison.csv').query("kind == 'pooled'").pivot(index=['window', 'coin'], columns='variant', values='agent_mix')
    first = comp.loc['2023H1'].mean()                      # what the 2023H1 results showed by the start of 2023H2
    assert tr.loc['2023H1', 'chosen'].eq('no_dd').all()     # no history: the first name
    assert tr.loc['2023H2', 'chosen'].eq('default' if first['default'] > first['no_dd'] else 'no_dd').all()
    assert all(tr.at[i, 'track_record'] == comp.at[i, tr.at[i, 'chosen']] for i in tr.index)
    assert '## Choosing by track record' in (out/'benchmark.md').read_text() and (out/'track_record.png').stat().st_size > 10_000
    # first the variant behind on 2023H1: the plain record switches to the other in 2023H2, a margin no record clears keeps it
    pooled = pd.read_csv(out/'comparison.csv').query("kind == 'pooled' and variant == 'default'").set_index('window')
    first = {'default': pooled.loc['2023H1', 'agent_mix'].mean(), 'rule_book': pooled.loc['2023H1', 'rule_book'].mean()}
    lo, hi = sorted(first, key=first.get); assert first[hi] > first[lo]
    r = run_main(*both, '--track-record', lo, hi)
    assert r.returncode == 0 and pd.read_csv(out/'track_record.csv').set_index('window').loc['2023H2', 'chosen'].eq(hi).all()
    r = run_main(*both, '--track-record', lo, hi, '--track-margin', '1000')
    assert r.returncode == 0, r.stderr[-2000:]
    assert model.stat().st_mtime == mtime and pd.read_csv(out/'track_record.csv').chosen.eq(lo).all()
    assert 'not above the first one by more than 1000.00' in (out/'benchmark.md').read_text()


def test_benchmark_cli_bad_input(tmp_path):
    v = tmp_path/'v.yaml'
    v.write_text("typo: {reward: {no_such_key: 1}}\n")
    r = run_cli('benchmark', '--variants', v, '--out', tmp_path/'o')
    assert r.returncode == 2 and "variant 'typo'" in r.stderr and 'no_such_key' in r.stderr
    r = run_main('benchmark', '--windows', '2022Q3', '--out', tmp_path/'o')   # in-process (the line above runs the console script)
    assert r.returncode == 2 and 'half-year' in r.stderr
    r = run_main('benchmark', '--windows', '2023H1', '2023H2', '--confirm-windows', '2023H2', '--out', tmp_path/'o')   # in-process: refused before any work
    assert r.returncode == 2 and '--confirm-windows 2023H2' in r.stderr and 'overlap' in r.stderr
    r = run_main('benchmark', '--windows', '2023H2', '--track-record', 'default', 'nosuch', '--out', tmp_path/'o')
    assert r.returncode == 2 and '--track-record: nosuch is not a variant of this run' in r.stderr
    r = run_main('benchmark', '--windows', '2023H2', '--track-record', 'default', '--out', tmp_path/'o')
    assert r.returncode == 2 and 'at least two candidates' in r.stderr
    r = run_main('benchmark', '--windows', '2023H2', '--track-record', 'default', 'rule_book', '--track-margin', '-1', '--out', tmp_path/'o')
    assert r.returncode == 2 and '--track-margin must be 0 or more' in r.stderr
    r = run_main('benchmark', '--windows', '2023H2', '--track-margin', '0.6', '--out', tmp_path/'o')
    assert r.returncode == 2 and '--track-margin needs --track-record' in r.stderr
    r = run_main('benchmark', '--windows', '2023H2', '--seeds', '0', '--out', tmp_path/'o')   # was silently the default 3
    assert r.returncode == 2 and '--seeds must be at least 1, got 0' in r.stderr
    r = run_main('benchmark', '--coins', 'BTC', 'ETH', '--loo', 'ETC', '--out', tmp_path/'o')   # was refused only after the output folder was made
    assert r.returncode == 2 and "--loo ETC is not among the benchmark's coins" in r.stderr
    assert not (tmp_path/'o').exists()


def test_benchmark_refuses_before_importing_torch():
    "`riskrl benchmark --help` and a refusal load no training stack (they took ~3 s of imports, up to 12 s under load)."
    code = ("import sys, contextlib, io\nfrom riskrl_nb.cli import main\n"
            "with contextlib.redirect_stderr(io.StringIO()) as err: rc = main(['benchmark', '--windows', '2022Q3'])\n"
            "with contextlib.redirect_stdout(io.StringIO()):\n"
            "    try: main(['benchmark', '--help'])\n"
            "    except SystemExit: pass\n"
            "print(rc, 'half-year' in err.getvalue(), [m for m in ('torch', 'stable_baselines3') if m in sys.modules])")
    r = subprocess.run([sys.executable, '-c', code], capture_output=True, text=True, timeout=120)
    assert r.stdout.split('\n')[0] == '2 True []', r.stdout + r.stderr


def test_memoised_rule_tuning_equals_train_tuning(tmp_path):
    "The per-coin memo returns exactly what train's tuning returns, for a pool and for a leave-one-out pool re-using it."
    from riskrl_nb.eval.benchmark import cached_rule_tuning
    w = bench_window('2023H1', train_months=6)
    coins = ['ETH', 'XRP', 'LTC']
    for pool in (coins, coins[:2]):
        cfg = bench_config(w, [bundled_path(c) for c in pool], seed=0, variant=SMALL_GRID)
        frames = [load_coin(c) for c in pool]
        want_params, want = _tune(frames, cfg)
        with cached_rule_tuning(tmp_path/'rules'):
            got_params, got = _tune(frames, cfg)
        assert got_params == want_params
        np.testing.assert_array_equal(got.score.to_numpy(), want.score.to_numpy())
    assert len(list((tmp_path/'rules').glob('*.json'))) == 3   # one file per coin: the second pool computed nothing new
    import shutil   # the same candles at another path (a copied cache in another checkout): still a hit, nothing computed
    (tmp_path/'elsewhere').mkdir(); moved = shutil.copy(bundled_path('ETH'), tmp_path/'elsewhere'/'ETH.csv.gz')
    frames = [load_coin(str(moved)), load_coin('XRP')]
    cfg = bench_config(w, [moved, bundled_path('XRP')], seed=0, variant=SMALL_GRID)
    with cached_rule_tuning(tmp_path/'rules'):
        got_params, _ = _tune(frames, cfg)
    assert got_params == want_params and len(list((tmp_path/'rules').glob('*.json'))) == 3


def test_benchmark_experiment_notebook_via_experiments_run(tmp_path, tiny_config):
    "nbs/experiments/benchmark.ipynb runs under `riskrl experiments run` and its summary becomes the grid's columns."
    import yaml
    from conftest import ROOT
    grid = tmp_path/'grid.yaml'
    key = 'results.default/pooled.share_beating_best_rule.agent_mix.share'
    grid.write_text(yaml.safe_dump(dict(
        notebook=str(ROOT/'nbs'/'experiments'/'benchmark.ipynb'),
        parameters=dict(coins=['BTC', 'ETH'], windows=['2023H1', '2023H2'], seeds=1, steps=256, train_months=4, loo='none',
                        config_path=str(tiny_config), track_record=['default', 'rule_book']),
        grid=dict(variants=[{'default': {}}]), plot=[key])))
    out = tmp_path/'runs'
    r = run_cli('experiments', 'run', grid, '--out', out)
    assert r.returncode == 0, r.stdout[-2000:] + r.stderr[-2000:]
    df = pd.read_csv(out/'results.csv')
    assert set(df['status']) == {'ok'} and df[key].between(0, 1).all()
    run = out/df['run'][0]
    assert (run/'benchmark.md').is_file() and (run/'benchmark.png').is_file() and (run/'models'/'default'/'2023H2'/'seed0'/'model.zip').is_file()
    tr = pd.read_csv(run/'track_record.csv')
    assert set(tr.window) == {'2023H1', '2023H2'} and (tr[tr.window == '2023H1'].chosen == 'default').all()   # no record yet
    assert '## Choosing by track record' in (run/'benchmark.md').read_text() and (run/'track_record.png').is_file()


def test_benchmark_stance_policy_row(tmp_path, tiny_config):
    """The hierarchical stance policy (train.algo: hierarchical) as a benchmark row: the default oracle clone is dropped (it
    cannot run there), the row is evaluated as the stance policy choosing among exactly the rules it is compared with, and
    how often it chose each rule is in the table; an oracle clone asked for is refused with one line."""
    from riskrl_nb.agents.bundle import load_bundle
    from riskrl_nb.eval.benchmark import CoinEvaluator, evaluation_period, bench_metrics
    from riskrl_nb.sim.execution import run_backtest
    variants = tmp_path/'v.yaml'
    variants.write_text("stance: {train: {algo: hierarchical, stance_bars: 12}}\n")
    out = tmp_path/'bench'
    args = ['benchmark', '--coins', 'BTC', 'ETH', '--windows', '2023H2', '--seeds', '1', '--steps', '256', '--train-months', '4',
            '--loo', 'none', '--config', tiny_config, '--out', out, '--no-progress']
    r = run_main(*args, '--variants', variants)
    assert r.returncode == 0, r.stderr[-2000:]
    b = load_bundle(out/'models'/'stance'/'2023H2'/'seed0')
    assert b.cfg.train.algo == 'hierarchical' and b.cfg.train.pretrain_oracle == {}   # the default clone was dropped, not run
    rules = pd.read_csv(out/'rules.csv')
    assert {r.rule: json.loads(r.params) for r in rules.itertuples()} == b.baselines and set(b.baselines) == set(RULES)
    long = pd.read_csv(out/'table.csv')
    agent = long[long.policy == 'agent_seed0'].set_index('coin')
    chose = [f'chose_{n}' for n in RULES]
    assert agent[chose].notna().all().all() and long[long.policy.isin(RULES)][chose].isna().all().all()
    ev, w = CoinEvaluator({c: load_coin(c) for c in ('BTC', 'ETH')}), bench_window('2023H2', train_months=4)
    for coin in ('BTC', 'ETH'):   # the table's agent is the stance policy over the tuned rules: rerun, same figures and choices
        pol = b.policy(b.scaler.transform(ev.features(coin, b.cfg)))
        assert type(pol).__name__ == 'StancePolicy'
        sim = ev.sim(coin, b.cfg)
        res = run_backtest(sim, pol, *evaluation_period(ev.frames[coin], b, w.test_start, w.test_end)[:2])
        assert pol.controller.names == list(RULES) and len(pol.choices) > 0
        assert [p.params for p in pol.controller.policies] == [b.baselines[n] for n in RULES]
        assert bench_metrics(res, sim)['sortino'] == pytest.approx(agent.loc[coin, 'sortino'])
        assert [int(agent.loc[coin, f'chose_{n}']) for n in RULES] == [pol.choices.count(n) for n in RULES]
    oracle = tmp_path/'o.yaml'
    oracle.write_text("stance_oracle: {train: {algo: hierarchical, pretrain_oracle: {epochs: 1, samples: 100}}}\n")
    r = run_main(*args, '--variants', oracle)
    assert r.returncode == 2 and "train.pretrain_oracle cannot run with train.algo 'hierarchical'" in r.stderr


def _part(window:str, coins:list, start:str, rng, kind:str='pooled', wall:float=1.0) -> dict:
    "A hand-built `bench/benchmark_parts.py run` part: variant 'v', one window, 2 seeds, the three rules, on `coins`."
    idx = pd.date_range(start, periods=100, freq='h', tz='UTC')
    pols = ['agent_seed0', 'agent_seed1', *RULES]
    rows, returns = [], {}
    for coin in coins:
        f = pd.DataFrame({p: rng.normal(0.0, 0.01, len(idx)) for p in pols}, index=idx)
        f['agent_mix'] = f[['agent_seed0', 'agent_seed1']].mean(axis=1)
        returns[('v', kind, window, coin)] = f
        rows += [dict(variant='v', kind=kind, window=window, coin=coin, policy=p, seed=None, best_rule='fixed_tp_sl',
                      sortino=rng.normal(), total_return=0.0, trade_cvar_95=-0.01, exit_efficiency=0.1, sharpe=0.0, n_trades=5)
                 for p in [*pols, 'agent_mix']]
    rules = pd.DataFrame(columns=['variant', 'kind', 'window', 'left_out', 'rule', 'grid_position', 'train_score', 'best', 'edge'])
    return dict(long=pd.DataFrame(rows), rules=rules, returns=returns, coins=list(coins), spec=None, wall=wall)


def test_merged_parts_list_each_windows_own_coins(tmp_path):
    """`bench/benchmark_parts.py merge` of parts run with other --coins per window (issue 13): the run lists every part's coins,
    and each window's training coverage (benchmark.md) and coins (summary.json) are the coins tested in that window, not the
    first part's coins for every window."""
    import pickle, sys
    from conftest import ROOT
    sys.path.insert(0, str(ROOT/'bench'))
    import benchmark_parts
    rng = np.random.default_rng(0)
    per_window = {'2018H2': ['ADA', 'ETH'], '2019H2': ['ADA', 'DOGE', 'ETH']}   # DOGE: no candles in 2018H2, tested in 2019H2 only
    (tmp_path/'parts').mkdir()
    for (w, coins), start in zip(per_window.items(), ['2018-07-01', '2019-07-01']):
        (tmp_path/'parts'/f'{w}-v.pkl').write_bytes(pickle.dumps(_part(w, coins, start, rng)))
    # what each window's pooled model trained on: 2018H2 (training 2017-07-01..2018-03-31) ETH all of it, ADA nothing;
    # 2019H2 (2018-07-01..2019-03-31) ADA and ETH all of it, DOGE nothing
    trained = {'2018H2': {'ETH': ['2017-07-01 00:00:00+00:00', '2018-03-31 23:00:00+00:00']},
               '2019H2': {c: ['2018-07-01 00:00:00+00:00', '2019-03-31 23:00:00+00:00'] for c in ('ADA', 'ETH')}}
    for w, got in trained.items():
        m = tmp_path/'models'/'v'/w/'seed0'; m.mkdir(parents=True)
        (m/'data.json').write_text(json.dumps(dict(files=[dict(symbol=c, periods=dict(train=tr)) for c, tr in got.items()])))
    (tmp_path/'v.yaml').write_text("v: {}\n")
    benchmark_parts.main(['merge', '--windows', '2018H2', '2019H2', '--seeds', '2', '--variants', str(tmp_path/'v.yaml'),
                          '--loo', 'none', '--train-months', '12', '--coins', 'ETH', '--out', str(tmp_path), '--no-progress'])
    md = (tmp_path/'benchmark.md').read_text()
    cov = [line for line in md.split('## Training coverage')[1].split('##')[0].splitlines() if line.startswith('| v |')]
    assert cov == ['| v | 2018H2 | ADA | 0% |', '| v | 2019H2 | DOGE | 0% |']   # DOGE of the second part in; not in 2018H2
    assert 'Coins: ADA, ETH, DOGE (per window: 2018H2 ADA ETH; 2019H2 ADA DOGE ETH)' in md
    meta = json.loads((tmp_path/'summary.json').read_text())['meta']
    assert meta['coins'] == ['ADA', 'ETH', 'DOGE'] and meta['coins_by_window'] == per_window


def test_merge_counts_the_merged_parts_and_their_left_out_coins(tmp_path):
    """`bench/benchmark_parts.py merge`: the wall time is the sum of the merged parts' (not of every part in the folder), said
    to be a sum, and the left-out coins in summary.json are those of the leave-one-coin-out parts merged, not of --loo."""
    import pickle, sys
    from conftest import ROOT
    sys.path.insert(0, str(ROOT/'bench'))
    import benchmark_parts
    rng = np.random.default_rng(1)
    (tmp_path/'parts').mkdir()
    for name, part in [('2019H2-v', _part('2019H2', ['ADA', 'ETH'], '2019-07-01', rng, wall=60.0)),
                       ('2019H2-v-loo-ETH', _part('2019H2', ['ETH'], '2019-07-01', rng, kind='loo', wall=120.0)),
                       ('2019H1-v', _part('2019H1', ['ADA', 'ETH'], '2019-01-01', rng, wall=6000.0))]:   # a window not merged
        (tmp_path/'parts'/f'{name}.pkl').write_bytes(pickle.dumps(part))
    (tmp_path/'v.yaml').write_text("v: {}\n")
    benchmark_parts.main(['merge', '--windows', '2019H2', '--seeds', '2', '--variants', str(tmp_path/'v.yaml'),
                          '--loo', 'none', '--train-months', '12', '--out', str(tmp_path), '--no-progress'])
    meta = json.loads((tmp_path/'summary.json').read_text())['meta']
    assert meta['wall_seconds'] == 180.0 and meta['loo_coins'] == ['ETH'] and meta['loo_windows'] == ['2019H2']
    assert 'Summed wall time of the 2 parts merged (parts may have run side by side): 3.0 min' in (tmp_path/'benchmark.md').read_text()


def test_parts_are_reused_only_when_made_alike_and_merged_only_with_the_seeds_asked(tmp_path, monkeypatch, capsys):
    """`bench/benchmark_parts.py run` reuses a part made with the same settings and makes it again otherwise (a part of
    3 seeds once stood in silently for a run asking 6); `merge` refuses, exit 2 naming the file, a part of other seeds."""
    import pickle, sys
    from conftest import ROOT
    sys.path.insert(0, str(ROOT/'bench'))
    import benchmark_parts
    rng, made = np.random.default_rng(2), []
    def fake_run(spec, out, progress=True):   # stands in for training + evaluation: one part of the spec's seeds
        made.append(len(spec.seeds))
        part = _part(spec.windows[0].name, ['ADA'], '2019-07-01', rng)
        keep = [f'agent_seed{s}' for s in spec.seeds] + list(RULES) + ['agent_mix']
        part['long'] = part['long'][part['long'].policy.isin(keep)]
        return {k: v for k, v in part.items() if k not in ('spec', 'wall')}
    monkeypatch.setattr(benchmark_parts.B, 'run_benchmark', fake_run)
    (tmp_path/'v.yaml').write_text("v: {}\n")
    args = lambda seeds: ['--windows', '2019H2', '--seeds', str(seeds), '--variants', str(tmp_path/'v.yaml'), '--coins', 'ADA',
                          '--loo', 'none', '--train-months', '12', '--out', str(tmp_path), '--no-progress']
    benchmark_parts.main(['run', *args(2)]); benchmark_parts.main(['run', *args(2)])
    assert made == [2]                                   # the second run reused the part
    benchmark_parts.main(['run', *args(1)])
    assert made == [2, 1] and 'made with other settings' in capsys.readouterr().out   # one seed asked: made again
    with pytest.raises(SystemExit) as e: benchmark_parts.main(['merge', *args(2)])
    assert e.value.code == 2
    assert f"{tmp_path/'parts'/'2019H2-v.pkl'}: made with seeds [0], not the 2 asked" in capsys.readouterr().err
    benchmark_parts.main(['merge', *args(1)])            # the seeds asked: merged
    assert json.loads((tmp_path/'summary.json').read_text())['meta']['seeds'] == [0]


def test_a_cell_copied_from_another_checkout_is_reused_and_another_config_refused(tmp_path):
    """A benchmark model folder written by another checkout (its stamp names that checkout's bundled candle files) is the same
    cell here and is reused without training; a stamp of another coin or another setting is still refused."""
    from riskrl_nb.core.config import bundled_path
    from riskrl_nb.eval.benchmark import train_cell, CELL_STAMP
    from riskrl_nb.agents.bundle import BUNDLE_FILES
    cfg = load_config(overrides={'data': {'paths': [str(bundled_path('ETH', '1h'))]}})
    asked = json.loads(json.dumps(config_to_dict(cfg), default=str))
    d = tmp_path/'models'/'v'/'2023H2'/'seed0'; d.mkdir(parents=True)
    for f in [*BUNDLE_FILES, 'meta.json']: (d/f).write_text('{}')
    def stamp(**data):
        s = json.loads(json.dumps(asked)); s['data'].update(data); (d/CELL_STAMP).write_text(json.dumps(s))
    stamp(paths=['/work/wt/elsewhere/riskrl_nb/candles/hourly/ETH.csv.gz'])   # another checkout's copy of the same file
    assert train_cell(cfg, d) == d                                                 # reused: nothing trained (the files are stubs)
    for other in (dict(paths=['/work/wt/elsewhere/riskrl_nb/candles/hourly/BTC.csv.gz']),   # another coin
                  dict(paths=['/data/mine/ETH.csv.gz']),                                      # a user's file, not the bundled one
                  dict(paths=['/work/wt/elsewhere/riskrl_nb/candles/hourly/ETH.csv.gz'], valid_start='2022-01-01')):
        stamp(**other)
        with pytest.raises(RiskrlError, match='another configuration'): train_cell(cfg, d)


def test_benchmark_control_world(tmp_path, tiny_config):
    "--control: the benchmark on the control world's synthetic coins (written into the output folder), with its own line; never with --coins."
    out = tmp_path/'ctl'
    r = run_main('benchmark', '--control', 'null', '--quick', '--windows', '2023H2', '--steps', '256', '--config', tiny_config,
                 '--out', out, '--no-progress')
    assert r.returncode == 0, r.stderr[-2000:]
    files = sorted(p.name for p in (out/'control-null').glob('SYN*.csv.gz'))
    assert files == ['SYN0.csv.gz', 'SYN1.csv.gz', 'SYN2.csv.gz']   # 3 coins under --quick
    long = pd.read_csv(out/'table.csv')
    assert set(long.coin) == {'SYN0', 'SYN1', 'SYN2'} and set(long.kind) == {'pooled'}   # no left-out coins by default
    summary = json.loads((out/'summary.json').read_text())
    assert summary['meta']['coins'] == ['SYN0', 'SYN1', 'SYN2']
    assert "control world 'null'" in r.stdout and '## Control world: null' in (out/'benchmark.md').read_text()
    from riskrl_nb.eval.benchmark import CONTROL_LINES
    from riskrl_nb.data.candles import CONTROL_WORLDS
    assert set(CONTROL_LINES) == set(CONTROL_WORLDS)   # every world the CLI offers says where its references stand
    r = run_main('benchmark', '--control', 'planted', '--coins', 'BTC', '--out', tmp_path/'no')
    assert r.returncode == 2 and 'leave out --coins' in r.stderr and not (tmp_path/'no').exists()
