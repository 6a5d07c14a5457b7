"""Scaling with data size: peak memory and time for 1x, 4x and 16x a year of hourly bars, in-RAM vs memory-mapped.

    .venv/bin/python bench/scaling.py [--sizes 1 4 16] [--out docs/results/scaling.md]

A year of BTC hourly bars (the last 8,760 bundled ones) is tiled 1, 4 and 16 times (each copy's timestamps shifted
after the previous one and its prices scaled to continue from the last close) into candle files. Each measurement
runs in a fresh child process, its peak resident memory reset after the imports and a warm-up (the figure is
the peak during the step minus the memory before it):
  features, in RAM    load_candles + compute_features (the whole file and its float64 features in memory)
  features, streamed  stream_features: chunks of a year, features appended to a float32 memory map (data.memmap)
  evaluation          `evaluate` of a tiny model over every bar of the file (report on), CPU seconds per stage
Ratios are against the 1x run of the same measurement, in the same invocation; the exponent is
log(t_16x / t_1x) / log(16): 1 = linear in bars, below 1 = sub-linear. Distributed rollouts (steps/s vs Ray
workers) are not measured here (not built yet).
"""
import argparse, collections, functools, json, math, os, subprocess, sys, tempfile, time, warnings
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT/'bench'))
YEAR = 8760


def rss_mb() -> float:
    "Current resident memory of this process, MB."
    with open('/proc/self/statm') as f: return int(f.read().split()[1]) * os.sysconf('SC_PAGE_SIZE') / 2**20


def reset_peak():
    "Reset this process's peak resident memory (Linux: clear_refs 5), so that the peak is the measured step's."
    with open('/proc/self/clear_refs', 'w') as f: f.write('5')


def peak_mb() -> float:
    "Peak resident memory of this process since the last reset, MB (VmHWM)."
    with open('/proc/self/status') as f:
        return next(int(l.split()[1]) for l in f if l.startswith('VmHWM:')) / 1024


def tiled_file(times: int, folder: Path) -> Path:
    "The last year of BTC hourly, `times` copies end to end, as a candle CSV."
    import pandas as pd
    from riskrl_nb.data.candles import load_bundled, write_candles
    year = load_bundled('BTC', '1h').iloc[-YEAR:]
    parts, scale, shift = [], 1.0, pd.Timedelta(0)
    span = year.index[-1] - year.index[0] + pd.Timedelta('1h')
    for k in range(times):
        p = year.copy(); p.index = p.index + shift
        p[['open', 'high', 'low', 'close']] *= scale
        parts.append(p); scale = float(p['close'].iloc[-1] / year['open'].iloc[0]); shift += span
    df = pd.concat(parts); df.attrs = {}
    return write_candles(df, folder/f'BTC-1h-x{times}.csv')


def child(kind: str, path: str, model: str | None) -> dict:
    "One measurement in this (fresh) process."
    warnings.simplefilter('ignore')
    import numpy as np, pandas as pd
    from riskrl_nb.core.config import FeatureConfig
    from riskrl_nb.data.candles import load_candles
    from riskrl_nb.data.features import compute_features
    from riskrl_nb.data.memmap import stream_features, read_table
    import riskrl_nb.eval.evaluation as ev, riskrl_nb.eval.report as rp
    compute_features(load_candles(path).iloc[:2000], FeatureConfig(cache=False))   # pandas-ta/numba warm-up, not measured
    import gc; gc.collect(); reset_peak()
    base, t0, c0, stages = rss_mb(), time.perf_counter(), time.process_time(), {}
    cfg = FeatureConfig(cache=False)
    if kind == 'features-ram':
        f = compute_features(load_candles(path), cfg); total = float(np.nansum(f.to_numpy()))
    elif kind == 'features-stream':
        out = Path(tempfile.mkdtemp())/'f.npy'
        f = read_table(stream_features(path, out, cfg, chunk_rows=YEAR)); total = float(np.nansum(f.to_numpy(), dtype='float64'))
    elif kind == 'evaluation':
        T = collections.defaultdict(float)
        def timed(fn, label):
            @functools.wraps(fn)
            def g(*a, **k):
                t = time.process_time()
                try: return fn(*a, **k)
                finally: T[label] += time.process_time() - t
            return g
        for n in ['backtest_all', 'policy_metrics']: setattr(ev, n, timed(getattr(ev, n), n))
        for n in ['write_tearsheet', 'plot_equity', 'plot_trades']: setattr(rp, n, timed(getattr(rp, n), n))
        from riskrl_nb.core.config import resolve
        for k, fn in list(ev.SECTIONS.items()): ev.SECTIONS[k] = timed(resolve(fn), f'section {k}')
        ev.compute_features = timed(ev.compute_features, 'features')
        df = load_candles(path)
        m = ev.evaluate(model, data_path=path, out_dir=Path(tempfile.mkdtemp())/'e', start=str(df.index[0].date()),
                        end=str(df.index[-1].date()))
        stages, total = dict(T), m['data']['bars']
    return dict(kind=kind, wall=time.perf_counter() - t0, cpu=time.process_time() - c0, mem=max(0.0, peak_mb() - base),
                base=base, check=total, stages=stages)


