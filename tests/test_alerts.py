"""Alerts end to end: `riskrl serve --alert-webhook` posts to a real receiver on loopback, the alert is in the audit trail
(which still verifies); with the receiver down or hanging, decisions are unaffected while the webhook retries with back-off."""
import json, socket, threading, time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
import httpx
import pytest
from conftest import run_main
from test_serving import KEY, Server, free_port


class Receiver(ThreadingHTTPServer):
    "Webhook receiver on 127.0.0.1: keeps the JSON bodies it is sent (with their arrival time); `delay` s before answering."
    def __init__(self, status=200, delay=0.0):
        self.got, self.status, self.delay = [], status, delay
        outer = self
        class H(BaseHTTPRequestHandler):
            def do_POST(self):
                body = json.loads(self.rfile.read(int(self.headers['Content-Length'])))
                outer.got.append((time.monotonic(), body))
                time.sleep(outer.delay)
                self.send_response(outer.status); self.end_headers()
            def log_message(self, *a): pass
        super().__init__(('127.0.0.1', 0), H)
        self.daemon_threads = True
        threading.Thread(target=self.serve_forever, daemon=True).start()

    @property
    def url(self): return f'http://127.0.0.1:{self.server_address[1]}/alerts'


NO_LIMITS = 'max_position_loss: 1.0\nmax_position_exposure: 1.0e+9\nmax_portfolio_exposure: 1.0e+9\nmax_drawdown: 1.0\n'   # stale data stays on


def wait_for(cond, timeout=30.0):
    end = time.monotonic() + timeout
    while not cond() and time.monotonic() < end: time.sleep(0.05)
    return cond()


@pytest.fixture(scope='module')
def requests(exported_model):
    "Decide requests on BTC 2023 bars (old bars: with the default limits the stale-data fallback decides every one)."
    import pandas as pd
    from riskrl_nb.agents.bundle import load_bundle
    from riskrl_nb.data.candles import load_bundled
    from riskrl_nb.serve.engine import replay_requests
    from riskrl_nb.serve.schema import ServingModel
    btc = load_bundled('BTC', '1h')
    a = btc.index.get_loc(pd.Timestamp('2023-03-01T00:00:00Z'))
    return [body for body, _, _ in replay_requests(load_bundle(exported_model), btc, a, a + 24 * 40, ServingModel(exported_model).bars_recommended,
                                                   max_cases=25)]


def test_alert_fires_end_to_end_to_a_webhook_and_is_audited(exported_model, requests, tmp_path):
    rx = Receiver()
    (tmp_path/'limits.yaml').write_text(NO_LIMITS + 'alert_fallback_rate: 0.5\nalert_min_decisions: 5\nalert_check_s: 0.2\nalert_drawdown: null\nalert_latency_p99_ms: null\n')
    s = Server(exported_model, tmp_path/'audit.db', '--limits', tmp_path/'limits.yaml', '--alert-webhook', rx.url)
    try:
        with httpx.Client(base_url=s.url, headers={'X-API-Key': KEY}) as c:
            got = [c.post('/v1/decide', json=b).json() for b in requests[:10]]
            assert {g['policy'] for g in got} == {'fallback'}          # stale 2023 bars: the fallback decides
            assert wait_for(lambda: any(b['alert'] == 'fallback_rate' for _, b in rx.got)), rx.got
            # the receiver keeps the body before it answers; the service counts the delivery once the answer is back
            assert wait_for(lambda: 'riskrl_alert_webhook_attempts_total{outcome="delivered"}' in c.get('/metrics').text)
            metrics = c.get('/metrics').text
    finally:
        s.stop()
    alert = next(b for _, b in rx.got if b['alert'] == 'fallback_rate')
    assert alert['state'] == 'firing' and alert['value'] == 1.0 and alert['threshold'] == 0.5 and alert['detail']['decisions'] >= 5
    assert 'riskrl_alerts_total{alert="fallback_rate",state="firing"} 1.0' in metrics
    assert 'riskrl_alert_webhook_attempts_total{outcome="delivered"}' in metrics
    log = (tmp_path/'audit.log').read_text()
    assert '"event": "alert"' in log and '"alert": "fallback_rate"' in log
    shown = run_main('audit', 'show', '--db', tmp_path/'audit.db', '--kind', 'alert')
    recs = [json.loads(l) for l in shown.stdout.splitlines()]
    assert [r['alert'] for r in recs] == ['fallback_rate'] and recs[0]['seq'] == alert['audit_seq']
    v = run_main('audit', 'verify', '--db', tmp_path/'audit.db')
    assert v.returncode == 0 and 'chain intact' in v.stdout, v.stdout + v.stderr


