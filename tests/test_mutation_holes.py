"""Checks for the bugs that survived the mutation testing of issue 16 (or were caught by one notebook line only):
rules tuned on the test period, Sharpe annualised with the wrong periods per year, walk-forward test windows
inside the validation window, a deflated Sharpe that ignores the number of trials."""
import json, math
from pathlib import Path
import numpy as np
import pandas as pd
import pytest
from scipy import stats
from riskrl_nb.core.config import load_config, EvalConfig, CostConfig, EnvConfig, BaselineConfig, periods_per_year
from riskrl_nb.data.candles import load_bundled, write_candles, load_candles, period_slice
from riskrl_nb.agents.training import train
from riskrl_nb.sim.rules import tune_baselines
from riskrl_nb.data.entries import ema_cross_entries
from riskrl_nb.sim.execution import Market, Simulation, run_backtest
from riskrl_nb.sim.rules import HoldToHorizon
from riskrl_nb.core.metrics import sharpe
from riskrl_nb.eval.evaluation import policy_metrics
from riskrl_nb.eval.overfitting import deflated_sharpe_ratio, expected_max_sharpe, probabilistic_sharpe_ratio
from riskrl_nb.eval.walk_forward import walk_forward_windows

SPLIT = dict(train_start='2022-01-01', train_end='2022-06-30', valid_start='2022-07-01', valid_end='2022-09-30',
             test_start='2022-10-01', test_end='2022-12-31')
GRIDS = dict(take_profit_grid=[0.02, 0.05, 0.12], stop_loss_grid=[0.01, 0.03, 0.08], atr_mult_grid=[1.0, 3.0, 6.0],
             horizon_grid=[6, 48, 168])


def mirrored_test_period(df: pd.DataFrame) -> pd.DataFrame:
    "The same candles, with every price from the test period on mirrored around the first test open (rallies become crashes)."
    out = df.copy()
    t = out.index >= pd.Timestamp(SPLIT['test_start'], tz='UTC')
    p0 = out.loc[t, 'open'].iloc[0]
    o, h, l, c = (out.loc[t, k].to_numpy() for k in ('open', 'high', 'low', 'close'))
    out.loc[t, 'open'], out.loc[t, 'high'], out.loc[t, 'low'], out.loc[t, 'close'] = p0**2 / o, p0**2 / l, p0**2 / h, p0**2 / c
    return out


def tuned(path, tmp, name):
    cfg = load_config(overrides=dict(data=dict(SPLIT, paths=[str(path)]), baselines=GRIDS,
                                     train=dict(total_timesteps=256, n_steps=128, n_envs=2, batch_size=64, n_epochs=1, eval_freq=256)))
    out = train(cfg, tmp/name, progress=False, verbose=False)
    return json.loads((out/'baselines.json').read_text())


def test_rules_are_tuned_before_the_test_period(tmp_path):
    btc = load_bundled('BTC', '1h').loc['2021-10-01':'2022-12-31']
    same, other = write_candles(btc, tmp_path/'BTC.csv'), write_candles(mirrored_test_period(btc), tmp_path/'BTC_mirrored.csv')
    a, b = tuned(same, tmp_path, 'a'), tuned(other, tmp_path, 'b')
    assert a['params'] == b['params'] and a['grid'] == b['grid']   # not one score moves when the test bars change
    # ... while tuning on the test period would move them: the change is big enough to be seen
    def on_test(path):
        df = load_candles(path)
        s = period_slice(df, SPLIT['test_start'], SPLIT['test_end'])
        sim = Simulation(Market.from_candles(df), ema_cross_entries(df), CostConfig(), EnvConfig())
        return tune_baselines([sim], [(s.start, s.stop)], BaselineConfig(**GRIDS), periods_per_year(3600), progress=False)[0]
    assert on_test(same) != on_test(other)


def test_sharpe_is_annualised_for_the_bar_interval():
    "Hourly bars: sqrt(8760); daily bars: sqrt(365) - in the metric and in the evaluation's summary."
    r = pd.Series(np.random.default_rng(0).normal(2e-4, 0.01, 5000))
    per_bar = r.mean() / r.std(ddof=1)
    assert periods_per_year(3600) == 8760 and periods_per_year(86400) == 365
    assert math.isclose(sharpe(r, 8760), per_bar * math.sqrt(8760), rel_tol=1e-9)
    for interval, ppy in [('1h', 8760), ('1d', 365)]:
        df = load_bundled('ETH', interval).loc['2022-01-01':'2022-12-31']
        sim = Simulation(Market.from_candles(df), ema_cross_entries(df), CostConfig(), EnvConfig())
        res = run_backtest(sim, HoldToHorizon(24 if interval == '1h' else 5), 100, len(df))
        m = policy_metrics(res, sim)   # what metrics.json reports
        x = res.returns
        assert math.isclose(m['sharpe'], x.mean() / x.std(ddof=1) * math.sqrt(ppy), rel_tol=1e-6), interval


@pytest.mark.parametrize('ecfg', [EvalConfig(), EvalConfig(wf_train_months=6, wf_valid_months=2, wf_test_months=1, wf_step_months=1),
                                  EvalConfig(wf_start='2020-03-01', wf_train_months=9, wf_valid_months=1, wf_test_months=2, wf_step_months=2)])
def test_walk_forward_test_windows_follow_the_validation_window(ecfg):
    ws = walk_forward_windows(ecfg)
    day = pd.Timedelta(days=1)
    for w in ws:
        assert pd.Timestamp(w.valid_start) == pd.Timestamp(w.train_end) + day
        assert pd.Timestamp(w.test_start) == pd.Timestamp(w.valid_end) + day       # never inside the validation months
        assert pd.Timestamp(w.valid_end) + day == pd.Timestamp(w.valid_start) + pd.DateOffset(months=ecfg.wf_valid_months)
        assert pd.Timestamp(w.test_end) + day == pd.Timestamp(w.test_start) + pd.DateOffset(months=ecfg.wf_test_months)


def test_deflated_sharpe_counts_the_trials():
    "Bailey & Lopez de Prado: SR* grows with the number of trials, so the DSR of the same series falls."
    x = np.random.default_rng(3).normal(0.0004, 0.01, 3000)
    var = 2e-4
    d = {n: deflated_sharpe_ratio(x, n_trials=n, sharpe_variance=var) for n in (1, 10, 100, 1000)}
    assert d[1]['dsr'] == pytest.approx(d[1]['psr'])
    assert d[1]['dsr'] > d[10]['dsr'] > d[100]['dsr'] > d[1000]['dsr']
    g = 0.5772156649015329   # the closed form of the expected maximum Sharpe of n trials
    for n in (10, 100, 1000):
        sr_star = math.sqrt(var) * ((1 - g) * stats.norm.ppf(1 - 1 / n) + g * stats.norm.ppf(1 - 1 / (n * math.e)))
        assert expected_max_sharpe(n, var) == pytest.approx(sr_star) and d[n]['n_trials'] == n
        assert d[n]['dsr'] == pytest.approx(probabilistic_sharpe_ratio(d[n]['sharpe_per_bar'], len(x), d[n]['skew'], d[n]['kurtosis'], sr_star))
    sr = np.random.default_rng(4).normal(0, 0.01, 50)   # from the trials' own Sharpe ratios: their number and variance
    t = deflated_sharpe_ratio(x, trial_sharpes=sr)
    assert t['n_trials'] == 50 and t['sharpe_variance'] == pytest.approx(np.var(sr, ddof=1), rel=1e-6)
