"""`riskrl serve` as a real process on loopback: parity with the backtest over HTTP, bad inputs, auth, a crash mid-load, deployment files."""
import json, os, signal, socket, subprocess, sys, threading, time
from pathlib import Path
import numpy as np
import pytest
import httpx
from conftest import ROOT, RISKRL, run_cli

KEY = 'test-key-0123456789abcdef'
LIMITS_OFF = 'max_bar_age_bars: null\nmax_position_loss: 1.0\nmax_position_exposure: 1.0e+9\nmax_portfolio_exposure: 1.0e+9\nmax_drawdown: 1.0\n'


def free_port() -> int:
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0)); return s.getsockname()[1]


class Server:
    "`riskrl serve` in a subprocess on 127.0.0.1; waits until /readyz answers."
    def __init__(self, model, audit, *extra, keys=KEY):
        self.port = free_port()
        self.url = f'http://127.0.0.1:{self.port}'
        env = dict(os.environ, PYTHONWARNINGS='ignore', RISKRL_API_KEYS=keys)
        self.log = open(Path(audit).with_suffix('.log'), 'w')
        self.proc = subprocess.Popen([RISKRL, 'serve', '--model', str(model), '--port', str(self.port), '--audit', str(audit), *map(str, extra)],
                                     stdout=self.log, stderr=subprocess.STDOUT, env=env)
        t0 = time.time()
        while time.time() - t0 < 60:
            if self.proc.poll() is not None: raise RuntimeError(f'server exited: {Path(self.log.name).read_text()[-2000:]}')
            try:
                if httpx.get(self.url + '/readyz', timeout=1).status_code == 200: return
            except httpx.TransportError: pass
            time.sleep(0.1)
        raise RuntimeError('server did not become ready')

    def stop(self, sig=signal.SIGTERM):
        if self.proc.poll() is None:
            self.proc.send_signal(sig); self.proc.wait(10)
        self.log.close()


@pytest.fixture(scope='module')
def replay(exported_model):
    "Backtest decisions of the agent on BTC 2023 as (request body, backtest action, bar)."
    import pandas as pd
    from riskrl_nb.agents.bundle import load_bundle
    from riskrl_nb.data.candles import load_bundled
    from riskrl_nb.serve.engine import replay_requests
    from riskrl_nb.serve.schema import ServingModel
    btc = load_bundled('BTC', '1h')
    a, b = btc.index.get_loc(pd.Timestamp('2023-01-01T00:00:00Z')), btc.index.get_loc(pd.Timestamp('2023-12-31T00:00:00Z'))
    return replay_requests(load_bundle(exported_model), btc, a, b, ServingModel(exported_model).bars_recommended, max_cases=120)


@pytest.fixture(scope='module')
def server(exported_model, tmp_path_factory):
    d = tmp_path_factory.mktemp('srv')
    (d/'limits.yaml').write_text(LIMITS_OFF)
    s = Server(exported_model, d/'audit.db', '--limits', d/'limits.yaml', '--max-body-bytes', 200_000)
    s.audit = d/'audit.db'
    yield s
    s.stop()


def test_service_decides_what_the_backtest_decides(server, replay):
    "Same bars, same position state: the HTTP service's action equals the backtest agent's at every decision."
    assert len(replay) > 40
    with httpx.Client(base_url=server.url, headers={'X-API-Key': KEY}) as c:
        got = [c.post('/v1/decide', json=body).json() for body, _, _ in replay]
        batch = c.post('/v1/decide/batch', json=dict(requests=[b for b, _, _ in replay[:3]])).json()['decisions']
    assert [g['action'] for g in got] == [bt for _, bt, _ in replay]
    assert {g['policy'] for g in got} == {'model'} and all(g['model_version'].startswith('maskable_ppo-') for g in got)
    assert [g['action'] for g in batch] == [bt for _, bt, _ in replay[:3]]
    ids = [g['decision_id'] for g in got]
    assert ids == sorted(ids) and len(set(ids)) == len(ids)


