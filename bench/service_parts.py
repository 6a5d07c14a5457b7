"""Where a stream decision's CPU goes, by part: thread CPU of each wrapped function, per decision, in process.

    PYTHONPATH=$PWD python bench/service_parts.py --model DIR [--n 4000] [--c 16] [--group 1|0]

The service as bench/service_profile.py builds it (audit synchronous=NORMAL), the stream mix (one position per request, a bar
post per 20), the decision requests between two bar posts sent --c at a time; --group 0 answers them one by one (no decision
groups). Parts nest (decide_each holds PositionView, _finish, ...; _finish holds AuditLog.append, the observers, ...); the
wrapping itself adds a little to each.
"""
import sys, time, os, asyncio, argparse, functools
from pathlib import Path as _P
sys.path.insert(0, str(_P(__file__).resolve().parent))
import service_profile as sp
from pathlib import Path
os.environ['RISKRL_API_KEYS'] = sp.KEY
from riskrl_nb.serve import http, engine, features, audit as au, alerts, dashboard
acc = {}
def wrap(owner, name, label=None):
    f = getattr(owner, name); label = label or f"{getattr(owner,'__name__',owner)}.{name}"
    @functools.wraps(f)
    def w(*a, **k):
        t = time.thread_time_ns()
        try: return f(*a, **k)
        finally: acc[label] = acc.get(label, 0) + time.thread_time_ns() - t
    setattr(owner, name, w)
for owner, name in [(features, 'PositionView'), (engine.DecisionService, '_finish'), (engine.DecisionService, '_pre_model'),
                    (engine.DecisionService, '_from_model'), (engine.DecisionService, '_limits_after'), (engine.DecisionService, '_book'),
                    (engine.DecisionService, '_check_time'), (au.AuditLog, 'append'), (au.AuditLog, 'commit'), (http, 'log_fields'),
                    (http, 'key_id'), (engine.DecisionService, 'decide_each'), (http.FastJSON, 'render'), (engine.DecisionService, 'append_bars'),
                    (au, 'canonical_json')]:
    wrap(owner, name)
engine.PositionView = features.PositionView
http.ServiceHTTP.__init__  # noqa
ap = argparse.ArgumentParser(); ap.add_argument('--model'); ap.add_argument('--n', type=int, default=4000); ap.add_argument('--c', type=int, default=16)
ap.add_argument('--group', type=int, default=1)
a = ap.parse_args()
import tempfile
work = Path(tempfile.mkdtemp())
(work/'limits.yaml').write_text('max_bar_age_bars: null\n')
ns = argparse.Namespace(model=a.model, audit=str(work/'audit.db'), limits=str(work/'limits.yaml'), host='127.0.0.1', port=0, audit_synchronous='NORMAL')
svc, keys = http.build_service(ns)
app = http.create_app(svc, keys, logger=http.json_logger(stream=open(os.devnull, 'w')), group_decisions=bool(a.group))
# observers and listeners: each wrapped to add its thread CPU time under its own name
def timed(f, name):
    def w(*x):
        t = time.thread_time_ns(); f(*x); acc[name] = acc.get(name, 0) + time.thread_time_ns() - t
    return w
for i, f in enumerate(svc.observers): svc.observers[i] = timed(f, f'observer{i}:{getattr(f, "__qualname__", f)}')
for i, f in enumerate(svc.listeners): svc.listeners[i] = timed(f, f'listener{i}')
pol = svc.champion.policy
orig = pol.act
def act(o, m):
    t = time.thread_time_ns(); r = orig(o, m); acc['policy.act'] = acc.get('policy.act', 0) + time.thread_time_ns() - t; return r
pol.act = act
call = sp.asgi_caller(app)
setup, reqs = sp.stream_bodies(Path(a.model), 'stream', a.n)
async def go():
    await sp.run_requests(call, setup); await sp.run_requests(call, reqs[:200], a.c)
    acc.clear()
    c0 = time.process_time(); nd = await sp.run_requests(call, reqs[200:], a.c); return nd, time.process_time() - c0
nd, cpu = asyncio.run(go())
print(f"c={a.c} group={a.group}: {nd} decisions, CPU {cpu/nd*1e6:.0f} us per decision, load {os.getloadavg()[0]:.1f}")
for k, v in sorted(acc.items(), key=lambda x: -x[1]): print(f"  {k:<45} {v/1e3/nd:7.1f} us/decision")
