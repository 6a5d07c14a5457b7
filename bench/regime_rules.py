"""Regime-rules gate (issue 13, ablation 14): does the tuned rule chosen by the filtered HMM regime at each entry beat the best rule out of sample?

    python bench/regime_rules.py MODELS [MODELS ...] --windows 2022H1 2022H2 2023H1 2023H2 --out DIR

MODELS holds one model folder per window (MODELS/<window>/seed0): only its config (dates, costs, entries, features, regime
inputs) and the rules tuned on the window's training data (`baselines.json`: the tuned rules and the best rule) are used, as
in `bench/vol_trim.py`. Per window:

- `tune_regime_rules` (nb 21c) on the rules' own training bars (train + validation of every coin with training bars, after
  the feature warm-up): for each setting of the grid (number of HMM regimes, minimum pooled trades of a regime) the HMM
  (pooled coins) and the regime → rule table are fitted on the training months and scored on the validation months (mean
  Sortino over coins); the best setting is refitted on training + validation. Nothing after the validation end is read;
- on each coin's test half-year, exactly as the benchmark evaluates (`CoinEvaluator.sim`, `evaluation_period`,
  `bench_metrics`), each tuned rule alone and the regime rule (filtered labels from the HMM fitted on training + validation).
  Variant `regime_rule` of the long table (agent_seed0 = the regime rule; the benchmark's own `add_rule_book`, `comparison`,
  `summarize_benchmark`, so shares and CIs are the benchmark's).

Writes DIR/table.csv, comparison.csv, summary.json, selection.csv (every grid setting's validation score and tables),
tables.csv (the chosen table per window: regime, rule, pooled training trades, the switch-in scores), picks.csv (every test
trade: coin, regime at the signal, rule, its return), regimes.csv (test bars per regime); with --scan, scan.csv: every grid
setting (fitted on training + validation) on the test half-years (a diagnostic after the choice, never used to choose).
"""
import argparse, json, sys, time
from pathlib import Path
from types import SimpleNamespace
import numpy as np
import pandas as pd
from riskrl_nb.core.config import load_config, RiskrlError, periods_per_year
from riskrl_nb.data.features import feature_warmup
from riskrl_nb.eval import benchmark as B
from riskrl_nb.sim.execution import run_backtest
from riskrl_nb.sim.prepare import _period_range
from riskrl_nb.sim.rules import make_baseline, RULES
from riskrl_nb.sim.regime_rules import RegimeRules, filtered_labels, tune_regime_rules, REGIME_RULES_GRID
sys.path.insert(0, str(Path(__file__).resolve().parent))
from cut_information import window_models, window_benchmark
from vol_trim import training_periods, load_window


def split_periods(frames:dict, cfg) -> tuple[dict, dict, dict]:
    "({coin: training months}, {coin: validation months or None}, {coin: training + validation}) of the coins with training bars."
    warm, d = feature_warmup(cfg.features), cfg.data
    fit = training_periods(frames, cfg)
    train = {c: _period_range(frames[c], d.train_start, d.train_end, warm) for c in fit}
    valid = {c: _period_range(frames[c], d.valid_start, d.valid_end, warm) for c in fit}
    return train, valid, fit


