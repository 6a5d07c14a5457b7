"""Scaling with data size: peak memory and time for 1x, 4x and 16x a year of hourly bars, in-RAM vs memory-mapped.

    .venv/bin/python bench/scaling.py [--sizes 1 4 16] [--parts features evaluation training rollouts] [--out FILE]

A year of BTC hourly bars (the last 8,760 bundled ones) is tiled 1, 4 and 16 times (each copy's timestamps shifted
after the previous one and its prices scaled to continue from the last close) into candle files. Each measurement
runs in a fresh child process, its peak resident memory reset after the imports and a warm-up (the figure is
the peak during the step minus the memory before it):
  features, in RAM    load_candles + compute_features (the whole file and its float64 features in memory)
  features, streamed  stream_features: chunks of a year, features appended to a float32 memory map (data.memmap)
  evaluation          `evaluate` of a tiny model over every bar of the file (report on), CPU seconds per stage
  training            MaskablePPO on the batched env over every bar of the file: the data preparation (features,
                      scaler, env arrays) and `learn`'s env-steps per wall and CPU second after a warm-up
Ratios are against the 1x run of the same measurement, in the same invocation; the exponent is
log(t_16x / t_1x) / log(16): 1 = linear in bars, below 1 = sub-linear.
  rollouts            (part `rollouts`, one process, the 1x year) env-steps per second of N accounts of the batched
                      env in this process (the reference) and over 1, 2 and 4 rollout workers (`ActorVecEnv`: Ray
                      actors on a local Ray instance, and its in-process backend), actions drawn among the valid
                      ones from the masks that come with the observations; then MaskablePPO `learn` on the local
                      batched env vs the Ray workers. CPU seconds count this process and the actors' processes.
"""
import argparse, collections, functools, json, math, os, subprocess, sys, tempfile, time, warnings
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT/'bench'))
YEAR = 8760
TRAIN_STEPS = 8192
PARTS = ['features', 'evaluation', 'training', 'rollouts']


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
    elif kind == 'training':
        return child_training(path, int(os.environ.get('SCALING_TRAIN_STEPS', TRAIN_STEPS)))
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


def training_config(path: str, steps_per_rollout: bool = False):
    "The default training config on candle file `path`: everything but its last 60 days trains, then 30 days each valid and test."
    import pandas as pd
    from riskrl_nb.core.config import load_config
    from riskrl_nb.data.candles import load_candles
    idx = load_candles(path).index
    d = lambda t: str(t.date())
    end = idx[-1]
    return load_config(overrides=dict(
        data=dict(paths=[path], train_start=d(idx[0]), train_end=d(end - pd.Timedelta(days=61)), valid_start=d(end - pd.Timedelta(days=60)),
                  valid_end=d(end - pd.Timedelta(days=31)), test_start=d(end - pd.Timedelta(days=30)), test_end=d(end)),
        features=dict(cache=False), env=dict(batched=True), train=dict(n_envs=4, n_steps=512, batch_size=256, n_epochs=10)))


def learn_rate(cfg, prepared, steps: int, warmup: int = 1024, vec=None) -> dict:
    "env-steps per wall and per CPU second (this process) of MaskablePPO `learn` after a warm-up run."
    from riskrl_nb.agents.algos import get_algo
    from riskrl_nb.agents.training import make_train_env
    vec = vec or make_train_env(cfg, prepared)
    model = get_algo(cfg.train.algo).make(cfg, vec)
    model.learn(warmup)
    t, c, n0 = time.perf_counter(), time.process_time(), model.num_timesteps
    model.learn(steps, reset_num_timesteps=False)   # whole rollouts: n_envs x n_steps at a time
    return dict(wall=time.perf_counter() - t, cpu=time.process_time() - c, steps=int(model.num_timesteps - n0), vec=vec)


