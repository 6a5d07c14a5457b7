"""Rule-momentum gate (issue 13, ablation 13): does choosing each trade's rule by the rules' recent realised trades beat the best rule out of sample?

    python bench/rule_momentum.py MODELS [MODELS ...] --windows 2022H1 2022H2 2023H1 2023H2 --out DIR [--scan]

MODELS holds one model folder per window (MODELS/<window>/seed0): only its config and its tuned rules / best rule
(`baselines.json`) are used, read as `bench/vol_trim.py` reads them (`load_window`). Per window:

- tuning (`tune_rule_momentum`, nb 21b): the shadow records of the three tuned rules run on each coin's training +
  validation bars (the rules' own tuning periods, `training_periods`), the selector's setting with the best mean Sortino
  over the coins on those bars; nothing after the validation end is read (check: the rules' mean Sortino there equals
  their score in `baselines.json`);
- test: shadow records from each coin's first usable training bar to its test end (`shadow_spans`; a shadow trade is read
  only once its exit bar is at or before the signal bar), then on each coin's test half-year, exactly as the benchmark
  evaluates (`evaluation_period`, `bench_metrics`), the three rules and the selector. Variant `rule_momentum` of the long
  table: agent_seed0 = the selector (the benchmark's `add_rule_book`, `comparison`, `summarize_benchmark`, so the shares
  and CIs are the benchmark's).

Writes DIR/table.csv, comparison.csv, summary.json, choices.csv (per coin-window: trades, picks of each rule, fallbacks),
tuning.csv (every grid setting's training score), tuned.json; with --scan, scan.csv: every grid setting fixed on the test
half-years (a diagnostic after the choice, never used to choose). Deterministic.
"""
import argparse, itertools, json, sys, time
from pathlib import Path
import pandas as pd
from riskrl_nb.data.features import feature_warmup
from riskrl_nb.eval import benchmark as B
from riskrl_nb.sim.execution import run_backtest
from riskrl_nb.sim.prepare import _period_range
from riskrl_nb.sim.rules import make_baseline, RULES
from riskrl_nb.sim.rule_momentum import RuleMomentum, ShadowBook, shadow_trades, tune_rule_momentum, MOMENTUM_GRID
sys.path.insert(0, str(Path(__file__).resolve().parent))
from cut_information import window_models, window_benchmark
from vol_trim import load_window, rule_train_scores, variant_rows


def shadow_spans(frames:dict, cfg, test_periods:dict) -> dict:
    "{coin: (a, b)}: from the coin's first usable bar of the training period (after the warm-up) to the end of its test period."
    out = {}
    for c, (_, b) in test_periods.items():
        r = _period_range(frames[c], cfg.data.train_start, cfg.data.test_end, feature_warmup(cfg.features))
        out[c] = (r[0], b)
    return out


def choice_counts(pol:RuleMomentum, res) -> dict:
    "Trades, picks of each rule and fallbacks (one pick per entry signal taken, i.e. per trade)."
    picks = [(r, f) for _, r, f in pol.choices]
    return dict(trades=len(res.trades), fallbacks=sum(f for _, f in picks), **{f'chose_{r}': sum(q == r for q, _ in picks) for r in RULES})


