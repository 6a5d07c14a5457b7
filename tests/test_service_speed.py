"""The service hot path (issue 14, round 5): the audit's transaction tail, the decision records' orjson form, decision log
lines written straight to a json_logger, and the decision routes answered in front of FastAPI's own __call__. Each test
fails on the shortcut done wrong (a cached tail reused across another writer, a log line that differs, a refusal or a
413 that the fast path would get wrong)."""
import io, json, logging, math
import numpy as np
import pytest
from fastapi.testclient import TestClient

KEY = 'speed-key-0123456789abcdef'
H = {'X-API-Key': KEY}


def test_audit_tail_of_a_transaction_is_never_reused_after_another_writer(tmp_path):
    "Appends after the first of a transaction reuse its tail (no SELECT); a new transaction reads the head again."
    from riskrl_nb.serve.audit import AuditLog
    a, b = AuditLog(tmp_path/'a.db'), AuditLog(tmp_path/'a.db')
    a.defer_commit = True
    for k in range(3): a.append('x', dict(k=k))
    assert a.commit() == 3 == a.head()[0]
    b.append('other', dict(k=99))                      # another connection appends between a's transactions
    recs = [a.append('x', dict(k=k)) for k in (3, 4)]
    assert [r.seq for r in recs] == [5, 6] and a.commit() == 6
    v = AuditLog(tmp_path/'a.db').verify()
    assert v.ok and v.records == 6, v.problem
    assert [r.kind for r in a.records()] == ['x'] * 3 + ['other'] + ['x'] * 2


def test_a_failed_transaction_does_not_leave_its_tail(tmp_path):
    "A rolled-back group's records are gone; the next append links to the committed head, not to the lost tail."
    from riskrl_nb.serve.audit import AuditLog, AuditError
    a = AuditLog(tmp_path/'a.db'); a.defer_commit = True
    a.append('x', dict(k=0)); a.commit()
    a.append('x', dict(k=1))
    a._rollback()                                      # as _failed does on an error
    r = a.append('x', dict(k=2)); a.commit()
    assert r.seq == 2 and a.verify().ok


def test_decision_records_are_orjson_with_the_same_content(tmp_path):
    "StrKeyed payloads: sorted, compact, NaN as null, same data as the stdlib form; a non-str key falls back to the rules."
    import orjson
    from riskrl_nb.serve.audit import AuditLog, StrKeyed, canonical_json
    p = dict(b=1, a=dict(y=float('nan'), x=[1.5e-05, 2, None, 'é'], z=np.float64(0.25)), c=math.inf, d=(1, 2))
    fast = canonical_json(StrKeyed(p))
    assert fast == orjson.dumps(p, option=orjson.OPT_SORT_KEYS | orjson.OPT_SERIALIZE_NUMPY).decode()
    assert json.loads(fast) == json.loads(canonical_json(p)) and list(json.loads(fast)) == ['a', 'b', 'c', 'd']
    assert ' ' not in fast and 'NaN' not in fast and 'Infinity' not in fast
    odd = StrKeyed(a={1: 'x', True: 'y'})              # not str keys: the stdlib rules (str(k)) exactly
    assert canonical_json(odd) == canonical_json(dict(odd)) == '{"a":{"1":"y"}}'
    log = AuditLog(tmp_path/'a.db')
    rec = log.append('decision', StrKeyed(p))
    assert rec.payload == fast and log.verify().ok and next(log.records()).data == json.loads(fast)


def test_decision_log_lines_written_straight_equal_the_logging_path():
    "log_fields on a json_logger writes the lines log.info(LogFields(...)) writes (timestamps aside), and uses the logging path whenever a filter or handler could read the records."
    from riskrl_nb.serve.http import json_logger, log_fields, LogFields, _json_lines
    rows = [dict(event='decision', path='/v1/decide/position', request_id=None, decision_id=7, action='hold', size=0.0, policy='model',
                 arm='champion', model_version='m-1', latency_ms=1.5e-05), dict(event='decision', decision_id=8, action='close_tp', size=1.0)]
    fast, slow = io.StringIO(), io.StringIO()
    log = json_logger('riskrl.test.fast', stream=fast)
    assert _json_lines(log) is log.handlers[0]
    log_fields(log, rows)
    log = json_logger('riskrl.test.slow', stream=slow)
    for f in rows: log.info(LogFields(f))
    strip = lambda text: [{k: v for k, v in json.loads(l).items() if k not in ('ts', 'logger')} for l in text.splitlines()]
    assert strip(fast.getvalue()) == strip(slow.getvalue()) and len(strip(fast.getvalue())) == 2
    line = lambda text: text.splitlines()[0].split('"level"', 1)[1].replace('riskrl.test.fast', 'L').replace('riskrl.test.slow', 'L')
    assert line(fast.getvalue()) == line(slow.getvalue())   # byte for byte after the timestamp
    ts = json.loads(fast.getvalue().splitlines()[0])['ts']
    assert len(ts) == 27 and ts.endswith('Z') and ts[10] == 'T'
    seen = []
    log.addFilter(lambda r: seen.append(r.getMessage()) or True)   # a filter must see every record
    assert _json_lines(log) is None
    log_fields(log, rows)
    assert len(seen) == 2
    log.setLevel(logging.WARNING); n = len(slow.getvalue())
    log_fields(log, rows)
    assert len(slow.getvalue()) == n                   # below the level: nothing written


