"""CPU of `riskrl evaluate` with the inference-only model load (no torch._dynamo import) against the old load, in one run.

    python bench/load_cost.py --model DIR [--reps 3] [--start 2023-01-01 --end 2023-12-31]

Both sides are this checkout, as alternating child processes on the same model and period; the "old load" side only
replaces `riskrl_nb.agents.bundle.lazy_dynamo` by a no-op context (the optimizer is then built by torch's decorated
`add_param_group`, which imports torch._dynamo), i.e. the load as it was before issue 14's change. Reports user +
system CPU seconds of each child (best of --reps) and whether torch._dynamo was imported, and checks that both
metrics.json are equal.
"""
import argparse, json, os, resource, subprocess, sys, tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CHILD = """
import contextlib, sys
import riskrl_nb.agents.bundle as b
if sys.argv[1] == 'old': b.lazy_dynamo = contextlib.nullcontext
from riskrl_nb.cli import main
rc = main(sys.argv[2:])
open(sys.argv[-1] + '/dynamo.txt', 'w').write(str('torch._dynamo' in sys.modules))
sys.exit(rc)
"""


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--model', required=True)
    ap.add_argument('--reps', type=int, default=3)
    ap.add_argument('--start', default='2023-01-01')
    ap.add_argument('--end', default='2023-12-31')
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix='riskrl-loadcost-'))
    env = dict(os.environ, PYTHONPATH=str(ROOT), PYTHONWARNINGS='ignore', SB3_LOGDIR=str(tmp/'sb3'))
    cpu, dyn = {}, {}
    for rep in range(args.reps):
        for side in (['old', 'new'] if rep % 2 == 0 else ['new', 'old']):
            out = tmp/f'{side}-{rep}'
            before = resource.getrusage(resource.RUSAGE_CHILDREN)
            p = subprocess.run([sys.executable, '-c', CHILD, side, 'evaluate', '--model', str(Path(args.model).resolve()), '--start', args.start,
                                '--end', args.end, '--out', str(out)], env=env, cwd=tmp, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
            if p.returncode: raise SystemExit(p.stderr[-2000:])
            after = resource.getrusage(resource.RUSAGE_CHILDREN)
            cpu[side] = min(cpu.get(side, float('inf')), after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime)
            dyn[side] = (out/'dynamo.txt').read_text()
    m = {s: json.loads((tmp/f'{s}-0'/'metrics.json').read_text()) for s in ('old', 'new')}
    diffs = []
    def cmp(a, b, at=''):
        if isinstance(a, dict) and isinstance(b, dict):
            for k in set(a) | set(b): cmp(a.get(k), b.get(k), f'{at}.{k}')
        elif isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
            for k, (x, y) in enumerate(zip(a, b)): cmp(x, y, f'{at}[{k}]')
        elif isinstance(a, (int, float)) and isinstance(b, (int, float)) and not isinstance(a, bool):
            if abs(a - b) > 1e-12 * max(1.0, abs(a), abs(b)): diffs.append(at)
        elif a != b and 'path' not in at and 'model' not in at.split('.')[-1]: diffs.append(at)
    cmp(m['old'], m['new'])
    same = not diffs
    print(f"riskrl evaluate {args.start}..{args.end}, model {args.model}, best of {args.reps} (CPU-s, user + system):")
    print(f"  old load (optimizer imports torch._dynamo: {dyn['old']}) {cpu['old']:6.1f} CPU-s")
    print(f"  inference-only load (torch._dynamo imported: {dyn['new']}) {cpu['new']:6.1f} CPU-s")
    print(f"  saved {cpu['old'] - cpu['new']:.1f} CPU-s per run ({cpu['old'] / cpu['new']:.2f}x); metrics.json equal to 1e-12: {same}{'' if same else ' ' + str(diffs[:5])}")


if __name__ == '__main__':
    main()