def run_window(mdir:Path, name:str, grid:dict, coins_wanted=None, scan:bool=False) -> dict:
    w = load_window(mdir, name)
    rule_train, check = rule_train_scores(w)
    t0 = time.process_time()
    tuned, table = tune_rule_momentum({c: w.ev.sim(c, w.cfg) for c in w.periods}, w.periods, w.baselines, w.best, grid, w.ppy)
    tune_cpu = time.process_time() - t0
    tests = {c: B.evaluation_period(df, w.bundle, w.window.test_start, w.window.test_end)[:2] for c, df in w.frames.items()}
    sims = {c: w.ev.sim(c, w.cfg) for c in w.frames}
    book = ShadowBook(shadow_trades(sims, w.baselines, shadow_spans(w.frames, w.cfg, tests)))
    rows, returns, choices, scanned = [], {}, [], []
    for c in (c for c in w.frames if not coins_wanted or c in coins_wanted):
        sim, (a, b) = sims[c], tests[c]
        res = {r: run_backtest(sim, make_baseline(r, w.baselines[r]), a, b) for r in RULES}
        pol = RuleMomentum(w.baselines, book, c, w.best, **tuned)
        res['rule_momentum'] = run_backtest(sim, pol, a, b)
        choices.append(dict(window=name, coin=c, best_rule=w.best, **tuned, **choice_counts(pol, res['rule_momentum'])))
        variant_rows(rows, returns, name, c, w.best, res, sim, {'rule_momentum': {'agent_seed0': 'rule_momentum'}})
        if scan:   # diagnostic only, after the choice: every grid setting on the test half-year (never used to choose)
            best_s = B.bench_metrics(res[w.best], sim)['sortino']
            for g in (dict(zip(grid, v)) for v in itertools.product(*grid.values())):
                p = RuleMomentum(w.baselines, book, c, w.best, **g)
                r = run_backtest(sim, p, a, b)
                scanned.append(dict(window=name, coin=c, **g, tuned=g == tuned, best_rule_sortino=best_s,
                                    sortino=B.bench_metrics(r, sim)['sortino'], **choice_counts(p, r)))
    return dict(rows=rows, returns=returns, choices=choices, scan=scanned, tuning=table.drop(columns='scores').assign(window=name),
                tuned=dict(window=name, best_rule=w.best, tuned=tuned, selector_train_score=float(table.score.max()),
                           rule_train_score=rule_train, rule_scores_check=check, tune_cpu_s=tune_cpu, coins_tuned=list(w.periods)))


def main(argv):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('models', type=Path, nargs='+', help="folders with <window>/seed0 model folders (a benchmark run's models/<variant>)")
    p.add_argument('--windows', nargs='+', required=True)
    p.add_argument('--coins', nargs='+', help='only these coins on the test half-year (the tuning and the all-coin scope always use every coin)')
    p.add_argument('--out', type=Path, required=True)
    p.add_argument('--scan', action='store_true', help='also run every grid setting on the test half-years (scan.csv: a diagnostic, never used to choose)')
    args = p.parse_args(argv)
    where = window_models(args.models, args.windows)
    args.out.mkdir(parents=True, exist_ok=True)
    t0, c0 = time.time(), time.process_time()
    parts = []
    for w in args.windows:
        t = time.time(); parts.append(run_window(where[w], w, MOMENTUM_GRID, args.coins, args.scan))
        print(f"window {w}: {time.time() - t:.0f} s; tuned {parts[-1]['tuned']['tuned']}; rule score check {parts[-1]['tuned']['rule_scores_check']}", flush=True)
    pd.DataFrame([r for x in parts for r in x['choices']]).to_csv(args.out/'choices.csv', index=False)
    pd.concat([x['tuning'] for x in parts]).to_csv(args.out/'tuning.csv', index=False)
    if args.scan: pd.DataFrame([r for x in parts for r in x['scan']]).to_csv(args.out/'scan.csv', index=False)
    (args.out/'tuned.json').write_text(json.dumps(B._clean([x['tuned'] for x in parts]), indent=1))
    meta = dict(command='python bench/rule_momentum.py ' + ' '.join(map(str, argv)), wall_seconds=time.time() - t0,
                cpu_seconds=time.process_time() - c0, windows=args.windows, grid=MOMENTUM_GRID)
    long, summary = window_benchmark(parts, args.out, meta)
    print('\n'.join(B.verdict_lines(summary)))
    print(f"wall {time.time() - t0:.0f} s, cpu {time.process_time() - c0:.0f} s")


if __name__ == '__main__': main(sys.argv[1:])
