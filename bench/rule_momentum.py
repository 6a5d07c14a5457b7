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
import itertools, sys, time
from pathlib import Path
import pandas as pd
from riskrl_nb.data.features import feature_warmup
from riskrl_nb.eval import benchmark as B
from riskrl_nb.sim.execution import run_backtest
from riskrl_nb.sim.prepare import _period_range
from riskrl_nb.sim.rules import make_baseline, RULES
from riskrl_nb.sim.rule_momentum import RuleMomentum, ShadowBook, shadow_trades, tune_rule_momentum, MOMENTUM_GRID
sys.path.insert(0, str(Path(__file__).resolve().parent))
from vol_trim import load_window, rule_train_scores, variant_rows, gate_parser, gate_main


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
    gate_main(gate_parser(__doc__, {}).parse_args(argv), argv, 'bench/rule_momentum.py', run_window, MOMENTUM_GRID, {'choices.csv': 'choices'})


if __name__ == '__main__': main(sys.argv[1:])