def _bad_requests(body):
    "(name, raw body or json, headers override, expected status, text expected in the answer)"
    def mod(f):
        b = json.loads(json.dumps(body)); f(b); return b
    n = len(body['bars']['close'])
    return [
        ('malformed json', b'{"position": {"side": "long",', None, 422, 'json'),
        ('not an object', b'[1, 2, 3]', None, 422, 'body'),
        ('missing field', mod(lambda b: b['position'].pop('entry_price')), None, 422, 'position.entry_price'),
        ('extra field', mod(lambda b: b['position'].update(leverage=5)), None, 422, 'position.leverage'),
        ('extra top-level field', mod(lambda b: b.update(debug=True)), None, 422, 'debug'),
        ('NaN', json.dumps(body).replace(str(body['bars']['high'][-3]), 'NaN', 1).encode(), None, 422, 'bars.high'),
        ('Infinity', json.dumps(body).replace(str(body['position']['quantity']), 'Infinity', 1).encode(), None, 422, 'position.quantity'),
        ('negative quantity', mod(lambda b: b['position'].update(quantity=-1)), None, 422, 'position.quantity'),
        ('wrong side', mod(lambda b: b['position'].update(side='sideways')), None, 422, 'position.side'),
        ('wrong lengths', mod(lambda b: b['bars']['volume'].pop()), None, 422, f'bars.volume has {n - 1} values'),
        ('too few bars', mod(lambda b: b.update(bars={k: v[-50:] for k, v in b['bars'].items()})), None, 422, 'feature windows need at least'),
        ('unsorted bars', mod(lambda b: b['bars']['timestamp'].reverse()), None, 422, 'strictly ascending'),
        ('naive timestamp', mod(lambda b: b['bars']['timestamp'].__setitem__(0, '2023-01-01T00:00:00')), None, 422, 'timezone'),
        ('entry after the last bar', mod(lambda b: b['position'].update(entry_time='2030-01-01T00:00:00Z')), None, 422, 'position.entry_time'),
        ('string for a number', mod(lambda b: b['bars']['close'].__setitem__(5, 'abc')), None, 422, 'bars.close.5'),
        ('wrong API key', body, {'X-API-Key': 'wrong-key-0123456789'}, 401, 'API key'),
        ('no API key', body, {}, 401, 'API key'),
        ('oversized body', mod(lambda b: b['bars'].update({k: v * 8 for k, v in b['bars'].items()})), None, 413, 'too large'),
        ('oversized, no length', b'x' * 300_000, {'X-API-Key': KEY, 'Transfer-Encoding': 'chunked'}, 413, 'too large'),
    ]


def test_bad_inputs_are_clear_4xx_and_the_service_keeps_serving(server, replay):
    body = replay[0][0]
    with httpx.Client(base_url=server.url, timeout=10) as c:
        for name, payload, headers, status, text in _bad_requests(body):
            h = {'X-API-Key': KEY} if headers is None else headers
            if isinstance(payload, bytes):
                content = iter([payload]) if 'Transfer-Encoding' in h else payload
                r = c.post('/v1/decide', content=content, headers={**{k: v for k, v in h.items() if k != 'Transfer-Encoding'}, 'content-type': 'application/json'})
            else:
                r = c.post('/v1/decide', json=payload, headers=h)
            assert r.status_code == status, (name, r.status_code, r.text[:300])
            assert text.lower() in r.text.lower(), (name, r.text[:500])
            ok = c.post('/v1/decide', json=body, headers={'X-API-Key': KEY})   # still serving
            assert ok.status_code == 200, (name, ok.text[:300])
        assert c.get('/nowhere').status_code == 404
        m = c.get('/metrics').text
    assert 'riskrl_errors_total{kind="invalid_request"}' in m and 'riskrl_errors_total{kind="unauthorized"} 2.0' in m
    assert 'riskrl_errors_total{kind="body_too_large"} 2.0' in m
    r = run_cli('audit', 'verify', '--db', server.audit)
    assert r.returncode == 0 and 'chain intact' in r.stdout, r.stderr
    from riskrl_nb.serve.audit import AuditLog
    rejected = [x.data for x in AuditLog(server.audit).records(kind='rejected')]
    assert len(rejected) >= len(_bad_requests(body)) and all(KEY not in json.dumps(x) for x in rejected)   # keys are never logged