def _service(model_dir, tmp_path, **kw):
    from riskrl_nb.serve.audit import AuditLog
    from riskrl_nb.serve.schema import ServingModel
    from riskrl_nb.serve.engine import DecisionService
    from riskrl_nb.serve.limits import load_limits
    from riskrl_nb.serve.http import create_app, json_logger
    sm = ServingModel(model_dir)
    svc = DecisionService(sm, AuditLog(tmp_path/'a.db'), load_limits(overrides=dict(max_bar_age_bars=None)))
    return sm, svc, create_app(svc, [KEY], logger=json_logger(stream=io.StringIO()), **kw)


def _bodies(sm):
    import pandas as pd
    from riskrl_nb.data.candles import load_bundled
    df = load_bundled('BTC', '1h')
    e = df.index.get_loc(pd.Timestamp('2023-03-01T00:00:00Z'))
    ts = list(df.index.strftime('%Y-%m-%dT%H:%M:%SZ'))
    bars = dict(timestamp=ts[e - sm.bars_recommended + 1:e + 1], **{c: df[c].astype(float).tolist()[e - sm.bars_recommended + 1:e + 1]
                                                                      for c in ('open', 'high', 'low', 'close', 'volume')})
    pos = dict(position=dict(position_id='p1', symbol='BTC', side='long', quantity=0.1, entry_price=float(df.open.iloc[e - 5]), entry_time=ts[e - 5]),
               account=dict(equity=100_000.0, peak_equity=101_000.0, initial_equity=100_000.0))
    return dict(symbol='BTC', bars=bars), pos


def test_decision_routes_answer_in_front_of_fastapi_and_refuse_as_before(exported_model, tmp_path):
    "Valid decisions never enter FastAPI's __call__; refusals, chunked bodies and bodies over the limit do, with the same answers as before."
    sm, svc, app = _service(exported_model, tmp_path, max_body_bytes=50_000)
    calls, slow = [], app.fast_routes.app
    async def counting(scope, receive, send):
        calls.append(scope['path']); await slow(scope, receive, send)
    app.fast_routes.app = counting
    c = TestClient(app)
    bars, pos = _bodies(sm)
    assert c.post('/v1/bars', json=bars, headers=H).status_code == 200
    r = c.post('/v1/decide/position', json=pos, headers=H)
    assert r.status_code == 200 and r.json()['policy'] in ('model', 'fallback', 'limit', 'rule') and calls == []
    assert c.post('/v1/decide/positions', json=dict(requests=[pos] * 3), headers=H).status_code == 200 and calls == []
    assert c.post('/v1/decide/position', json=pos, headers={'X-API-Key': 'wrong-key-0123456789'}).status_code == 401
    r = c.post('/v1/decide/position', json=dict(pos, position={**pos['position'], 'side': 'up'}), headers=H)
    assert r.status_code == 422 and r.json()['detail'][0]['field'] == 'position.side'
    assert calls == ['/v1/decide/position'] * 2        # refusals are the routes' own
    big = dict(bars, bars={**bars['bars'], 'close': bars['bars']['close'] * 10})
    r = c.post('/v1/bars', json=big, headers=H)        # over the limit by Content-Length: BodyLimit's 413, not read by the fast path
    assert r.status_code == 413 and calls[-1] == '/v1/bars'
    n = len(calls)
    r = c.post('/v1/decide/position', content=iter([json.dumps(pos).encode()]), headers={**H, 'Content-Type': 'application/json'})
    assert r.status_code == 200 and len(calls) == n + 1   # no Content-Length (chunked): FastAPI's path, same answer
    kinds = [x.kind for x in svc.audit.records()]
    assert kinds.count('decision') == 5 and kinds.count('rejected') == 3, kinds
    assert svc.audit.verify().ok


def test_an_endpoint_bug_on_the_fast_path_is_a_500(exported_model, tmp_path, monkeypatch):
    "As starlette's ServerErrorMiddleware answers it: 500 'Internal Server Error', and the exception is raised to the server."
    sm, svc, app = _service(exported_model, tmp_path)
    bars, pos = _bodies(sm)
    c = TestClient(app, raise_server_exceptions=False)
    assert c.post('/v1/bars', json=bars, headers=H).status_code == 200
    def broken(*a, **k): raise KeyError('bug')
    monkeypatch.setattr(type(svc), '_finish', broken)   # the engine's last step, on the grouped path and one by one alike
    for path, body in [('/v1/decide/position', pos), ('/v1/decide/positions', dict(requests=[pos]))]:
        r = c.post(path, json=body, headers=H)
        assert r.status_code == 500 and r.text == 'Internal Server Error'
        with pytest.raises(KeyError): TestClient(app).post(path, json=body, headers=H)


