"""`riskrl evaluate` CPU cost per bar: the fast inference path against the old one (SB3 `predict`), in one process.

    .venv/bin/python bench/evaluate.py [--model DIR] [--reps 2] [--no-report]

Without --model a small model is trained first (about 15 s). Each path evaluates the model on a short and a
long period of BTC hourly (2022-H1 and 2022-2023, same start); CPU-seconds per bar is the slope
(long - short) / (bars difference), so fixed costs (loading, regime fitting) cancel; the best of --reps
interleaved runs counts. Then the metrics are compared on the long period:
- old path (`fast=False`: `predict`, re-deciding sizing rows) vs fast inference with re-deciding sizing rows:
  every policy, every key, to 1e-12 (the inference path alone changes nothing);
- old vs the default (fast inference + replayed sizing rows): every row but the sizing rows to 1e-12; the
  keys that differ in the sizing rows are listed (they replay the agent's exits instead of re-deciding).
Results also go to bench/out/evaluate.json. Target (issue 14): >= 10x less CPU per bar than the old path.
"""
import argparse, json, math, sys, tempfile, time, warnings
from pathlib import Path
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT/'bench'))
SHORT, LONG = ('2022-01-01', '2022-06-30'), ('2022-01-01', '2023-12-31')   # one start: the regime detector is fitted on the bars before it, a cost that must cancel


def flat(d, prefix=''):
    "Nested dict -> {dotted key: leaf}."
    out = {}
    for k, v in d.items():
        if isinstance(v, dict): out.update(flat(v, f'{prefix}{k}.'))
        else: out[f'{prefix}{k}'] = v
    return out


def diff_keys(a, b, tol=1e-12):
    "Dotted keys whose values differ by more than tol (or differ in kind)."
    fa, fb = flat(a), flat(b)
    bad = []
    for k in sorted(set(fa) | set(fb)):
        x, y = fa.get(k, '<missing>'), fb.get(k, '<missing>')
        if isinstance(x, (int, float)) and isinstance(y, (int, float)) and not isinstance(x, bool):
            if not (x == y or abs(x - y) <= tol * max(1.0, abs(x), abs(y))): bad.append(k)
        elif x != y: bad.append(k)
    return bad


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--model', help='model folder (trained if omitted)')
    ap.add_argument('--reps', type=int, default=2)
    ap.add_argument('--no-report', action='store_true', help='skip report.html and plots (metrics, trades, equity only)')
    args = ap.parse_args()
    warnings.simplefilter('ignore')
    from riskrl_nb.core.config import load_config
    from riskrl_nb.agents.training import train
    from riskrl_nb.agents.policy import INFERENCE
    from riskrl_nb.eval.evaluation import evaluate
    from riskrl_nb.eval.evaluation import SIZING_ROWS
    from inference import TINY
    tmp = Path(tempfile.mkdtemp())
    model = Path(args.model) if args.model else train(load_config(overrides=TINY), tmp/'model', progress=False, verbose=False)
    report = not args.no_report

    def run(fast, period, out=None):
        t = time.process_time()
        m = evaluate(model, out_dir=out or tmp/'ev', start=period[0], end=period[1], report=report, fast=fast)
        return time.process_time() - t, m

    run(True, SHORT); run(False, SHORT)   # warm-up: imports, numba, torch
    cpu = {True: {}, False: {}}
    for _ in range(args.reps):
        for fast in (False, True):
            for period in (SHORT, LONG):
                c, m = run(fast, period)
                cpu[fast][period] = min(cpu[fast].get(period, math.inf), c)
                cpu[fast].setdefault(('bars', period), m['data']['bars'])
    per_bar = {f: (cpu[f][LONG] - cpu[f][SHORT]) / (cpu[f][('bars', LONG)] - cpu[f][('bars', SHORT)]) for f in cpu}
    ratio = per_bar[False] / per_bar[True]

    _, old = run(False, LONG)
    _, new = run(True, LONG)
    INFERENCE['replay'] = False   # fast inference alone, sizing rows re-deciding: identical to the old path
    try: m_inf = evaluate(model, out_dir=tmp/'ev', start=LONG[0], end=LONG[1], report=False)
    finally: INFERENCE['replay'] = True
    same_inference = diff_keys(old, m_inf)
    sizing = set(SIZING_ROWS)
    in_sizing = lambda k: bool(sizing & set(k.split('.')))   # a sizing row's key, also inside by_regime
    others = [k for k in diff_keys(old, new) if not in_sizing(k)]
    sizing_changed = sorted({k.split('.', 2)[2] for k in diff_keys(old, new) if k.startswith('policies.') and in_sizing(k)})

    res = dict(model=str(model), report=report, bars=dict(short=cpu[True][('bars', SHORT)], long=cpu[True][('bars', LONG)]),
               cpu_s={('fast' if f else 'old'): {'short': cpu[f][SHORT], 'long': cpu[f][LONG]} for f in cpu},
               cpu_ms_per_bar=dict(old=per_bar[False] * 1e3, fast=per_bar[True] * 1e3), ratio=ratio,
               decisions=old['diagnostics']['agent']['decisions'] if 'agent' in old.get('diagnostics', {}) else None,
               inference_only_differences=same_inference, differences_outside_sizing_rows=others,
               sizing_row_keys_changed=sizing_changed,
               sizing_params={n: {k: new['policies'][n]['params'].get(k) for k in ('exits_replayed', 'replayed_decisions', 'live_decisions')}
                              for n in SIZING_ROWS if n in new['policies']})
    print(f"evaluate CPU per bar: old (predict, re-deciding sizing rows) {per_bar[False] * 1e3:.3f} ms, "
          f"fast {per_bar[True] * 1e3:.3f} ms: {ratio:.1f}x  (bars {res['bars']['short']} and {res['bars']['long']}, report={report})")
    print(f"  CPU-s old short/long {cpu[False][SHORT]:.2f}/{cpu[False][LONG]:.2f}, fast {cpu[True][SHORT]:.2f}/{cpu[True][LONG]:.2f}; "
          f"agent decisions on the long period: {res['decisions']}")
    print(f"  fast inference alone vs old: {len(same_inference)} differing metrics.json keys (to 1e-12) {same_inference[:5]}")
    print(f"  default vs old outside the sizing rows: {len(others)} differing keys {others[:5]}")
    print(f"  sizing rows (replayed exits) keys changed: {', '.join(sizing_changed) or 'none'}")
    print(f"  sizing rows replayed/live decisions: {res['sizing_params']}")
    out = ROOT/'bench'/'out'; out.mkdir(exist_ok=True)
    (out/'evaluate.json').write_text(json.dumps(res, indent=1, default=str))


if __name__ == '__main__':
    main()
