"""The service's routes are audited by construction (issue 15): a route added to the decision router or to the app
itself, with nothing special in it, checks the API key first, leaves an audit record that is durable before the answer
leaves, and answers 503 without running when the audit log cannot be written. Only the operations routes opt out."""
import io
import pytest
from fastapi import Depends
from fastapi.testclient import TestClient

KEY = 'routes-key-0123456789abcdef'
H = {'X-API-Key': KEY}


def make_app(model_dir, audit_path):
    from riskrl_nb.serve.audit import AuditLog
    from riskrl_nb.serve.schema import ServingModel
    from riskrl_nb.serve.engine import DecisionService
    from riskrl_nb.serve.limits import load_limits
    from riskrl_nb.serve.http import create_app, json_logger
    svc = DecisionService(ServingModel(model_dir), AuditLog(audit_path), load_limits(overrides=dict(max_bar_age_bars=None)))
    return svc, create_app(svc, [KEY], logger=json_logger(stream=io.StringIO()))


@pytest.mark.parametrize('where', ['app', 'decisions router'])
def test_a_new_route_is_audited_before_it_answers(exported_model, tmp_path, where):
    from riskrl_nb.serve.audit import AuditLog
    from riskrl_nb.serve import http
    ran = []
    def note(x: int = 0):   # a plain handler: no key check, no audit call, nothing to remember
        ran.append(x); return dict(ok=True, x=x)
    n_before = len(http.decisions.routes)
    if where == 'decisions router': http.decisions.post('/v1/note')(note)
    try:
        svc, app = make_app(exported_model, tmp_path/'a.db')
        if where == 'app': app.post('/v1/note')(note)
        c = TestClient(app)
        assert c.post('/v1/note?x=1').status_code == 401 and ran == []          # the key is checked before the handler runs
        r = c.post('/v1/note?x=2', headers=H)
        assert r.status_code == 200 and r.json() == dict(ok=True, x=2) and ran == [2]
        seen = [(x.kind, x.data['path']) for x in AuditLog(tmp_path/'a.db').records()]   # another connection: committed
        assert seen == [('rejected', '/v1/note'), ('request', '/v1/note')], seen
        probe, svc.audit.probe = svc.audit.probe, lambda: False                 # the log cannot be written
        svc.audit.error = 'disk I/O error'
        try: r = c.post('/v1/note?x=3', headers=H)
        finally: svc.audit.probe, svc.audit.error = probe, None
        assert r.status_code == 503 and 'audit log' in r.json()['error'] and ran == [2]   # nothing ran, nothing answered
        assert 'riskrl_decision_latency_seconds_count{endpoint="/v1/note"} 1.0' in c.get('/metrics').text
        assert c.get('/healthz').status_code == 200                             # operations routes stay plain
    finally:
        del http.decisions.routes[n_before:]


def test_every_decision_route_is_audited():
    "No route of the decision router, nor the app's default route class, can skip the audit."
    from fastapi import FastAPI
    from riskrl_nb.serve.http import AuditedRoute, decisions, operations
    assert decisions.routes and all(isinstance(r, AuditedRoute) for r in decisions.routes)
    assert {r.path for r in decisions.routes} >= {'/v1/decide', '/v1/decide/batch', '/v1/outcome', '/v1/bars', '/v1/decide/position', '/v1/decide/positions'}
    assert {r.path for r in operations.routes} == {'/healthz', '/readyz', '/metrics'}