def test_a_log_stream_that_fails_does_not_fail_the_answer(capsys):
    "As logging does: the handler reports the error (handleError) and the caller goes on."
    from riskrl_nb.serve.http import json_logger, log_fields
    class Broken(io.StringIO):
        def write(self, s): raise OSError('disk full')
    log = json_logger('riskrl.test.broken', stream=Broken())
    log_fields(log, [dict(event='decision', decision_id=1)])   # no exception
    assert 'disk full' in capsys.readouterr().err


# Decision groups (issue 14, round 6): single-position requests that arrive together are decided in one engine call.

def _asgi(app):
    "call(path, body, key) -> (status, json or text): one request straight through the ASGI app; concurrent calls run in one event loop."
    import asyncio
    async def call(path, body, key=KEY, seen=None):
        raw = json.dumps(body).encode()
        headers = [(b'host', b't'), (b'x-api-key', key.encode()), (b'content-type', b'application/json'), (b'content-length', str(len(raw)).encode())]
        scope = dict(type='http', asgi={'version': '3.0'}, http_version='1.1', method='POST', scheme='http', path=path, raw_path=path.encode(),
                     query_string=b'', root_path='', headers=headers, client=('127.0.0.1', 1), server=('127.0.0.1', 80), state={})
        sent, out = [False], {}
        async def receive():
            if sent[0]: await asyncio.sleep(3600)
            sent[0] = True; return dict(type='http.request', body=raw, more_body=False)
        async def send(msg):
            if msg['type'] == 'http.response.start':
                out['status'] = msg['status']
                if seen is not None: seen()   # the answer starts leaving now
            elif msg['type'] == 'http.response.body': out['body'] = out.get('body', b'') + msg.get('body', b'')
        await app(scope, receive, send)
        try: return out['status'], json.loads(out['body'])
        except ValueError: return out['status'], out['body'].decode()
    return call


def _group_case(sm):
    "Bars, then positions that exercise order: trims by the portfolio exposure limit (depends on the positions before), a position asked twice, refusals (unknown symbol, entry after the last bar, a body pydantic refuses), a horizon rule."
    bars, pos = _bodies(sm)
    ts, opens = bars['bars']['timestamp'], bars['bars']['open']
    reqs = []
    for k in range(14):
        held = 2 + 3 * k
        reqs.append(dict(position=dict(position_id=f'p{k % 11}', symbol='BTC', side='long' if k % 3 else 'short', quantity=round(0.05 + 0.03 * k, 4),
                                       entry_price=opens[-held], entry_time=ts[-held]), account=pos['account']))
    reqs.insert(3, dict(pos, position={**pos['position'], 'symbol': 'ETH'}))                           # no stream: 422
    reqs.insert(7, dict(pos, position={**pos['position'], 'entry_time': '2030-01-01T00:00:00Z'}))      # after the last bar: 422
    reqs.insert(9, dict(pos, position={**pos['position'], 'side': 'up'}))                              # pydantic refuses: 422 via FastAPI
    reqs.append(dict(pos, position={**pos['position'], 'position_id': 'old', 'entry_time': ts[-sm.env.max_holding_bars - 3], 'entry_price': opens[-sm.env.max_holding_bars - 3]}))
    return bars, reqs


def _grouped_and_one_by_one(model_dir, tmp_path, limits=None, rollout=None):
    "Twin services and apps, with decision groups and without; `rollout`: a RolloutConfig for an int8 challenger of the same model."
    from riskrl_nb.serve.audit import AuditLog
    from riskrl_nb.serve.schema import ServingModel
    from riskrl_nb.serve.engine import DecisionService
    from riskrl_nb.serve.limits import load_limits
    from riskrl_nb.serve.http import create_app, json_logger
    from riskrl_nb.serve.rollout import Rollout
    sm = ServingModel(model_dir)
    ch = ServingModel(model_dir, 'int8') if rollout is not None else None
    out = []
    for grouped in (True, False):
        audit = AuditLog(tmp_path/f'audit-{grouped}.db')
        ro = Rollout(rollout, sm.version, ch.version, audit=audit) if rollout is not None else None
        svc = DecisionService(sm, audit, load_limits(overrides=dict(max_bar_age_bars=None, **(limits or {}))), rollout=ro, challenger=ch)
        out.append((svc, create_app(svc, [KEY], logger=json_logger(f'riskrl.test.group{grouped}', stream=io.StringIO()), group_decisions=grouped)))
    return sm, out