def run_child(kind, path, model=None) -> dict:
    cmd = [sys.executable, __file__, '--child', kind, str(path)] + (['--model', str(model)] if model else [])
    r = subprocess.run(cmd, capture_output=True, text=True, env=dict(os.environ, PYTHONWARNINGS='ignore'))
    if r.returncode: raise SystemExit(f"{kind} {path} failed:\n{r.stderr[-3000:]}")
    return json.loads(r.stdout.strip().splitlines()[-1])


def exponent(a, b, ratio): return math.log(max(b, 1e-9) / max(a, 1e-9)) / math.log(ratio)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--sizes', nargs='+', type=int, default=[1, 4, 16], help='multiples of a year of hourly bars')
    ap.add_argument('--model', help='model folder to evaluate (a tiny one is trained if omitted)')
    ap.add_argument('--out', help='also write the tables (markdown) to this file')
    ap.add_argument('--child', nargs=2, metavar=('KIND', 'PATH'), help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        print(json.dumps(child(*args.child, args.model))); return
    warnings.simplefilter('ignore')
    tmp = Path(tempfile.mkdtemp())
    files = {n: tiled_file(n, tmp) for n in args.sizes}
    model = args.model
    if not model:
        from riskrl_nb.core.config import load_config
        from riskrl_nb.agents.training import train
        from inference import TINY
        model = str(train(load_config(overrides=TINY), tmp/'model', progress=False, verbose=False))
    lines, t0 = [], time.time()
    say = lambda s='': (print(s, flush=True), lines.append(s))
    say(f"`python bench/scaling.py --sizes {' '.join(map(str, args.sizes))}`: {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, "
        f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f} at the start")
    say()
    say("| measurement | size | bars | wall s | CPU s | peak memory above imports, MB | time ratio vs 1x | memory ratio vs 1x |")
    say("|---|---|---|---|---|---|---|---|")
    res = {}
    for kind in ['features-ram', 'features-stream', 'evaluation']:
        for n in args.sizes:
            r = res[kind, n] = run_child(kind, files[n], model if kind == 'evaluation' else None)
            ref = res[kind, args.sizes[0]]
            say(f"| {kind} | {n}x | {n * YEAR:,} | {r['wall']:.2f} | {r['cpu']:.2f} | {r['mem']:.1f} | "
                f"{r['cpu'] / max(ref['cpu'], 1e-9):.2f} | {r['mem'] / max(ref['mem'], 1e-9):.2f} |")
    a, b = args.sizes[0], args.sizes[-1]
    say(); say(f"Growth exponents from {a}x to {b}x (1 = linear in bars):"); say()
    say("| measurement | CPU-time exponent | memory exponent |"); say("|---|---|---|")
    for kind in ['features-ram', 'features-stream', 'evaluation']:
        say(f"| {kind} | {exponent(res[kind, a]['cpu'], res[kind, b]['cpu'], b / a):.2f} | "
            f"{exponent(res[kind, a]['mem'], res[kind, b]['mem'], b / a):.2f} |")
    say(); say(f"Evaluation, CPU seconds per stage ({a}x and {b}x) and exponent:"); say()
    say(f"| stage | {a}x s | {b}x s | exponent |"); say("|---|---|---|---|")
    sa, sb = res['evaluation', a]['stages'], res['evaluation', b]['stages']
    for k in sorted(sb, key=lambda k: -sb[k]):
        if sb[k] < 0.01: continue
        say(f"| {k} | {sa.get(k, 0):.3f} | {sb[k]:.3f} | {exponent(sa.get(k, 0), sb[k], b / a):.2f} |")
    say(); say(f"(whole run {time.time() - t0:.0f} s)")
    if args.out: Path(args.out).write_text('# Scaling with data size\n\n' + __doc__.split('\n\n', 1)[1] + '\n' + '\n'.join(lines) + '\n')


if __name__ == '__main__':
    main()
