"""What `riskrl evaluate --no-report` saves: CPU of a whole evaluation with and without the report, in one process.

    .venv/bin/python bench/evaluate_report.py [--model DIR] [--reps 3] [--start 2023-01-01 --end 2023-03-31]

Without --model a small model is trained first (about 15 s). After a warm-up (imports, numba, torch), the two settings
run alternately --reps times on the same period; the best CPU-seconds of each counts. metrics.json, trades.csv and
equity.csv of the two must be byte-identical (the report only adds files); the script stops if they are not.
"""
import argparse, sys, tempfile, time, warnings
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT/'bench'))


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--model', help='model folder (trained if omitted)')
    ap.add_argument('--reps', type=int, default=3)
    ap.add_argument('--start', default='2023-01-01')
    ap.add_argument('--end', default='2023-03-31')
    a = ap.parse_args(argv)
    warnings.simplefilter('ignore')
    from riskrl_nb.core.config import load_config
    from riskrl_nb.agents.training import train
    from riskrl_nb.eval.evaluation import evaluate
    from inference import TINY
    tmp = Path(tempfile.mkdtemp())
    model = Path(a.model) if a.model else train(load_config(overrides=TINY), tmp/'model', progress=False, verbose=False)

    def run(report):
        out = tmp/('full' if report else 'bare')
        t = time.process_time()
        m = evaluate(model, out_dir=out, start=a.start, end=a.end, report=report)
        return time.process_time() - t, m, out

    run(True)   # warm-up
    best = {True: float('inf'), False: float('inf')}
    for _ in range(a.reps):
        for report in (True, False):
            c, m, out = run(report)
            best[report] = min(best[report], c)
    for f in ('metrics.json', 'trades.csv', 'equity.csv'):
        if (tmp/'full'/f).read_bytes() != (tmp/'bare'/f).read_bytes(): raise SystemExit(f'{f} differs with and without the report')
    print(f"evaluate {a.start}..{a.end} ({m['data']['bars']} bars), best of {a.reps}: with the report {best[True]:.2f} CPU-s, "
          f"--no-report {best[False]:.2f} CPU-s: {best[True] / best[False]:.2f}x less CPU ({1 - best[False] / best[True]:.0%}); "
          f"metrics.json, trades.csv, equity.csv identical")
    return best


if __name__ == '__main__':
    main()