@pytest.mark.parametrize('rollout', [None, 'shadow', 'canary'])
def test_concurrent_single_position_requests_get_exactly_the_answers_and_records_of_one_by_one(exported_model, tmp_path, rollout):
    """N requests sent together (one decision group) answer what the same N sent one after another answer, and leave the same audit
    records in the same order: each decided against the state the ones before it left (exposure trims), a refused one in its place.
    (A body that pydantic refuses never joins the group: FastAPI answers it as it arrives, so one by one it comes first.) Also under a
    shadow challenger, and a canary whose schedule raises the challenger's share in the middle of the group (routing at each turn)."""
    import asyncio
    from riskrl_nb.serve.rollout import RolloutConfig
    cfg = None if rollout is None else RolloutConfig(mode=rollout, schedule='0.2@0,0.9@6' if rollout == 'canary' else '')
    sm, [(gsvc, gapp), (ssvc, sapp)] = _grouped_and_one_by_one(exported_model, tmp_path, dict(max_portfolio_exposure=0.12), cfg)
    bars, reqs = _group_case(sm)
    async def together(call):
        assert (await call('/v1/bars', bars))[0] == 200
        return await asyncio.gather(*(call('/v1/decide/position', r) for r in reqs))
    async def one_by_one(call):   # the body pydantic refuses is answered at once, outside the group (FastAPI's 422): first
        assert (await call('/v1/bars', bars))[0] == 200
        order = [9] + [k for k in range(len(reqs)) if k != 9]
        answers = {k: await call('/v1/decide/position', reqs[k]) for k in order}
        return [answers[k] for k in range(len(reqs))]
    got, want = asyncio.run(together(_asgi(gapp))), asyncio.run(one_by_one(_asgi(sapp)))
    groups = gapp.fast_routes.groups
    assert groups.groups == 1 and groups.decided == len(reqs) - 1      # one group (the body pydantic refuses never reaches it)
    assert sapp.fast_routes.groups is None
    assert [s for s, _ in got] == [s for s, _ in want] and [s for s, _ in got].count(422) == 3
    strip = lambda b: {k: v for k, v in b.items() if k != 'audit_hash'} if isinstance(b, dict) else b
    assert [strip(b) for _, b in got] == [strip(b) for _, b in want]
    policies = [b['policy'] for s, b in got if s == 200]
    assert 'limit' in policies and 'rule' in policies and len(set(policies)) >= 3, policies   # the case exercises order-dependent rules
    rec = lambda svc: [(r.kind, r.payload) for r in svc.audit.records()]
    assert rec(gsvc) == rec(ssvc) and gsvc.audit.verify().ok
    assert [k for k, _ in rec(gsvc)].count('rejected') == 3
    arms = [b['arm'] for s, b in got if s == 200]
    if rollout == 'canary': assert {'champion', 'challenger'} <= set(arms) and 'rollout' in [k for k, _ in rec(gsvc)], arms   # the schedule stepped
    if rollout == 'shadow': assert all(json.loads(p)['shadow'] for k, p in rec(gsvc) if k == 'decision')


def test_requests_arriving_over_a_few_loop_turns_join_one_group(exported_model, tmp_path):
    """A closed loop's clients come back a few event-loop turns apart: the group gathers them until two turns in a row bring
    none (`DecideGroups.gather`), instead of deciding the first arrivals alone; a request that comes after that is the next
    group. The answers and records are those of one by one in the order of arrival."""
    import asyncio
    sm, [(gsvc, gapp), (ssvc, sapp)] = _grouped_and_one_by_one(exported_model, tmp_path, dict(max_portfolio_exposure=0.12))
    bars, reqs = _group_case(sm)
    reqs = [r for k, r in enumerate(reqs) if k != 9]          # all valid for pydantic: all join the group
    turns = [k % 3 for k in range(len(reqs))] + [40]          # arrivals over three consecutive turns, and one much later
    reqs = reqs + [reqs[0]]
    order = sorted(range(len(reqs)), key=lambda k: (turns[k], k))
    async def staggered(call):
        assert (await call('/v1/bars', bars))[0] == 200
        async def after(n, r):
            for _ in range(n): await asyncio.sleep(0)
            return await call('/v1/decide/position', r)
        return await asyncio.gather(*(after(n, r) for n, r in zip(turns, reqs)))
    async def one_by_one(call):
        assert (await call('/v1/bars', bars))[0] == 200
        answers = {k: await call('/v1/decide/position', reqs[k]) for k in order}
        return [answers[k] for k in range(len(reqs))]
    got, want = asyncio.run(staggered(_asgi(gapp))), asyncio.run(one_by_one(_asgi(sapp)))
    groups = gapp.fast_routes.groups
    assert (groups.groups, groups.decided) == (2, len(reqs))   # the three turns' arrivals in one group, the late one alone
    strip = lambda b: {k: v for k, v in b.items() if k != 'audit_hash'} if isinstance(b, dict) else b
    assert [(s, strip(b)) for s, b in got] == [(s, strip(b)) for s, b in want]
    rec = lambda svc: [(r.kind, r.payload) for r in svc.audit.records()]
    assert rec(gsvc) == rec(ssvc) and gsvc.audit.verify().ok