def _decide_all(exported_model, requests, audit, webhook, limits):
    "Decisions of `requests` through the app (TestClient, lifespan on: the alerter thread runs) -> (decisions, latencies s, app)."
    from fastapi.testclient import TestClient
    from riskrl_nb.serve.audit import AuditLog
    from riskrl_nb.serve.engine import DecisionService
    from riskrl_nb.serve.http import create_app
    from riskrl_nb.serve.limits import load_limits
    from riskrl_nb.serve.schema import ServingModel
    clock = [0.0]
    svc = DecisionService(ServingModel(exported_model), AuditLog(audit), load_limits(overrides=limits), clock=lambda: clock[0])
    app = create_app(svc, [KEY], alert_webhook=webhook)
    out, lat = [], []
    with TestClient(app, raise_server_exceptions=True) as c:
        for b in requests:
            clock[0] = time.time()   # a live clock: 2023 bars are stale, the fallback decides, the fallback-rate alert fires
            t0 = time.perf_counter()
            r = c.post('/v1/decide', json=b, headers={'X-API-Key': KEY})
            lat.append(time.perf_counter() - t0)
            assert r.status_code == 200, r.text
            out.append({k: v for k, v in r.json().items() if k not in ('decision_id', 'audit_hash')})
            time.sleep(0.01)
        sender = app.state.alerter.webhook
        assert wait_for(lambda: sender is None or len(sender.attempts) >= 3, 20)
    fired = list(app.state.alerter.history)   # the app has stopped: so has the alerter
    return out, lat, fired, list(sender.attempts) if sender is not None else []


@pytest.mark.parametrize('down', ['refused', 'hanging'])
def test_receiver_down_leaves_decisions_unaffected(exported_model, requests, tmp_path, down):
    "A webhook that refuses connections or never answers: same decisions, no exception, no decision waits for it; retries back off."
    limits = dict(max_position_loss=1.0, max_drawdown=1.0, max_position_exposure=1e9, max_portfolio_exposure=1e9, alert_fallback_rate=0.5, alert_min_decisions=3, alert_check_s=0.05, alert_repeat_s=0.0, alert_latency_p99_ms=None,
                  alert_timeout_s=1.0, alert_retries=4, alert_backoff_s=0.1)
    if down == 'refused': url, rx = f'http://127.0.0.1:{free_port()}/alerts', None
    else: rx = Receiver(delay=30); url = rx.url   # accepts, then answers nothing within the 1 s timeout
    base, base_lat, _, _ = _decide_all(exported_model, requests, tmp_path/'base.db', None, limits)
    got, lat, fired, attempts = _decide_all(exported_model, requests, tmp_path/'down.db', url, limits)
    assert got == base                                                  # the same decisions, reasons and probabilities
    assert len(fired) >= 2 and {a['alert'] for a in fired} == {'fallback_rate'}   # alerts kept firing during the run
    assert max(lat) < 0.75, max(lat)                                    # no decision waited for a 1 s webhook timeout
    first = [t for t, name, k, outcome in attempts if k <= 3][:3]
    assert [k for _, _, k, _ in attempts[:3]] == [1, 2, 3] and all(o != 'delivered' for *_, o in attempts)
    gaps = [b - a for a, b in zip(first, first[1:])]
    assert gaps[0] >= 0.1 and gaps[1] >= 0.2 + (1.0 if down == 'hanging' else 0) - 0.05, gaps   # back-off doubles (plus the timeout)
    from riskrl_nb.serve.audit import AuditLog
    log = AuditLog(tmp_path/'down.db')
    assert log.verify().ok and len(list(log.records(kind='alert'))) >= len(fired)
    if rx is not None: rx.shutdown()


def test_audit_log_shared_by_threads(tmp_path):
    """Decision threads, the alert thread and readers (`head`, `records`) share one AuditLog connection: no corrupted read,
    no duplicate sequence number, the chain verifies (before the reads took the lock, this race returned garbage rows)."""
    from riskrl_nb.serve.audit import AuditLog
    log = AuditLog(tmp_path/'shared.db', synchronous='NORMAL'); log.defer_commit = True   # as the service runs it
    errors, stop = [], time.monotonic() + 2.0
    def write(k):
        while time.monotonic() < stop:
            try: log.append('decision' if k else 'alert', dict(k=k)); log.commit()
            except Exception as e: errors.append(repr(e)[:200])
    def read():
        while time.monotonic() < stop:
            try:
                seq, h = log.head()
                assert len(h) == 64 and all(r.seq >= max(1, seq - 3) for r in log.records(max(1, seq - 3)))
            except Exception as e: errors.append(repr(e)[:200])
    ts = [threading.Thread(target=write, args=(k,)) for k in range(3)] + [threading.Thread(target=read)]
    for t in ts: t.start()
    for t in ts: t.join()
    assert errors == [], errors[:3]
    v = log.verify()
    assert v.ok and v.records > 100, v
