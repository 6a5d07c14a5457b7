"""Drift (issue 20): the service's feature-drift monitor on a real exported model (its reference.json written by
`train`), the fallback it switches to, its Prometheus gauges, and model folders from before reference.json."""
import io, shutil
import pandas as pd
from fastapi.testclient import TestClient

KEY = 'drift-key-0123456789abcdef'


def _requests(model, df, end, n_requests):
    from riskrl_nb.serve.schema import DecideRequest, bars_payload
    n = model.bars_recommended
    for i in range(end - n_requests, end):
        w = df.iloc[i - n + 1:i + 1]
        yield DecideRequest.model_validate(dict(
            position=dict(position_id='p', symbol='BTC', side='long', quantity=0.01, entry_price=float(w.open.iloc[-3]),
                          entry_time=w.index[-3].isoformat()), bars=bars_payload(w)))


def test_service_falls_back_while_its_inputs_drift(exported_model, tmp_path):
    "The tiny model was trained on BTC 2022H1; BTC in August 2023 was far quieter: after a full window, drift, alert, fallback."
    from riskrl_nb.data.candles import load_bundled
    from riskrl_nb.serve.audit import AuditLog
    from riskrl_nb.serve.engine import DecisionService
    from riskrl_nb.serve.http import create_app, json_logger
    from riskrl_nb.serve.limits import load_limits
    from riskrl_nb.serve.schema import ServingModel
    assert (exported_model/'reference.json').exists()
    df, sm, alerts = load_bundled('BTC', '1h'), ServingModel(exported_model), []
    lim = load_limits(overrides=dict(max_bar_age_bars=None, drift_window_bars=48, drift_min_bars=48, drift_action='fallback'))
    svc = DecisionService(sm, AuditLog(tmp_path/'a.db'), lim, alert=lambda *a, **k: alerts.append((a, k)))
    end = df.index.get_loc(pd.Timestamp('2023-09-01', tz='UTC'))
    decisions = [(svc.decide(r), svc.drift.n) for r in _requests(sm, df, end, 60)]
    before = [d for d, n in decisions if n < 48]
    assert before and all(d['policy'] != 'fallback' and 'feature_drift' not in d['breakers'] for d in before)   # no verdict yet
    last, req = decisions[-1][0], list(_requests(sm, df, end, 1))[0]
    assert svc.drift.drifted and alerts and alerts[0][0][0] == 'feature_drift' and alerts[0][0][1] > alerts[0][0][2]
    assert last['policy'] == 'fallback' and 'feature_drift' in last['breakers'] and 'feature_drift' in last['reason']
    seen = svc.drift.seen
    svc.decide(req); svc.decide(req)
    assert svc.drift.seen == seen   # a bar is counted once, however many positions ask about it
    text = TestClient(create_app(svc, [KEY], logger=json_logger(stream=io.StringIO()))).get('/metrics').text
    assert 'riskrl_feature_drift 1.0' in text and 'riskrl_feature_psi{feature=' in text and 'riskrl_breaker_open{breaker="feature_drift"} 1.0' in text


def test_a_model_folder_without_reference_is_served_without_monitor(exported_model, tmp_path):
    from riskrl_nb.data.candles import load_bundled
    from riskrl_nb.serve.audit import AuditLog
    from riskrl_nb.serve.engine import DecisionService
    from riskrl_nb.serve.limits import load_limits
    from riskrl_nb.serve.schema import ServingModel
    old = tmp_path/'old'
    shutil.copytree(exported_model, old)
    (old/'reference.json').unlink()
    sm = ServingModel(old)
    svc = DecisionService(sm, AuditLog(tmp_path/'a.db'), load_limits(overrides=dict(max_bar_age_bars=None, drift_action='fallback')))
    df = load_bundled('BTC', '1h')
    d = svc.decide(list(_requests(sm, df, len(df) - 1, 1))[0])
    assert svc.drift is None and d['policy'] in ('model', 'rule', 'limit')


def test_drift_alerts_go_to_the_services_alerter(exported_model, tmp_path):
    "In the HTTP app, drift_action 'alert' fires through the alerter of riskrl_nb.serve.alerts: an `alert` record in the audit trail."
    from riskrl_nb.data.candles import load_bundled
    from riskrl_nb.serve.audit import AuditLog
    from riskrl_nb.serve.engine import DecisionService
    from riskrl_nb.serve.http import create_app, json_logger
    from riskrl_nb.serve.limits import load_limits
    from riskrl_nb.serve.schema import ServingModel
    df, sm = load_bundled('BTC', '1h'), ServingModel(exported_model)
    lim = load_limits(overrides=dict(max_bar_age_bars=None, drift_window_bars=48, drift_min_bars=48, drift_action='alert'))
    audit = AuditLog(tmp_path/'a.db')
    svc = DecisionService(sm, audit, lim)
    app = create_app(svc, [KEY], logger=json_logger(stream=io.StringIO()))
    assert svc.drift.alert == app.state.alerter.fire
    end = df.index.get_loc(pd.Timestamp('2023-09-01', tz='UTC'))
    last = [svc.decide(r) for r in _requests(sm, df, end, 60)][-1]
    alerts = [r.data for r in audit.records(kind='alert')]
    assert svc.drift.drifted and alerts and alerts[0]['alert'] == 'feature_drift'
    assert last['policy'] != 'fallback'   # 'alert' tells a person; only 'fallback' changes decisions