def test_no_grouped_answer_leaves_before_its_audit_commit(exported_model, tmp_path):
    "When each answer starts leaving, its decision is already committed (another connection reads it); the chain holds every acknowledged decision."
    import asyncio
    from riskrl_nb.serve.audit import AuditLog
    sm, [(svc, app), _] = _grouped_and_one_by_one(exported_model, tmp_path)
    bars, reqs = _group_case(sm)
    reqs = [r for k, r in enumerate(reqs) if k != 9]   # all in the group (FastAPI's answer to the refused body would commit for it)
    reader, call = AuditLog(tmp_path/'audit-True.db'), _asgi(app)
    heads = []
    async def go():
        await call('/v1/bars', bars)
        return await asyncio.gather(*(call('/v1/decide/position', r, seen=lambda: heads.append(reader.head()[0])) for r in reqs))
    got = asyncio.run(go())
    ok = [b for s, b in got if s == 200]
    assert len(ok) == len(reqs) - 2 and len(heads) == len(reqs)
    assert min(heads) >= max(b['decision_id'] for b in ok)   # committed (visible to another connection) before the first answer started
    on_disk = {r.seq: r.hash for r in AuditLog(tmp_path/'audit-True.db').records()}
    assert all(on_disk.get(b['decision_id']) == b['audit_hash'] for b in ok) and reader.verify().ok


def test_a_failed_group_commit_answers_503_to_the_decisions_of_the_group(exported_model, tmp_path, monkeypatch):
    "Nothing of a group whose commit fails is acknowledged (refusals are still answered 422); the next group is decided and the chain verifies."
    import asyncio, sqlite3
    sm, [(svc, app), _] = _grouped_and_one_by_one(exported_model, tmp_path)
    bars, reqs = _group_case(sm)
    commit, armed, failed = type(svc.audit).commit, [], []
    def fail_once(self):
        if armed and not failed and self._in_tx: failed.append(1); self._failed(sqlite3.OperationalError('disk I/O error'))
        return commit(self)
    monkeypatch.setattr(type(svc.audit), 'commit', fail_once)
    call = _asgi(app)
    async def go():
        assert (await call('/v1/bars', bars))[0] == 200
        armed.append(1)   # the next commit fails: the group's (the body pydantic refuses is left out: FastAPI answers it as it
        # arrives, its record committed on its own before the group is decided; it would also hold the log's transaction open
        # for the probe)
        first = await asyncio.gather(*(call('/v1/decide/position', r) for k, r in enumerate(reqs) if k != 9))
        return first, await asyncio.gather(*(call('/v1/decide/position', r) for k, r in enumerate(reqs) if k != 9))
    first, second = asyncio.run(go())
    assert failed and sorted({s for s, _ in first}) == [422, 503] and [s for s, _ in first].count(503) == len(reqs) - 3
    assert [s for s, _ in first].count(422) == 2   # refusals are answered either way
    assert [s for s, _ in second].count(200) == len(reqs) - 3 and [s for s, _ in second].count(422) == 2
    v = svc.audit.verify()
    assert v.ok and [r.kind for r in svc.audit.records()].count('decision') == len(reqs) - 3