def test_health_metrics_openapi_and_logs(server, replay):
    # one decision of its own first: under xdist this test may run before any other test posted one, and a
    # labelled prometheus histogram shows no buckets until it has an observation
    assert httpx.post(server.url + '/v1/decide', json=replay[0][0], headers={'X-API-Key': KEY}).status_code == 200
    h = httpx.get(server.url + '/healthz').json()
    assert h['status'] == 'ok' and h['models']['champion'].startswith('maskable_ppo-') and h['audit']['records'] > 0
    assert httpx.get(server.url + '/readyz').json() == {'ready': True}
    m = httpx.get(server.url + '/metrics').text
    for name in ('riskrl_decision_latency_seconds_bucket', 'riskrl_decisions_total', 'riskrl_model_info', 'riskrl_breaker_open', 'riskrl_audit_records'):
        assert name in m, name
    spec = httpx.get(server.url + '/openapi.json').json()
    assert {'/v1/decide', '/v1/decide/batch', '/v1/outcome', '/healthz', '/metrics'} <= set(spec['paths'])
    props = spec['components']['schemas']['DecideResponse']['properties']
    assert {'action', 'size', 'model_version', 'reason'} <= set(props)
    lines = [json.loads(l) for l in Path(server.log.name).read_text().splitlines() if l.startswith('{')]
    assert any(l.get('event') == 'decision' and 'latency_ms' in l for l in lines)


def test_refuses_to_start_without_keys(exported_model, tmp_path, capsys):
    "No keys: exit 2 unless --insecure-no-auth on loopback; an unexported folder: exit 2 naming riskrl export (in-process: it fails before listening)."
    from riskrl_nb.cli import main
    env_keys = os.environ.pop('RISKRL_API_KEYS', None)
    try:
        def run(*a):
            rc = main(['serve', *map(str, a)]); return rc, capsys.readouterr().err
        rc, err = run('--model', exported_model, '--audit', tmp_path/'a.db', '--port', free_port())
        assert rc == 2 and 'no API keys' in err and len(err.strip().splitlines()) == 1
        rc, err = run('--model', exported_model, '--audit', tmp_path/'a.db', '--host', '0.0.0.0', '--insecure-no-auth')
        assert rc == 2 and 'loopback host only' in err
        rc, err = run('--model', tmp_path, '--audit', tmp_path/'a.db', '--insecure-no-auth')
        assert rc == 2 and 'riskrl export' in err
    finally:
        if env_keys is not None: os.environ['RISKRL_API_KEYS'] = env_keys


def test_killed_mid_load_loses_no_acknowledged_record(exported_model, replay, tmp_path):
    "SIGKILL while 4 clients post decisions: every decision a client got back is in the audit log, and the chain verifies."
    audit = tmp_path/'audit.db'
    (tmp_path/'limits.yaml').write_text(LIMITS_OFF)
    s = Server(exported_model, audit, '--limits', tmp_path/'limits.yaml')
    acked, stop, errors = [], threading.Event(), []
    def client(k):
        with httpx.Client(base_url=s.url, headers={'X-API-Key': KEY}, timeout=5) as c:
            n = 0
            while not stop.is_set() and n < 2000:
                body = replay[(k * 7 + n) % len(replay)][0]; n += 1
                try: r = c.post('/v1/decide', json=body)
                except httpx.TransportError: return      # the server is gone
                if r.status_code == 200: acked.append((r.json()['decision_id'], r.json()['audit_hash']))
                else: errors.append(r.status_code)
    threads = [threading.Thread(target=client, args=(k,)) for k in range(4)]
    for t in threads: t.start()
    t0 = time.time()
    while len(acked) < 150 and time.time() - t0 < 60: time.sleep(0.01)
    s.proc.kill()                                   # SIGKILL: no shutdown handler runs
    s.proc.wait(10); stop.set()
    for t in threads: t.join(10)
    s.log.close()
    assert len(acked) >= 150 and not errors
    from riskrl_nb.serve.audit import AuditLog
    log = AuditLog(audit)
    assert log.verify().ok
    on_disk = {r.seq: r.hash for r in log.records()}
    missing = [(seq, h) for seq, h in acked if on_disk.get(seq) != h]
    assert missing == [], f'{len(missing)} acknowledged decisions missing from the audit log'
    r = run_cli('audit', 'verify', '--db', audit)
    assert r.returncode == 0, r.stderr


