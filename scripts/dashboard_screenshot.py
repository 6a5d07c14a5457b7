"""Screenshot of the live dashboard during a replay (the picture in the docs: docs/images/dashboard.png).

    python scripts/dashboard_screenshot.py --model DIR [--start 2023-03-01 --end 2023-04-30] [--decisions 60] [--out docs/images/dashboard.png]

Runs `replay` (nbs/67_replay.ipynb) of an exported model through the decision service at --speed times real time, opens
/dashboard in the system Chromium (Playwright, as tests/test_dashboard.py does), waits until it shows --decisions
decisions and takes the screenshot; then stops the replay.
"""
import argparse, shutil, sys, tempfile, threading
from pathlib import Path

FLAGS = ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking', '--disable-sync']


class Seen(Exception): pass


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--model', required=True, help='exported model folder')
    ap.add_argument('--start', default='2023-03-01'); ap.add_argument('--end', default='2023-04-30')
    ap.add_argument('--speed', type=float, default=36_000, help='times real time (36000: an hourly bar in 0.1 s)')
    ap.add_argument('--decisions', type=int, default=60, help='take the screenshot once the page shows this many decisions')
    ap.add_argument('--out', default='docs/images/dashboard.png')
    args = ap.parse_args()
    from playwright.sync_api import sync_playwright
    from riskrl_nb.serve.replay import replay
    work = Path(tempfile.mkdtemp(prefix='riskrl-dash-'))
    (work/'limits.yaml').write_text('max_bar_age_bars: null\n')
    started, done, out = threading.Event(), threading.Event(), {}
    def stop(d):
        if done.is_set(): raise Seen()
    def run():
        try: out['result'] = replay(args.model, start=args.start, end=args.end, audit=work/'audit.db', limits=work/'limits.yaml', speed=args.speed,
                                    on_start=lambda url: (out.update(url=url), started.set()), on_decision=stop)
        except Seen: pass
        except BaseException as e: out['error'] = e
        finally: started.set()
    t = threading.Thread(target=run, daemon=True); t.start()
    started.wait(600)
    if 'url' not in out: sys.exit(f"the replay did not start: {out.get('error')}")
    with sync_playwright() as p:
        ctx = p.chromium.launch_persistent_context(str(work/'profile'), executable_path=shutil.which('chromium'), headless=True, args=FLAGS,
                                                   viewport={'width': 1400, 'height': 1000})
        page = ctx.new_page()
        page.goto(out['url'] + '/dashboard')
        page.wait_for_function("n => +document.getElementById('k-n').textContent >= n", arg=args.decisions, timeout=600_000)
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=args.out, full_page=False)   # the first screen: what a person sees
        ctx.close()
    done.set(); t.join(60)
    print(f"wrote {args.out} ({out['url']}/dashboard after {args.decisions} decisions)")


if __name__ == '__main__':
    main()