def test_an_int8_policy_answers_each_position_of_a_batch_request_as_that_position_alone(exported_model, tmp_path):
    """A dynamically quantised INT8 policy is not `batch_exact` (a row's probabilities depend on the batch's range): on
    /v1/decide/positions and /v1/decide/batch each position gets exactly the probabilities it gets asked alone, as on the
    decision groups of /v1/decide/position. Batching such a policy over the request's rows fails."""
    import pandas as pd
    from riskrl_nb.serve.audit import AuditLog
    from riskrl_nb.serve.schema import ServingModel
    from riskrl_nb.serve.engine import DecisionService, batch_exact
    from riskrl_nb.serve.limits import load_limits
    from riskrl_nb.serve.http import create_app, json_logger
    sm = ServingModel(exported_model, 'int8')
    assert not batch_exact(sm.policy, sm.policy.n_obs)
    limits = load_limits(overrides=dict(max_bar_age_bars=None, max_position_loss=1.0, max_position_exposure=1e9, max_portfolio_exposure=1e9, max_drawdown=1.0))
    svc = DecisionService(sm, AuditLog(tmp_path/'a.db'), limits)
    c = TestClient(create_app(svc, [KEY], logger=json_logger('riskrl.test.int8', stream=io.StringIO())))
    bars, pos = _bodies(sm)
    ts, opens = bars['bars']['timestamp'], bars['bars']['open']
    reqs = [dict(pos, position={**pos['position'], 'position_id': f'q{k}', 'side': 'short' if k % 2 else 'long',
                                'entry_time': ts[-h], 'entry_price': opens[-h]}) for k, h in enumerate((2, 4, 7, 11, 16, 22, 29, 37))]
    assert c.post('/v1/bars', json=bars, headers=H).status_code == 200
    alone = [c.post('/v1/decide/position', json=r, headers=H).json() for r in reqs]
    assert {d['policy'] for d in alone} == {'model'}
    probs = lambda ds: [d['probabilities'] for d in ds]
    assert len({json.dumps(p, sort_keys=True) for p in probs(alone)}) > 1
    positions = c.post('/v1/decide/positions', json=dict(requests=reqs), headers=H)
    batch = c.post('/v1/decide/batch', json=dict(requests=[dict(r, bars=bars['bars']) for r in reqs]), headers=H)
    assert positions.status_code == 200 and batch.status_code == 200
    assert probs(positions.json()['decisions']) == probs(alone)
    assert probs(batch.json()['decisions']) == probs(alone)


def test_feature_range_bounds_are_computed_on_load_and_follow_the_margin_and_the_ranges(exported_model, tmp_path):
    """A request whose features leave the model's training range (widened by `feature_range_margin` widths) gets the fallback,
    naming the first such feature; the bounds are computed when the service loads the model (no `id()` cache filled on the
    first request), and follow a new margin (limits replaced) and new ranges (arrays replaced), as before."""
    import numpy as np
    from riskrl_nb.serve.audit import AuditLog
    from riskrl_nb.serve.schema import ServingModel, DecideRequest
    from riskrl_nb.serve.engine import DecisionService
    from riskrl_nb.serve.limits import load_limits
    sm = ServingModel(exported_model)
    n = len(sm.z_low)
    sm.z_low, sm.z_high = np.full(n, -0.01), np.full(n, 0.01)    # a narrow training range: width 0.02
    limits = lambda margin: load_limits(overrides=dict(max_bar_age_bars=None, feature_range_margin=margin))
    svc = DecisionService(sm, AuditLog(tmp_path/'a.db'), limits(1.0))
    lo, hi = svc._bounds['champion'][4:]                             # computed on load
    np.testing.assert_allclose(lo, np.full(n, -0.03)); np.testing.assert_allclose(hi, np.full(n, 0.03))
    bars, pos = _bodies(sm)
    req = DecideRequest.model_validate(dict(pos, bars=bars['bars']))
    d = svc.decide(req)
    assert d['policy'] == 'fallback' and 'feature_out_of_range: ' in d['reason'] and 'feature_out_of_range' in d['breakers'], d
    assert any(f"feature_out_of_range: {c} z=" in d['reason'] for c in sm.scaler.columns)
    svc.limits = limits(1e6)                                         # bounds of ±20,000
    assert svc.decide(req)['policy'] == 'model'
    svc.limits = limits(1.0)
    assert svc.decide(req)['policy'] == 'fallback'
    sm.z_low, sm.z_high = np.full(n, -1e4), np.full(n, 1e4)          # new ranges: new bounds
    assert svc.decide(req)['policy'] == 'model'


