"""Real-browser checks: report.html, the quantstats tearsheet and the docs home page, opened in headless Chromium.

Playwright drives the system Chromium (Debian's `chromium`, installed by .ci/run; never Playwright's
own browser download) with a fresh profile and no network services. Each page must load with no
console error, no uncaught exception, no failed request, and every <img> decoded; its screenshot is
kept in test-artifacts/ (or $RISKRL_TEST_ARTIFACTS) for a person to look at. Without Chromium the test
skips with the reason, except in CI (CI=true), where it must run.
"""
import os, shutil, subprocess, sys
from pathlib import Path
import pytest

ROOT = Path(__file__).resolve().parents[1]
ARTIFACTS = Path(os.environ.get('RISKRL_TEST_ARTIFACTS', ROOT/'test-artifacts'))
CHROMIUM = shutil.which('chromium') or shutil.which('chromium-browser')
FLAGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
         '--disable-component-update', '--disable-sync']


def _browser_or_skip():
    try: import playwright.sync_api  # noqa: F401
    except ImportError: playwright_missing = 'playwright (a dev dependency) is not installed'
    else: playwright_missing = None
    why = playwright_missing or (None if CHROMIUM else 'no chromium on the PATH (apt-get install chromium)')
    if why:
        if os.environ.get('CI') == 'true': pytest.fail(f'CI=true but the browser check cannot run: {why}')
        pytest.skip(why)


@pytest.fixture(scope='module')
def browser(tmp_path_factory):
    _browser_or_skip()
    from playwright.sync_api import sync_playwright
    profile = tmp_path_factory.mktemp('chromium-profile')
    with sync_playwright() as p:
        ctx = p.chromium.launch_persistent_context(str(profile), executable_path=CHROMIUM, headless=True, args=FLAGS,
                                                   viewport={'width': 1280, 'height': 900}, offline=True)
        yield ctx
        ctx.close()


def check_page(ctx, path: Path, shot: str, min_images: int = 0, min_svgs: int = 0) -> dict:
    "Open file `path`; assert no console error, no failed request, every image decoded; save a screenshot."
    page = ctx.new_page()
    errors, failed = [], []
    page.on('console', lambda m: errors.append(f'console.{m.type}: {m.text}') if m.type == 'error' else None)
    page.on('pageerror', lambda e: errors.append(f'uncaught: {e}'))
    page.on('requestfailed', lambda r: failed.append(f'{r.url[:120]} ({r.failure})'))
    page.goto(path.resolve().as_uri(), wait_until='load')
    page.wait_for_load_state('networkidle')
    info = page.evaluate("""() => ({
        images: document.images.length,
        broken: [...document.images].filter(i => !i.complete || i.naturalWidth === 0).map(i => i.src.slice(0, 100)),
        svgs: document.querySelectorAll('svg').length,
        title: document.title, text: document.body.innerText.length})""")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS/f'{shot}.png'), full_page=False)
    page.screenshot(path=str(ARTIFACTS/f'{shot}-full.png'), full_page=True)
    page.close()
    assert not errors, f'{path.name}: {errors}'
    assert not failed, f'{path.name}: failed requests {failed}'
    assert not info['broken'], f"{path.name}: images not loaded {info['broken']}"
    assert info['images'] >= min_images and info['svgs'] >= min_svgs, (path.name, info)
    assert info['text'] > 500, (path.name, info)
    return info


@pytest.fixture(scope='module')
def report_dir(tmp_path_factory):
    "report.html and tearsheet.html of the rule baselines on BTC 2023 (no training: the agent is a stand-in)."
    out = tmp_path_factory.mktemp('report')
    code = f"""
from riskrl_nb.core.config import CostConfig, EnvConfig
from riskrl_nb.data.candles import load_bundled, period_slice
from riskrl_nb.data.entries import ema_cross_entries
from riskrl_nb.sim.execution import Market, Simulation, run_backtest
from riskrl_nb.sim.rules import FixedTpSl, AtrTrailing, HoldToHorizon, Oracle
from riskrl_nb.eval.evaluation import policy_metrics, _clean
from riskrl_nb.eval.report import write_report
btc = load_bundled('BTC', '1h'); mk = Market.from_candles(btc); p = period_slice(btc, '2023-01-01', '2023-12-31')
sim = Simulation(mk, ema_cross_entries(btc), CostConfig(), EnvConfig())
res = {{pol.name: run_backtest(sim, pol, p.start, p.stop) for pol in [FixedTpSl(), AtrTrailing(), HoldToHorizon(48), Oracle()]}}
res['agent'] = res.pop('hold_to_horizon'); res['agent'].name = 'agent'
m = _clean({{'data': dict(path='BTC.csv.gz', symbol='BTC', interval='1h', start='2023-01-01T00:00:00Z', end='2023-12-31T23:00:00Z',
             bars=p.stop - p.start), 'costs': dict(fee_rate=0.001, slippage_bps=5.0), 'policies': {{n: policy_metrics(r, sim) for n, r in res.items()}}}})
write_report(res, m, {str(out)!r}, market=mk)
"""
    r = subprocess.run([sys.executable, '-c', code], capture_output=True, text=True, cwd=ROOT, env=dict(os.environ, MPLBACKEND='Agg'))
    assert r.returncode == 0, r.stderr[-3000:]
    return out


def test_report_and_tearsheet_in_chromium(browser, report_dir):
    check_page(browser, report_dir/'report.html', 'report', min_images=2)
    check_page(browser, report_dir/'tearsheet.html', 'tearsheet', min_svgs=5)   # quantstats' figures are inline SVG
    assert 'the best tuned exit rule' in (report_dir/'tearsheet.html').read_text()


def test_docs_home_in_chromium(browser, tmp_path):
    sys.path.insert(0, str(ROOT/'scripts'))
    import build_docs
    out = tmp_path/'site'
    build_docs.build(out, execute=False, only=['no-notebook'], jobs=1, cache=False)   # the home page, DEVELOPING, CONTRACT
    check_page(browser, out/'index.html', 'docs-index', min_images=1)
    check_page(browser, out/'DEVELOPING.html', 'docs-developing')


def test_a_broken_page_is_caught(browser, tmp_path):
    "The checks can fail: a missing image, a script error and a failed request are each reported."
    bad = tmp_path/'bad.html'
    bad.write_text('<html><body><p>' + 'x' * 600 + '</p><img src="missing.png"><script>undefined_fn()</script></body></html>')
    with pytest.raises(AssertionError, match='undefined_fn|missing.png'):
        check_page(browser, bad, 'broken-example')
