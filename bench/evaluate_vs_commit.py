"""`riskrl evaluate` CPU per bar: this checkout against an older commit of riskrl, on the same model and data.

    .venv/bin/python bench/evaluate_vs_commit.py [--ref abdf5bc] [--reps 2] [--model M --ref-model REF] [--start DAY --short-end DAY --long-end DAY]

`--ref` defaults to abdf5bc, the code as it was when the speed issue (#14) measured "~2.6 ms of CPU per bar".
The older code is extracted with `git archive` into a temporary folder and run with this venv. It trains a tiny
model (its own model-folder format, which this checkout still reads with --trust-pickle); then both codes run
`riskrl evaluate` on it, alternating, on a short and a long period of BTC hourly (default options: report, plots,
tearsheet, regimes). CPU per bar is the slope (long - short) / (bars difference) of the child processes' user +
system CPU, so start-up and fixed costs cancel; the best of --reps alternations is kept for each. A second line gives the
slope of each alternation's own pair of runs and their median: at ~0.1 ms per bar the difference between the runs is ~2
of ~10 CPU-s, and the spread of these per-alternation ratios shows how far the best-of figure can be trusted. CPU time,
not wall time: the figure holds on a loaded machine.
"""
import argparse, json, os, resource, subprocess, sys, tempfile
import numpy as np
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT/'bench'))
from service_profile import package_at   # noqa: E402
SHORT, LONG = ('2022-07-01', '2022-12-31'), ('2022-07-01', '2023-12-31')   # one start: the regime detector is fitted on the bars before it


def child_cpu(cmd, env) -> float:
    "User + system CPU seconds of the finished subprocess `cmd` (it must succeed)."
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    p = subprocess.run(cmd, env=env, cwd=env['RUN_DIR'], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    if p.returncode: raise SystemExit(f"{' '.join(cmd[3:])} failed ({p.returncode}):\n{p.stderr[-2000:]}")
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--ref', default='abdf5bc', help='older commit to compare with (default: the code issue #14 measured)')
    ap.add_argument('--reps', type=int, default=2)
    ap.add_argument('--start', default=SHORT[0], help=f'first day of both runs (default {SHORT[0]})')
    ap.add_argument('--short-end', default=SHORT[1], help=f'last day of the short run (default {SHORT[1]})')
    ap.add_argument('--long-end', default=LONG[1], help=f'last day of the long run (default {LONG[1]}; an earlier --start '
                                                        'makes the slope between the two runs longer, so less noisy)')
    ap.add_argument('--model', help='model folder for this checkout (default: a tiny model trained by the reference code)')
    ap.add_argument('--ref-model', help="the same model as the reference code reads it (e.g. a copy of --model's folder with the "
                                        "config keys the older code does not know removed; same weights)")
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix='riskrl-evalref-'))
    ref = package_at(args.ref, tmp/'ref')
    base = dict(os.environ, PYTHONWARNINGS='ignore', SB3_LOGDIR=str(tmp/'sb3'), RUN_DIR=str(tmp))   # run outside any checkout: `python -c` imports from the working directory first
    envs = {'ref': dict(base, PYTHONPATH=str(ref)), 'now': dict(base, PYTHONPATH=str(ROOT))}
    cli = [sys.executable, '-c', 'import sys; from riskrl_nb.cli import main; sys.exit(main())']
    model = tmp/'model'
    cfg = tmp/'tiny.yaml'
    cfg.write_text("data: {train_start: '2022-01-01', train_end: '2022-06-30', valid_start: '2022-07-01', valid_end: '2022-08-31'}\n"
                   'train: {total_timesteps: 4096, n_steps: 256, n_envs: 2, eval_freq: 2048}\n')
    if args.model: models = {'now': Path(args.model).resolve(), 'ref': Path(args.ref_model or args.model).resolve()}   # the children run in a temporary folder
    else:
        subprocess.run(cli + ['train', '--out', str(model), '--config', str(cfg), '--no-progress'], env=envs['ref'], cwd=tmp, check=True,
                       stdout=subprocess.DEVNULL)
        models = {'now': model, 'ref': model}
    runs = {k: {'short': [], 'long': []} for k in envs}   # CPU-s of every run
    for rep in range(args.reps):
        for code in (['ref', 'now'] if rep % 2 == 0 else ['now', 'ref']):
            for name, (s, e) in {'short': (args.start, args.short_end), 'long': (args.start, args.long_end)}.items():
                out = tmp/f'{code}-{name}'
                extra = ['--trust-pickle'] if code == 'now' else []
                t = child_cpu(cli + ['evaluate', '--model', str(models[code]), '--out', str(out), '--start', s, '--end', e] + extra, envs[code])
                runs[code][name].append(t)
    cpu = {k: {name: min(ts) for name, ts in r.items()} for k, r in runs.items()}   # the best of the alternations
    bars = {name: json.loads((tmp/f'now-{name}'/'metrics.json').read_text())['data']['bars'] for name in ('short', 'long')}
    for name in bars: assert json.loads((tmp/f'ref-{name}'/'metrics.json').read_text())['data']['bars'] == bars[name]
    per_bar = {k: (c['long'] - c['short']) / (bars['long'] - bars['short']) for k, c in cpu.items()}
    print(f"riskrl evaluate, CPU per bar (slope between {bars['short']} and {bars['long']} bars; best of {args.reps}), model {models['now']}:")
    for k, label in [('ref', f'{args.ref} (reference)'), ('now', 'this checkout')]:
        print(f"  {label:28s} {per_bar[k] * 1e3:7.3f} ms/bar   short {cpu[k]['short']:6.1f} CPU-s   long {cpu[k]['long']:6.1f} CPU-s")
    print(f"  speed-up per bar: {per_bar['ref'] / per_bar['now']:.1f}x;  whole long run: {cpu['ref']['long'] / cpu['now']['long']:.1f}x")
    # the same slope from each alternation's own pair of runs (long minus short): its median and spread say how settled the figure is
    pairs = {k: np.array(r['long']) - np.array(r['short']) for k, r in runs.items()}
    ratios = pairs['ref'] / pairs['now']
    print(f"  per alternation: speed-up per bar {' '.join(f'{x:.1f}' for x in ratios)}; median {np.median(ratios):.1f}x "
          f"(this checkout {np.median(pairs['now']) / (bars['long'] - bars['short']) * 1e3:.3f} ms/bar, the reference "
          f"{np.median(pairs['ref']) / (bars['long'] - bars['short']) * 1e3:.3f})")


if __name__ == '__main__':
    main()