def child_training(path: str, steps: int) -> dict:
    from riskrl_nb.sim.prepare import prepare_data, load_frames
    import torch; torch.set_num_threads(1)
    from riskrl_nb.data.candles import load_candles
    cfg = training_config(path)
    learn_rate(cfg, prepare_data([load_candles(path).iloc[-3000:]], cfg)[0], 256, 256)   # warm-up: imports, numba, torch
    import gc; gc.collect(); reset_peak()
    base, t0, c0 = rss_mb(), time.perf_counter(), time.process_time()
    prepared, _ = prepare_data(load_frames(cfg), cfg)
    prep_wall, prep_cpu = time.perf_counter() - t0, time.process_time() - c0
    r = learn_rate(cfg, prepared, steps)
    return dict(kind='training', wall=time.perf_counter() - t0, cpu=time.process_time() - c0, mem=max(0.0, peak_mb() - base), base=base,
                check=int(prepared[0].periods['train'][1] - prepared[0].periods['train'][0]),
                stages=dict(prepare_wall=prep_wall, prepare_cpu=prep_cpu, learn_wall=r['wall'], learn_cpu=r['cpu'], steps=r['steps']))


def proc_cpu(pid: int) -> float:
    "CPU seconds (user + system) of process `pid` so far."
    with open(f'/proc/{pid}/stat') as f: fields = f.read().rsplit(')', 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf('SC_CLK_TCK')


def step_rate(venv, calls: int, pids=()) -> dict:
    "Account-steps per wall second and per CPU second (this process + `pids`) of `calls` steps, actions among the valid ones."
    import numpy as np
    rng = np.random.default_rng(0)
    venv.seed(0); venv.reset()
    def go(n):
        for _ in range(n):
            m = np.stack(venv.env_method('action_masks'))
            venv.step(np.argmax(m * rng.random(m.shape), axis=1))   # a random valid action per account
    go(20)   # warm-up
    cpu = lambda: time.process_time() + sum(proc_cpu(p) for p in pids)
    t, c = time.perf_counter(), cpu()
    go(calls)
    wall, used = time.perf_counter() - t, cpu() - c
    return dict(per_wall=calls * venv.num_envs / wall, per_cpu=calls * venv.num_envs / used, ms_per_call=1e3 * wall / calls)


def child_rollouts(path: str, accounts: list, workers: list, calls: int, ppo_steps: int) -> dict:
    "Rollout throughput rows (see the module's docstring), all in this process and its Ray actors."
    import numpy as np
    from riskrl_nb.sim.prepare import prepare_data, load_frames
    from riskrl_nb.sim.vec_env import BatchedPositionEnv
    from riskrl_nb.sim import ray_vec_env as rv
    import torch; torch.set_num_threads(1)
    cfg = training_config(path)
    prepared, _ = prepare_data(load_frames(cfg), cfg)
    data, period = prepared[0].data, prepared[0].periods['train']
    rows, t0 = [], time.time()
    from riskrl_nb.core.config import RiskrlError
    ray, ray_error = None, None
    sys.path.insert(0, str(ROOT/'tests')); from raystart import fast_ray_pythonpath
    os.environ['PYTHONPATH'] = fast_ray_pythonpath(Path(tempfile.mkdtemp())/'raystub')   # Ray's processes skip a 4.5 s import (tests/raystart.py)
    try:
        if workers: ray = rv.ray_connect(None, num_cpus=max(workers))[0]   # one local Ray instance for every row (its start is not measured)
    except RiskrlError as e: ray_error, workers = str(e), []               # the in-process rows still come
    for n in accounts:
        ref = step_rate(BatchedPositionEnv(data, period, cfg, n), calls)
        rows.append(dict(accounts=n, setup='local batched env (reference)', workers=0, **ref))
        local = rv.ActorVecEnv(rv.batched_workers(data, period, cfg, n, 1), backend='local')
        rows.append(dict(accounts=n, setup='ActorVecEnv, in-process backend', workers=1, **step_rate(local, calls)))
        for w in workers:
            venv = rv.ActorVecEnv(rv.batched_workers(data, period, cfg, n, w), backend='ray')
            pids = venv._get([x.pid.remote() for x in venv.workers])
            rows.append(dict(accounts=n, setup='ActorVecEnv, Ray actors', workers=w, **step_rate(venv, calls, pids)))
            venv.close()
    ppo = []
    if ppo_steps:
        from dataclasses import replace
        for w in [0] + [w for w in workers if w > 1][:1]:
            c = cfg if not w else replace(cfg, train=replace(cfg.train, vec_env='ray', rollout_workers=w))
            r = learn_rate(c, prepared, ppo_steps); r.pop('vec').close()
            ppo.append(dict(workers=w, per_wall=r['steps'] / r['wall'], per_cpu_learner=r['steps'] / r['cpu'], steps=r['steps']))
    if ray is not None: ray.shutdown()
    return dict(rows=rows, ppo=ppo, seconds=time.time() - t0, ray_error=ray_error)


def run_child(kind, path, model=None) -> dict:
    cmd = [sys.executable, __file__, '--child', kind, str(path)] + (['--model', str(model)] if model else [])
    r = subprocess.run(cmd, capture_output=True, text=True, env=dict(os.environ, PYTHONWARNINGS='ignore'))
    if r.returncode: raise SystemExit(f"{kind} {path} failed:\n{r.stderr[-3000:]}")
    return json.loads(r.stdout.strip().splitlines()[-1])


def exponent(a, b, ratio): return math.log(max(b, 1e-9) / max(a, 1e-9)) / math.log(ratio)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--sizes', nargs='+', type=int, default=[1, 4, 16], help='multiples of a year of hourly bars')
    ap.add_argument('--parts', nargs='+', default=PARTS, choices=PARTS, help='what to measure (default: all)')
    ap.add_argument('--model', help='model folder to evaluate (a tiny one is trained if omitted)')
    ap.add_argument('--accounts', nargs='+', type=int, default=[64, 1024], help='rollouts: accounts (n_envs) in all')
    ap.add_argument('--workers', nargs='*', type=int, default=[1, 2, 4], help='rollouts: Ray rollout workers (none: no Ray rows)')
    ap.add_argument('--calls', type=int, default=300, help='rollouts: timed steps (calls) per row')
    ap.add_argument('--ppo-steps', type=int, default=8192, help='rollouts: timed MaskablePPO steps, local batched env vs Ray workers (0: none)')
    ap.add_argument('--train-steps', type=int, default=TRAIN_STEPS, help='training: timed MaskablePPO steps per size')
    ap.add_argument('--out', help='also write the tables (markdown) to this file')
    ap.add_argument('--child', nargs=2, metavar=('KIND', 'PATH'), help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        if args.child[0] == 'rollouts':
            print(json.dumps(child_rollouts(args.child[1], args.accounts, args.workers, args.calls, args.ppo_steps))); return
        print(json.dumps(child(*args.child, args.model))); return
    warnings.simplefilter('ignore')
    os.environ['SCALING_TRAIN_STEPS'] = str(args.train_steps)   # to the training children
    tmp = Path(tempfile.mkdtemp())
    sizes = args.sizes if set(args.parts) - {'rollouts'} else [1]
    files = {n: tiled_file(n, tmp) for n in sorted(set(sizes) | {1})}
    model = args.model
    if not model and 'evaluation' in args.parts:
        from riskrl_nb.core.config import load_config
        from riskrl_nb.agents.training import train
        from inference import TINY
        model = str(train(load_config(overrides=TINY), tmp/'model', progress=False, verbose=False))
    lines, t0 = [], time.time()
    say = lambda s='': (print(s, flush=True), lines.append(s))
    cmd = ' '.join(sys.argv[1:])
    say(f"`python bench/scaling.py{' ' + cmd if cmd else ''}`: {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, "
        f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f} at the start")
    kinds = [k for k in ['features-ram', 'features-stream', 'evaluation', 'training']
             if k in args.parts or (k.startswith('features') and 'features' in args.parts)]
    res = {}
    if kinds:
        say()
        say("| measurement | size | bars | wall s | CPU s | peak memory above imports, MB | time ratio vs 1x | memory ratio vs 1x |")
        say("|---|---|---|---|---|---|---|---|")
    for kind in kinds:
        for n in args.sizes:
            r = res[kind, n] = run_child(kind, files[n], model if kind == 'evaluation' else None)
            ref = res[kind, args.sizes[0]]
            say(f"| {kind} | {n}x | {n * YEAR:,} | {r['wall']:.2f} | {r['cpu']:.2f} | {r['mem']:.1f} | "
                f"{r['cpu'] / max(ref['cpu'], 1e-9):.2f} | {r['mem'] / max(ref['mem'], 1e-9):.2f} |")
    a, b = args.sizes[0], args.sizes[-1]
    if kinds and b > a:
        say(); say(f"Growth exponents from {a}x to {b}x (1 = linear in bars):"); say()
        say("| measurement | CPU-time exponent | memory exponent |"); say("|---|---|---|")
        for kind in kinds:
            say(f"| {kind} | {exponent(res[kind, a]['cpu'], res[kind, b]['cpu'], b / a):.2f} | "
                f"{exponent(res[kind, a]['mem'], res[kind, b]['mem'], b / a):.2f} |")
    if 'evaluation' in kinds:
        say(); say(f"Evaluation, CPU seconds per stage ({a}x and {b}x) and exponent:"); say()
        say(f"| stage | {a}x s | {b}x s | exponent |"); say("|---|---|---|---|")
        sa, sb = res['evaluation', a]['stages'], res['evaluation', b]['stages']
        for k in sorted(sb, key=lambda k: -sb[k]):
            if sb[k] < 0.01: continue
            say(f"| {k} | {sa.get(k, 0):.3f} | {sb[k]:.3f} | {exponent(sa.get(k, 0), sb[k], b / a):.2f} |")
    if 'training' in kinds:
        say(); say(f"Training (MaskablePPO, batched env, 4 envs x 512 steps, 10 epochs; {args.train_steps} timed steps after a warm-up): "
                   "data preparation and env-steps per second of `learn`:"); say()
        say("| size | training bars | prepare wall s | prepare CPU s | learn steps / wall s | learn steps / CPU s | steps / CPU s vs 1x |")
        say("|---|---|---|---|---|---|---|")
        for n in args.sizes:
            r, st = res['training', n], res['training', n]['stages']
            u0 = res['training', a]['stages']['steps'] / res['training', a]['stages']['learn_cpu']
            say(f"| {n}x | {r['check']:,} | {st['prepare_wall']:.2f} | {st['prepare_cpu']:.2f} | {st['steps'] / st['learn_wall']:.0f} | "
                f"{st['steps'] / st['learn_cpu']:.0f} | {st['steps'] / st['learn_cpu'] / u0:.2f} |")
    if 'rollouts' in args.parts:
        cmd = [sys.executable, __file__, '--child', 'rollouts', str(files[1]), '--accounts', *map(str, args.accounts),
               '--workers', *map(str, args.workers), '--calls', str(args.calls), '--ppo-steps', str(args.ppo_steps)]
        r = subprocess.run(cmd, capture_output=True, text=True, env=dict(os.environ, PYTHONWARNINGS='ignore'))
        if r.returncode: raise SystemExit(f"rollouts failed:\n{r.stderr[-3000:]}")
        ro = json.loads(r.stdout.strip().splitlines()[-1])
        say(); say(f"Rollouts (1x year, {args.calls} timed steps per row): account-steps per second; CPU counts this process "
                   "and the Ray actors; ratios against the local batched env with the same accounts:"); say()
        say("| accounts | setup | workers | steps / wall s | steps / CPU s | ms per step call | wall ratio | CPU ratio |")
        say("|---|---|---|---|---|---|---|---|")
        for row in ro['rows']:
            ref = next(x for x in ro['rows'] if x['accounts'] == row['accounts'] and x['workers'] == 0)
            say(f"| {row['accounts']} | {row['setup']} | {row['workers'] or '-'} | {row['per_wall']:,.0f} | {row['per_cpu']:,.0f} | "
                f"{row['ms_per_call']:.2f} | {row['per_wall'] / ref['per_wall']:.2f} | {row['per_cpu'] / ref['per_cpu']:.2f} |")
        if ro.get('ray_error'): say(); say(f"Ray did not start, so there are no Ray rows: {ro['ray_error']}")
        if ro['ppo']:
            say(); say(f"MaskablePPO `learn` ({args.ppo_steps} timed steps, 4 envs x 512 steps, 10 epochs), local batched env vs Ray workers:"); say()
            say("| rollouts | env-steps / wall s | env-steps / learner CPU s | wall ratio |"); say("|---|---|---|---|")
            for p in ro['ppo']:
                say(f"| {'local batched env' if not p['workers'] else str(p['workers']) + ' Ray workers'} | {p['per_wall']:.0f} | "
                    f"{p['per_cpu_learner']:.0f} | {p['per_wall'] / ro['ppo'][0]['per_wall']:.2f} |")
    say(); say(f"(whole run {time.time() - t0:.0f} s)")
    if args.out: Path(args.out).write_text('# Scaling\n\n' + __doc__.split('\n\n', 1)[1] + '\n' + '\n'.join(lines) + '\n')


if __name__ == '__main__':
    main()