def run_window(mdir:Path, name:str, grid:dict, scan:bool=False) -> dict:
    w_ = load_window(mdir, name)   # the gates' one reading of a window's model folder (bench/vol_trim.py)
    cfg, info, rules, bundle, frames, window, best, ev, ppy = w_.cfg, w_.info, w_.baselines, w_.bundle, w_.frames, w_.window, w_.best, w_.ev, w_.ppy
    train, valid, fit = split_periods(frames, cfg)
    coins_fit = list(fit)
    t0 = time.process_time()
    chosen, fits, sel = tune_regime_rules([frames[c] for c in coins_fit], [ev.sim(c, cfg) for c in coins_fit],
                                          [train[c] for c in coins_fit], [valid[c] for c in coins_fit], [fit[c] for c in coins_fit],
                                          rules, best, grid, cfg.regimes, ppy)
    tune_cpu = time.process_time() - t0
    key = tuple(chosen.values())
    f = fits[key]
    rows, returns, picks, regimes, scanned = [], {}, [], [], []
    for c in frames:
        sim = ev.sim(c, cfg)
        a, b, _ = B.evaluation_period(frames[c], bundle, window.test_start, window.test_end)
        res = {rule: run_backtest(sim, make_baseline(rule, rules[rule]), a, b) for rule in RULES}
        labels = filtered_labels(f['model'], frames[c])
        pol = RegimeRules(rules, f['table'], labels, best)
        res['regime_rule'] = run_backtest(sim, pol, a, b)
        ret = dict(zip(res['regime_rule'].trades.entry_bar.astype(int), res['regime_rule'].trades['return']))   # filled at the next open
        for i, g, r in pol.picks:
            picks.append(dict(window=name, coin=c, signal_bar=i, regime=f['model'].names[g] if g >= 0 else 'unknown', rule=r, best_rule=best,
                              trade_return=ret.get(i + 1, np.nan)))
        for g, n in enumerate(f['model'].names):
            regimes.append(dict(window=name, coin=c, regime=n, bars=int((labels[a:b] == g).sum()), rule=f['table'][g]))
        metrics = {p: B.bench_metrics(r, sim) for p, r in res.items()}
        v = 'regime_rule'
        for p in RULES:
            rows.append(dict(variant=v, kind='pooled', window=name, coin=c, policy=p, seed=None, best_rule=best, **metrics[p]))
            returns.setdefault((v, 'pooled', name, c), {})[p] = res[p].returns
        rows.append(dict(variant=v, kind='pooled', window=name, coin=c, policy='agent_seed0', seed=0, best_rule=best, **metrics['regime_rule']))
        returns[(v, 'pooled', name, c)]['agent_seed0'] = res['regime_rule'].returns
        if scan:   # diagnostic only, after the choice: every grid setting (fitted on training + validation) on the test half-year
            for k2, f2 in fits.items():
                r2 = res['regime_rule'] if k2 == key else run_backtest(sim, RegimeRules(rules, f2['table'], filtered_labels(f2['model'], frames[c]), best), a, b)
                scanned.append(dict(window=name, coin=c, **dict(zip(grid, k2)), table='/'.join(f2['table']), chosen=k2 == key,
                                    best_rule=best, sortino_best=metrics[best]['sortino'], sortino=B.bench_metrics(r2, sim)['sortino']))
    tables = f['scores'].assign(window=name, n_regimes=chosen['n_regimes'], min_trades=chosen['min_trades'], best_rule=best)
    return dict(rows=rows, returns=returns, picks=picks, regimes=regimes, scan=scanned, tables=tables,
                selection=sel.assign(window=name, best_rule=best),
                tuned=dict(window=name, best_rule=best, chosen=chosen, table=f['table'], counts=f['counts'],
                           regime_means=f['model'].means, transmat=f['model'].transmat, tune_cpu_s=tune_cpu, coins_fit=coins_fit))


def main(argv):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('models', type=Path, nargs='+', help="folders with <window>/seed0 model folders (a benchmark run's models/<variant>)")
    p.add_argument('--windows', nargs='+', required=True)
    p.add_argument('--out', type=Path, required=True)
    p.add_argument('--scan', action='store_true', help='also run every grid setting on the test half-years (scan.csv: a diagnostic, never used to choose)')
    args = p.parse_args(argv)
    where = window_models(args.models, args.windows)
    args.out.mkdir(parents=True, exist_ok=True)
    t0, c0 = time.time(), time.process_time()
    parts = []
    for w in args.windows:
        t = time.time(); parts.append(run_window(where[w], w, REGIME_RULES_GRID, args.scan))
        x = parts[-1]['tuned']
        print(f"window {w}: {time.time() - t:.0f} s; chosen {x['chosen']}; table {x['table']}; trades {x['counts']}; best {x['best_rule']}", flush=True)
    for k in ('picks', 'regimes', 'scan'):
        if any(x[k] for x in parts): pd.DataFrame([r for x in parts for r in x[k]]).to_csv(args.out/f'{k}.csv', index=False)
    pd.concat([x['tables'] for x in parts]).to_csv(args.out/'tables.csv', index=False)
    pd.concat([x['selection'] for x in parts]).to_csv(args.out/'selection.csv', index=False)
    (args.out/'tuned.json').write_text(json.dumps(B._clean([x['tuned'] for x in parts]), indent=1))
    meta = dict(command='python bench/regime_rules.py ' + ' '.join(map(str, argv)), wall_seconds=time.time() - t0,
                cpu_seconds=time.process_time() - c0, windows=args.windows, grid=REGIME_RULES_GRID)
    long, summary = window_benchmark(parts, args.out, meta)
    print('\n'.join(B.verdict_lines(summary)))
    print(f"wall {time.time() - t0:.0f} s, cpu {time.process_time() - c0:.0f} s")


if __name__ == '__main__': main(sys.argv[1:])