def test_tampered_audit_log_fails_verify(server, replay):
    "Editing one decision record of a copy of the live log is caught (self-contained: under xdist this may run first)."
    import sqlite3
    with httpx.Client(base_url=server.url, headers={'X-API-Key': KEY}) as c:
        assert all(c.post('/v1/decide', json=body).status_code == 200 for body, _, _ in replay[:2])
    copy = Path(str(server.audit) + '.copy.db')
    src = sqlite3.connect(server.audit); dst = sqlite3.connect(copy); src.backup(dst); src.close()
    n = dst.execute("UPDATE audit SET payload = payload || ' ' WHERE seq = (SELECT MIN(seq) FROM audit WHERE kind = 'decision')").rowcount
    assert n == 1
    dst.commit(); dst.close()
    r = run_cli('audit', 'verify', '--db', copy)
    assert r.returncode == 2 and 'first bad record' in r.stderr and len(r.stderr.strip().splitlines()) == 1


def test_deployment_files_parse():
    "No Docker engine here: the manifests and the dashboard are checked for structure, not run."
    import yaml
    dep = ROOT/'deploy'
    docs = [d for f in sorted((dep/'k8s').glob('*.yaml')) for d in yaml.safe_load_all(f.read_text()) if d]
    kinds = {d['kind']: d for d in docs}
    assert {'Deployment', 'Service'} <= set(kinds)
    pod = kinds['Deployment']['spec']['template']
    c = pod['spec']['containers'][0]
    assert c['livenessProbe']['httpGet']['path'] == '/healthz' and c['readinessProbe']['httpGet']['path'] == '/readyz'
    assert pod['metadata']['annotations']['prometheus.io/scrape'] == 'true'
    assert pod['metadata']['annotations']['prometheus.io/path'] == '/metrics'
    port = c['ports'][0]['containerPort']
    assert kinds['Service']['spec']['ports'][0]['targetPort'] in (port, c['ports'][0].get('name'))
    assert any(e['name'] == 'RISKRL_API_KEYS' and 'secretKeyRef' in e['valueFrom'] for e in c['env'])
    dash = json.loads((dep/'grafana-dashboard.json').read_text())
    exprs = ' '.join(t['expr'] for p in dash['panels'] for t in p.get('targets', []))
    for m in ('riskrl_decision_latency_seconds_bucket', 'riskrl_decisions_total', 'riskrl_errors_total', 'riskrl_breaker_open'):
        assert m in exprs, m
    docker = (dep/'Dockerfile').read_text()
    assert 'riskrl' in docker and 'HEALTHCHECK' in docker and 'USER' in docker


PG_URL = os.environ.get('RISKRL_TEST_POSTGRES_URL') or os.environ.get('RISKRL_PG_URL')   # .ci/run sets RISKRL_PG_URL


@pytest.mark.skipif(not PG_URL and os.environ.get('RISKRL_REQUIRE_PG') != '1',
                    reason='set RISKRL_PG_URL=postgresql://... to test the PostgreSQL audit store (.ci/run does)')
def test_postgres_audit_store():
    "The optional PostgreSQL store: one chain from concurrent connections, tampering found, no password in messages."
    from concurrent.futures import ThreadPoolExecutor
    from riskrl_nb.serve.audit import AuditLog
    assert PG_URL, 'RISKRL_REQUIRE_PG=1 but no PostgreSQL URL is set'
    url = PG_URL
    a, b = AuditLog(url), AuditLog(url)
    a.conn.cursor().execute('TRUNCATE audit')
    with ThreadPoolExecutor(4) as ex: list(ex.map(lambda k: (a if k % 2 else b).append('decision', {'k': k}), range(60)))
    assert a.verify().ok and a.verify().records == 60
    a.conn.cursor().execute("UPDATE audit SET payload = '{\"k\":-1}' WHERE seq = 20")
    assert a.verify().bad_seq == 20
    r = run_cli('audit', 'verify', '--db', url)
    pw = url.split('://', 1)[1].split('@')[0].split(':')[-1]
    assert r.returncode == 2 and 'first bad record: 20' in r.stderr and f':{pw}@' not in r.stderr and '***' in r.stderr
    a.conn.cursor().execute('TRUNCATE audit')
