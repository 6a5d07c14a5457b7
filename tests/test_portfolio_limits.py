"""The service's portfolio CVaR limit: the simulator's rule (`riskrl_nb.sim.risk_limits`) trims a kept position that would push
the book past `max_cvar`; a bad limit value names its key."""
import json
import numpy as np
import pandas as pd
import pytest
from conftest import run_cli
from riskrl_nb.agents.bundle import load_bundle
from riskrl_nb.data.candles import load_bundled
from riskrl_nb.serve.audit import AuditLog
from riskrl_nb.serve.engine import DecisionService, replay_requests
from riskrl_nb.serve.limits import load_limits
from riskrl_nb.serve.schema import DecideRequest, ServingModel
from riskrl_nb.sim.risk_limits import horizon_returns, portfolio_cvar

OFF = dict(max_bar_age_bars=None, max_position_loss=1.0, max_position_exposure=1e9, max_portfolio_exposure=1e9, max_drawdown=1.0)


@pytest.fixture(scope='module')
def held(exported_model, tmp_path_factory):
    "A BTC 2023 position that the fallback rule holds (the first such from the middle of the spring) and its CVaR alone over its request's bars."
    btc = load_bundled('BTC', '1h')
    a, b = btc.index.get_loc(pd.Timestamp('2023-03-01T00:00:00Z')), btc.index.get_loc(pd.Timestamp('2023-06-01T00:00:00Z'))
    cases = replay_requests(load_bundle(exported_model), btc, a, b, ServingModel(exported_model).bars_recommended, max_cases=40)
    probe = _service(exported_model, tmp_path_factory.mktemp('probe')/'p.db')
    body = next(c[0] for c in cases[len(cases) // 2:] + cases[:len(cases) // 2]
                if probe.decide(DecideRequest.model_validate(c[0]))['action'] == 'hold')
    close = np.asarray(body['bars']['close'])
    x = body['position']['quantity'] * close[-1] / body['account']['equity']
    scen = horizon_returns(close[:, None], 24)[24:]
    return body, portfolio_cvar(np.array([x]), scen, 0.95), len(scen)


def _service(exported_model, audit, **lim):
    "A service whose drawdown breaker is open, so that the fallback rule (ATR trailing stop: a hold here) decides."
    svc = DecisionService(ServingModel(exported_model), AuditLog(audit), load_limits(overrides=dict(OFF, **lim)))
    svc.breakers.trip('drawdown')
    return svc


def test_cvar_limit_trims_the_second_of_two_correlated_positions(exported_model, tmp_path, held):
    body, one, n_scen = held
    twin = json.loads(json.dumps(body)); twin['position'].update(position_id='twin', symbol='BTC2')   # the same moves: CVaR adds up
    lim = dict(max_cvar=1.5 * one, cvar_min_scenarios=min(50, n_scen), cvar_window_bars=n_scen)
    svc = _service(exported_model, tmp_path/'a.db', **lim)
    first = svc.decide(DecideRequest.model_validate(body))
    assert first['action'] == 'hold' and first['policy'] == 'fallback'       # alone: within the limit
    second = svc.decide(DecideRequest.model_validate(twin))
    assert second['policy'] == 'limit' and 'max_cvar' in second['reason'], second
    assert second['size'] == pytest.approx(0.5, abs=1e-3)                     # (1 + s) × CVaR one = 1.5 × CVaR one
    # without the limit (or when the first position has closed) the same decision stands
    assert _service(exported_model, tmp_path/'b.db').decide(DecideRequest.model_validate(twin))['policy'] == 'fallback'
    svc.cvar.pop(body['position']['position_id'])
    assert svc.decide(DecideRequest.model_validate(twin))['policy'] == 'fallback'


def test_a_bad_cvar_limit_names_its_key(exported_model, tmp_path):
    (tmp_path/'limits.yaml').write_text('max_cvar: 2.0\n')
    r = run_cli('serve', '--model', str(exported_model), '--limits', str(tmp_path/'limits.yaml'), '--port', '1', '--insecure-no-auth')
    assert r.returncode == 2 and 'max_cvar' in r.stderr, r.stderr[-500:]
