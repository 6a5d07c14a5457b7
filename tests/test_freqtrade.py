"""The freqtrade exit manager (riskrl_nb.serve.freqtrade) with the real freqtrade package, no network: the example
strategy's entries are riskrl's, and `custom_exit` fed real `Trade` objects bar by bar gives the exits of riskrl's own
backtest of the same trades (same bars, same reasons); HTTP mode with an API key; limits; `riskrl freqtrade export`."""
import importlib.util, json, os, shutil, threading, time
import pandas as pd
import pytest

if importlib.util.find_spec('freqtrade') is None:   # CI installs it (Makefile: --no-deps); it must not skip there
    if os.environ.get('CI') == 'true': raise RuntimeError("freqtrade is not installed; see the Makefile's install step")
    pytest.skip('freqtrade not installed (pip install --no-deps freqtrade==2026.8; see docs/freqtrade.md)', allow_module_level=True)

from freqtrade.data.dataprovider import DataProvider
from freqtrade.enums import CandleType, RunMode
from conftest import run_main
from riskrl_nb.agents.bundle import load_bundle
from riskrl_nb.agents.policy import AgentPolicy
from riskrl_nb.data.candles import load_bundled, period_slice
from riskrl_nb.data.entries import make_entries
from riskrl_nb.data.features import compute_features
from riskrl_nb.sim.execution import Market, Simulation, run_backtest
from riskrl_nb.serve.freqtrade import exits_through_strategy, load_strategy_class, strategy_source

NO_LIMITS = {'max_position_loss': 1.0, 'max_drawdown': 1.0}   # riskrl's backtest has no service limits


def _strategy(model, tmp_path, riskrl=None):
    path = tmp_path/'strategies'/'RiskrlEmaCross.py'
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(strategy_source(model))
    config = {'timeframe': '1h', 'stake_currency': 'USDT', 'dry_run_wallet': 10_000, 'runmode': RunMode.BACKTEST,
              'candle_type_def': CandleType.SPOT, 'riskrl': riskrl if riskrl is not None else {'limits': NO_LIMITS}}
    strategy = load_strategy_class(path)(config)
    strategy.dp = DataProvider(config, None)
    return strategy


def _compare(model, tmp_path, start, end, riskrl=None):
    "riskrl's backtest of the agent over [start, end] and the same trades through the example strategy."
    strategy = _strategy(model, tmp_path, riskrl)
    df = load_bundled('BTC')
    frame = df.reset_index().rename(columns={'timestamp': 'date'})
    frame = strategy.advise_entry(strategy.advise_indicators(frame, {'pair': 'BTC/USDT'}), {'pair': 'BTC/USDT'})
    bundle = load_bundle(model)
    assert (frame['enter_long'].to_numpy() == (make_entries(df, bundle.cfg.entry) > 0)).all()   # the entries are riskrl's
    s = period_slice(df, start, end)
    x = bundle.scaler.transform(compute_features(df, bundle.cfg.features))
    sim = Simulation(Market.from_candles(df), make_entries(df, bundle.cfg.entry), bundle.cfg.costs, bundle.cfg.env)
    ours = run_backtest(sim, AgentPolicy(bundle.model, x, bundle.cfg, bundle.masked), s.start, s.stop).trades
    return ours, exits_through_strategy(strategy, 'BTC/USDT', frame, ours, s.stop), strategy


def _assert_same(ours, theirs):
    assert len(ours) >= 5
    assert theirs.exit_bar.tolist() == ours.exit_bar.tolist()
    assert theirs.exit_reason.tolist() == ours.exit_reason.tolist()
    assert set(ours.exit_reason) & {'agent_close_tp', 'agent_close_sl'}, ours.exit_reason.value_counts()


def test_example_strategy_exits_equal_riskrl_backtest(exported_model, tmp_path):
    "One quarter of 2023 BTC (the whole year: the slow test below)."
    ours, theirs, _ = _compare(exported_model, tmp_path, '2023-01-01', '2023-03-31')
    _assert_same(ours, theirs)


@pytest.mark.slow
def test_example_strategy_exits_equal_riskrl_backtest_2023(exported_model, tmp_path):
    "The whole of 2023 (the default run checks its first quarter)."
    ours, theirs, _ = _compare(exported_model, tmp_path, '2023-01-01', '2023-12-31')
    _assert_same(ours, theirs)


def test_limits_act_and_are_audited(exported_model, tmp_path):
    "A tight max_position_loss closes losing trades before the agent does, tagged limit_close_sl, in the audit trail."
    audit = tmp_path/'audit.db'
    ours, theirs, strategy = _compare(exported_model, tmp_path, '2023-01-01', '2023-02-28',
                                      {'limits': {'max_position_loss': 0.005}, 'audit': str(audit)})
    limited = theirs[theirs.exit_reason == 'limit_close_sl']
    assert len(limited) >= 1
    assert (limited.exit_bar.to_numpy() <= ours.set_index('entry_bar').loc[limited.entry_bar, 'exit_bar'].to_numpy()).all()
    r = run_main('audit', 'verify', '--db', audit)
    assert r.returncode == 0 and 'chain intact' in r.stdout, r.stdout + r.stderr