def test_riskrl_serve_protocol_sends_each_answer_in_one_write_with_the_same_bytes(exported_model, tmp_path):
    """uvicorn's httptools protocol writes an answer's headers and body separately (two TCP segments); the protocol `riskrl
    serve` runs (`coalescing_protocol`) sends the same bytes in one write per answer, keep-alive answers on one connection too."""
    import asyncio, uvicorn
    from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol
    from uvicorn.server import ServerState
    from riskrl_nb.serve.http import coalescing_protocol
    sm, [(svc, app), _] = _grouped_and_one_by_one(exported_model, tmp_path)
    bars, reqs = _group_case(sm)
    def raw(path, body):
        b = json.dumps(body).encode()
        return (f'POST {path} HTTP/1.1\r\nhost: t\r\nx-api-key: {KEY}\r\ncontent-type: application/json\r\n'
                f'content-length: {len(b)}\r\n\r\n').encode() + b
    class Sink:
        def __init__(self): self.writes, self.closing = [], False
        def write(self, b): self.writes.append(bytes(b))
        def is_closing(self): return self.closing
        def close(self): self.closing = True
        def pause_reading(self): pass
        def resume_reading(self): pass
        def get_extra_info(self, name, default=None): return dict(sockname=('127.0.0.1', 80), peername=('127.0.0.1', 5)).get(name, default)
    async def answers(protocol, path, bodies):
        cfg = uvicorn.Config(app, http=protocol, log_level='warning', access_log=False); cfg.load()
        p, sink = protocol(config=cfg, server_state=ServerState(), app_state={}, _loop=asyncio.get_running_loop()), Sink()
        p.connection_made(sink)
        out = []
        for body in bodies:   # keep-alive: one request after the other on the same connection
            n = len(sink.writes); p.data_received(raw(path, body))
            for _ in range(200):
                await asyncio.sleep(0.001)
                if sink.writes[n:] and b'\r\n\r\n' in b''.join(sink.writes[n:]) and b''.join(sink.writes[n:]).endswith(b'}'): break
            await asyncio.sleep(0.01)
            out.append(sink.writes[n:])
        p.connection_lost(None)
        return out
    async def both():
        await answers(HttpToolsProtocol, '/v1/bars', [bars])
        plain = await answers(HttpToolsProtocol, '/v1/decide/position', reqs[:3])
        one = await answers(coalescing_protocol(), '/v1/decide/position', reqs[:3])
        return plain, one
    plain, one = asyncio.run(both())
    assert [len(w) for w in plain] == [2, 2, 2]   # uvicorn alone: headers, then body
    assert [len(w) for w in one] == [1, 1, 1]     # one write per answer
    for p, o in zip(plain, one):   # the same status line, headers and body (but the date header and the audit hash, which cover the time)
        norm = lambda b: [l for l in b.split(b'\r\n') if not l.startswith(b'date:')]
        hp, bp = p[0], json.loads(p[1]); ho, bo = o[0].split(b'\r\n\r\n', 1)
        assert norm(hp)[:-2] == norm(ho) and o[0].startswith(b'HTTP/1.1 200 OK\r\n')
        bo = json.loads(bo)
        assert {k: v for k, v in bp.items() if k not in ('audit_hash', 'decision_id')} == {k: v for k, v in bo.items() if k not in ('audit_hash', 'decision_id')}


def _raw(path, body, key=KEY, head='', version='1.1'):
    "One HTTP request's bytes: POST `path` with `body` (a dict, sent as JSON), `head` extra header lines."
    b = json.dumps(body).encode()
    return (f'POST {path} HTTP/{version}\r\nhost: t\r\nx-api-key: {key}\r\ncontent-type: application/json\r\n{head}'
            f'content-length: {len(b)}\r\n\r\n').encode() + b


def _answers(data:bytes) -> list:
    "The complete HTTP responses in `data` (each: status line and headers up to the blank line, then Content-Length bytes)."
    out = []
    while b'\r\n\r\n' in data:
        head, rest = data.split(b'\r\n\r\n', 1)
        n = [int(l.split(b': ')[1]) for l in head.split(b'\r\n') if l.lower().startswith(b'content-length: ')]
        n = n[0] if n else 0   # an interim answer (100 Continue) has no body
        if len(rest) < n: break
        out.append((head, rest[:n])); data = rest[n:]
    return out


