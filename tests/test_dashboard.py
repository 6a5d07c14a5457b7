"""The live dashboard in headless Chromium while a replay runs through the decision service.

`riskrl replay`'s engine (`replay(...)`, nbs/67_replay.ipynb) serves the decision service on loopback with its clock at each
replayed bar's close, paced at `speed` times real time; the page at /dashboard must show decisions arriving over its
event stream and the P&L moving, with no console error and no failed request. The browser is the system Chromium
driven by Playwright, exactly as in tests/test_browser.py (skips without it, fails with CI=true). The screenshot is kept
in $RISKRL_TEST_ARTIFACTS (docs/images/dashboard.png is a copy of one).
"""
import threading
import pytest
from test_browser import ARTIFACTS, CHROMIUM, FLAGS, _browser_or_skip

class Seen(Exception): pass


WIDE = 'max_position_loss: 1.0\nmax_drawdown: 1.0\nmax_position_exposure: 1000\nmax_portfolio_exposure: 1000\n'


def test_dashboard_moves_during_a_replay(exported_model, tmp_path):
    _browser_or_skip()
    from playwright.sync_api import sync_playwright
    from riskrl_nb.serve.replay import replay
    (tmp_path/'wide.yaml').write_text(WIDE)
    started, done, out = threading.Event(), threading.Event(), {}
    def stop_when_done(d):
        if done.is_set(): raise Seen()   # the browser has seen enough: end the replay (and its service) early
    def run():
        try:
            out['result'] = replay(exported_model, start='2023-03-01', end='2023-04-30', audit=tmp_path/'replay.db', limits=tmp_path/'wide.yaml',
                                   speed=72_000, on_start=lambda url: (out.update(url=url), started.set()), on_decision=stop_when_done)
        except Seen: out['stopped'] = True   # an hourly bar in 0.05 s: two months would take 72 s
        except BaseException as e: out['error'] = e
        finally: started.set()
    t = threading.Thread(target=run, daemon=True); t.start()
    assert started.wait(300) and 'url' in out, out.get('error')
    errors, failed = [], []
    with sync_playwright() as p:
        ctx = p.chromium.launch_persistent_context(str(tmp_path/'profile'), executable_path=CHROMIUM, headless=True, args=FLAGS,
                                                   viewport={'width': 1400, 'height': 1000})
        page = ctx.new_page()
        page.on('console', lambda m: errors.append(f'console.{m.type}: {m.text}') if m.type == 'error' else None)
        page.on('pageerror', lambda e: errors.append(f'uncaught: {e}'))
        page.on('requestfailed', lambda r: failed.append(f'{r.url[:120]} ({r.failure})'))
        page.goto(out['url'] + '/dashboard', wait_until='load')
        page.wait_for_selector('#conn.live', timeout=20_000)
        page.wait_for_selector('#decisions tr[data-seq]', timeout=60_000)              # a decision row appears
        pnl, rows = page.text_content('#k-pnl'), page.locator('#decisions tr[data-seq]').count()
        page.wait_for_function("t => document.getElementById('k-pnl').textContent !== t", arg=pnl, timeout=60_000)   # the P&L moves
        page.wait_for_function("n => document.querySelectorAll('#decisions tr[data-seq]').length > n", arg=max(rows, 3), timeout=90_000)
        info = page.evaluate("""() => ({paths: document.querySelectorAll('#chart path').length,
            regime: document.getElementById('k-regime').textContent, n: document.getElementById('k-n').textContent,
            breakers: document.querySelectorAll('#breakers tr').length, first: document.querySelector('#decisions tr[data-seq]').innerText})""")
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(ARTIFACTS/'dashboard.png'), full_page=True)
        assert not errors, errors
        assert not failed, failed
        page.close(); ctx.close()
    done.set(); t.join(120)
    assert 'error' not in out and ('stopped' in out or out['result'].audit_ok), out
    from riskrl_nb.serve.audit import open_audit
    log = open_audit(tmp_path/'replay.db')
    assert log.verify().ok and len(list(log.records(kind='decision'))) >= 4
    assert info['paths'] >= 2 and info['regime'] in ('calm', 'normal', 'turbulent') and int(info['n']) >= 2, info
    assert info['breakers'] >= 1 and any(a in info['first'] for a in ('hold', 'close_tp', 'close_sl')), info
    assert pnl not in ('', '–'), pnl                                                # a number, not the placeholder