def test_http_mode_with_api_key(exported_model, tmp_path):
    "riskrl.url: the same decisions from a decision service over HTTP (loopback), sent with the API key."
    import uvicorn
    from riskrl_nb.serve.audit import AuditLog
    from riskrl_nb.serve.engine import DecisionService
    from riskrl_nb.serve.http import create_app
    from riskrl_nb.serve.limits import load_limits
    from riskrl_nb.serve.replay import ReplayClock, _free_port
    from riskrl_nb.serve.schema import ServingModel
    key = 'freqtrade-test-key-0123456789'
    clock = ReplayClock(pd.Timestamp('2023-03-01', tz='UTC').timestamp())   # bars end before: the service must not call them stale
    service = DecisionService(ServingModel(exported_model), AuditLog(tmp_path/'http-audit.db'),
                              load_limits(None, {**NO_LIMITS, 'max_bar_age_bars': None}), clock=clock)
    port = _free_port()
    server = uvicorn.Server(uvicorn.Config(create_app(service, [key]), host='127.0.0.1', port=port, log_level='warning'))
    thread = threading.Thread(target=server.run, daemon=True); thread.start()
    try:
        for _ in range(500):
            if server.started: break
            time.sleep(0.02)
        url = f'http://127.0.0.1:{port}'
        ours, theirs, strategy = _compare(exported_model, tmp_path, '2023-01-01', '2023-02-15', {'url': url, 'api_key': key})
        assert theirs.exit_bar.tolist() == ours.exit_bar.tolist() and theirs.exit_reason.tolist() == ours.exit_reason.tolist()
        # the service's own clock and limits rule: with the stale-data breaker on, 2023's bars get the fallback rule
        service.limits = load_limits(None, NO_LIMITS)
        service.clock = ReplayClock(pd.Timestamp('2024-06-01', tz='UTC').timestamp())
        from freqtrade.persistence import Trade
        t = ours.iloc[0]
        when = pd.Timestamp(load_bundled('BTC').index[int(t.entry_bar) + 3]).to_pydatetime()
        trade = Trade(pair='BTC/USDT', stake_amount=float(t.units * t.entry_price), amount=float(t.units), open_rate=float(t.entry_price),
                      fee_open=0.001, fee_close=0.001, open_date=pd.Timestamp(t.entry_time).to_pydatetime(), exchange='binance',
                      is_short=False, leverage=1.0, is_open=True)
        strategy.dp._set_dataframe_max_index('BTC/USDT', int(t.entry_bar) + 3)   # as freqtrade's backtest: candles before `when`
        d = strategy.riskrl_decision('BTC/USDT', trade, when)
        assert d['policy'] == 'fallback' and 'stale_data' in d['breakers'], d
        with pytest.raises(Exception, match='401'):   # a wrong key is refused, and the strategy says so
            _compare(exported_model, tmp_path/'bad', '2023-01-01', '2023-01-15', {'url': url, 'api_key': 'wrong-key-0123456789abc'})
    finally:
        server.should_exit = True; thread.join(10)


def test_freqtrade_export_command(exported_model, tmp_path, monkeypatch):
    "riskrl freqtrade export: user_data layout, and the written strategy decides from it (run from the folder above user_data)."
    r = run_main('freqtrade', 'export', '--model', exported_model, '--user-data', tmp_path/'user_data')
    assert r.returncode == 0, r.stderr
    model = tmp_path/'user_data'/'riskrl'/'model'
    assert {p.name for p in model.iterdir()} >= {'policy.onnx', 'serving.json', 'config.yaml'}
    snippet = json.loads((tmp_path/'user_data'/'riskrl'/'config-snippet.json').read_text())
    assert snippet['strategy'] == 'RiskrlEmaCross' and snippet['riskrl']['model'] == 'user_data/riskrl/model'
    assert 'freqtrade backtesting --config' in r.stdout
    monkeypatch.chdir(tmp_path)
    cls = load_strategy_class(tmp_path/'user_data'/'strategies'/'RiskrlEmaCross.py')
    config = {**snippet, 'runmode': RunMode.BACKTEST, 'candle_type_def': CandleType.SPOT}
    config['riskrl'] = {**snippet['riskrl'], 'limits': NO_LIMITS}
    strategy = cls(config)
    strategy.dp = DataProvider(config, None)
    df = load_bundled('BTC')
    frame = df.reset_index().rename(columns={'timestamp': 'date'})
    frame = strategy.advise_entry(strategy.advise_indicators(frame, {'pair': 'BTC/USDT'}), {'pair': 'BTC/USDT'})
    assert frame.enter_long.sum() > 100
    s = period_slice(df, '2023-01-01', '2023-01-20')
    bundle = load_bundle(exported_model)
    x = bundle.scaler.transform(compute_features(df, bundle.cfg.features))
    sim = Simulation(Market.from_candles(df), make_entries(df, bundle.cfg.entry), bundle.cfg.costs, bundle.cfg.env)
    ours = run_backtest(sim, AgentPolicy(bundle.model, x, bundle.cfg, bundle.masked), s.start, s.stop).trades
    theirs = exits_through_strategy(strategy, 'BTC/USDT', frame, ours, s.stop)
    assert theirs.exit_bar.tolist() == ours.exit_bar.tolist()
    assert (tmp_path/'user_data'/'riskrl'/'model-audit.db').exists()   # the snippet's audit trail


def test_export_of_a_missing_model_is_one_line(tmp_path):
    r = run_main('freqtrade', 'export', '--model', tmp_path/'nope', '--user-data', tmp_path/'user_data')
    assert r.returncode == 2 and 'nope' in r.stderr and len(r.stderr.strip().splitlines()) == 1, r.stderr