def test_riskrl_serve_answers_decisions_in_its_protocol_with_the_bytes_of_the_asgi_path(exported_model, tmp_path, monkeypatch):
    """`riskrl serve`'s protocol (`direct_protocol`) answers valid single-position decisions without the ASGI app, and everything
    else through it: for the same exchanges, twin services answer the same status lines, headers (but the date) and bodies (but
    the audit hash) as uvicorn's protocol through `FastRoutes`, leave the same audit records, close the same connections; the
    decisions never reach the app, refusals, pipelined requests and other routes do. Also a body in two reads, HTTP/1.0, a bug."""
    import asyncio, uvicorn
    from uvicorn.server import ServerState
    from riskrl_nb.serve.http import coalescing_protocol, direct_protocol, ServiceHTTP
    class Sink:
        def __init__(self): self.data, self.closing, self.writes = b'', False, 0
        def write(self, b): self.data += bytes(b); self.writes += 1
        def is_closing(self): return self.closing
        def close(self): self.closing = True
        def pause_reading(self): pass
        def resume_reading(self): pass
        def get_extra_info(self, name, default=None): return dict(sockname=('127.0.0.1', 80), peername=('127.0.0.1', 5)).get(name, default)
    class Counting:   # as uvicorn's middleware wraps an app (`.app`): counts the requests that reach the ASGI app
        def __init__(self, app): self.app, self.calls = app, []
        async def __call__(self, scope, receive, send):
            if scope['type'] == 'http': self.calls.append(scope['path'])
            await self.app(scope, receive, send)
    async def exchange(app, protocol, chunks):
        "Feed `chunks` ((bytes, answers expected by then), one read each) to one new connection: (answers, closed)."
        cfg = uvicorn.Config(app, http=protocol, log_level='critical', access_log=False); cfg.load()
        state = ServerState()
        state.default_headers = [(b'date', b'Sat, 05 Dec 2026 10:00:00 GMT'), (b'server', b'uvicorn')]   # as uvicorn's server sets them
        p, sink = protocol(config=cfg, server_state=state, app_state={}, _loop=asyncio.get_running_loop()), Sink()
        p.connection_made(sink)
        for c, n in chunks:
            p.data_received(c)
            for _ in range(500):
                await asyncio.sleep(0.002)
                if len(_answers(sink.data)) >= n: break
        await asyncio.sleep(0.01)
        got, closed = _answers(sink.data), sink.closing
        p.connection_lost(None)
        assert sink.writes == len(got), (sink.writes, len(got))   # one write per answer
        return got, closed
    (tmp_path/'a').mkdir(); (tmp_path/'d').mkdir()
    sm, [(svc_a, app_a), _] = _grouped_and_one_by_one(exported_model, tmp_path/'a')
    _, [(svc_d, app_d), _] = _grouped_and_one_by_one(exported_model, tmp_path/'d')
    bars, reqs = _group_case(sm)
    pos = reqs[0]
    bad = dict(pos, position={**pos['position'], 'side': 'up'})
    one = lambda r, **kw: _raw('/v1/decide/position', r, **kw)
    cases = [   # (name, reads of one connection with the answers expected by then, ASGI calls on the direct protocol)
        ('bars', [(_raw('/v1/bars', bars), 1)], 1),
        ('keep-alive', [(one(r), k + 1) for k, r in enumerate(reqs[:3])], 0),   # each sent once the one before is answered
        ('refusals', [(one(bad), 1), (one(pos, key='wrong-key-0123456789'), 2), (one(reqs[3]), 3)], 2),   # pydantic's 422 and the 401
                                                                                                      # via the app; the engine's 422 direct
        ('pipelined', [(one(reqs[4]) + one(reqs[5]), 2)], 1),   # sent together: the second waits its turn, the ASGI way
        ('two reads', [(one(reqs[6])[:-25], 0), (one(reqs[6])[-25:], 1)], 0),
        ('close', [(one(reqs[8], head='connection: close\r\n'), 1)], 0),
        ('http/1.0', [(one(reqs[10], version='1.0'), 1)], 0),
        ('expect', [(one(reqs[11], head='expect: 100-continue\r\n'), 2)], 1),   # 100 Continue, then the answer
    ]
    norm = lambda a: ([l for l in a[0].split(b'\r\n') if not l.startswith(b'date: ')],
                      {k: v for k, v in json.loads(a[1]).items() if k != 'audit_hash'} if a[1] else a[1])
    async def run(app, protocol):
        app = Counting(app)
        out = []
        for name, chunks, _ in cases:
            before = len(app.calls)
            got, closed = await exchange(app, protocol, chunks)
            out.append((name, [norm(a) for a in got], closed, len(app.calls) - before))
        return out
    want, got = asyncio.run(run(app_a, coalescing_protocol())), asyncio.run(run(app_d, direct_protocol()))
    for (name, w, wc, _), (_, g, gc, calls), (_, chunks, direct_calls) in zip(want, got, cases):
        assert len(w) == chunks[-1][1] and g == w and gc == wc, name   # the same answers, in order, and the same connections closed
        assert calls == direct_calls, (name, calls)        # which requests reached the ASGI app
    statuses = [h[0] for _, answers, _, _ in got for h, _ in answers]
    assert statuses.count(b'HTTP/1.1 200 OK') == 10 and statuses.count(b'HTTP/1.1 422 Unprocessable Entity') == 2, statuses
    assert [c for n, _, c, _ in got] == [False] * 5 + [True, True, False]   # `connection: close` and HTTP/1.0 end the connection
    assert [b'connection: close' in h for _, answers, _, _ in got[5:7] for h, _ in answers] == [True, True]
    assert all(b'server: uvicorn' in lines for _, answers, _, _ in got for lines, body in answers if body != b''), got   # the server's headers too
    rec = lambda svc: [(r.kind, r.payload) for r in svc.audit.records()]
    assert rec(svc_a) == rec(svc_d) and svc_d.audit.verify().ok
    # a bug in the decision group: a 500 and the connection closed, as uvicorn does when the ASGI app raises after answering
    def broken(*a, **k): raise KeyError('bug')
    monkeypatch.setattr(ServiceHTTP, 'answer_each', broken)
    async def bug(app, protocol): return await exchange(app, protocol, [(one(pos), 1)])
    (wa, wclosed), (ga, gclosed) = asyncio.run(bug(app_a, coalescing_protocol())), asyncio.run(bug(app_d, direct_protocol()))
    strip = lambda a: [l for l in a[0].split(b'\r\n') if not l.startswith(b'date: ')]
    assert [strip(a) for a in ga] == [strip(a) for a in wa] and ga[0][1] == wa[0][1] == b'Internal Server Error'
    assert gclosed and wclosed and ga[0][0].startswith(b'HTTP/1.1 500 ')
