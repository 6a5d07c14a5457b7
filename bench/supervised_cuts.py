"""Supervised cuts over the book of rules (issue 13, ablation 11): do the features say when cutting the book beats letting it run?

    python bench/supervised_cuts.py MODELS [MODELS ...] --windows 2022H1 2022H2 2023H1 2023H2 --out DIR

MODELS holds one model folder per window (MODELS/<window>/seed0, e.g. a benchmark run's models/<variant>): from it only the
window's config (dates, costs, entries, features), the rules tuned on the window's training data (`baselines.json`, the
benchmark's tuned rules and best rule) and the feature scaler are used; its agent is not. Per window, for each classifier
(`CUT_CLASSIFIERS`: gradient boosting, logistic regression as a control), `fit_cut_model` (nb 33d) labels the book in parts'
decisions on the training period, fits, and picks the threshold on the validation period (nothing after `data.valid_end`).
Then, on each coin's test half-year, exactly as the benchmark evaluates (`CoinEvaluator.sim`, `evaluation_period`,
`bench_metrics`):

- the diagnostic: the hindsight labels of the book in parts on the test half-year, and the classifier's ROC-AUC, Brier score
  and calibration on them (and on the training and validation periods, to show the gap);
- the policy: `BookOverlayPolicy` with the classifier as its model (the book in parts, cut where the probability is above the
  threshold), the book in parts alone (never cut) and the tuned rules; the variants' rows go through the benchmark's own
  `add_rule_book`, `comparison` and `summarize_benchmark` (shares ahead of the best rule and of the rule book, bootstrap CIs).

Writes DIR/table.csv (long, as the benchmark's), comparison.csv, summary.json, diagnostics.csv (AUC etc. per window,
classifier and period), calibration.csv, coin_aucs.csv, thresholds.csv, candidates.csv, cuts.csv. Deterministic given the data (seeded fits).
"""
import argparse, json, sys, time
from pathlib import Path
import numpy as np
import pandas as pd
from scipy.stats import spearmanr
from riskrl_nb.agents.bundle import load_bundle
from riskrl_nb.agents.cuts import (fit_cut_model, coin_labels, cut_diagnostics, CutModel, overlay_config, one_thread, NEVER,
                                   CUT_CLASSIFIERS)   # noqa: F401 (the candidates, named in the doc)
from riskrl_nb.eval import benchmark as B
from riskrl_nb.sim.execution import run_backtest
from riskrl_nb.sim.residual import BookOverlayPolicy, OVERLAY_REASONS
from riskrl_nb.core.config import RiskrlError
sys.path.insert(0, str(Path(__file__).resolve().parent))
from cut_information import window_models, window_benchmark

VARIANT = {'hgb': 'supervised_cuts', 'logit': 'supervised_cuts_logit'}
SORTINO_QUANTILES = (0.9, 0.95, 0.99, 0.999)   # --threshold-by sortino: candidates besides never cutting


def sortino_threshold(fit:dict, ev, bundle, coins:list) -> tuple:
    "(threshold, table): the candidate whose policy has the best mean Sortino over the coins' validation periods (backtested; ties: never)."
    cfg, d, rows = bundle.cfg, bundle.cfg.data, []
    pv = fit['valid'][2]
    for thr in [NEVER, *sorted({float(np.quantile(pv, q)) for q in SORTINO_QUANTILES})]:
        scores = []
        for c in coins:
            df = ev.frames[c]
            df = df.iloc[:B.period_slice(df, None, d.valid_end).stop]   # the validation period's end is the end of the data
            sim = ev.sim(c, cfg)
            a, b, _ = B.evaluation_period(df, bundle, d.valid_start, d.valid_end)
            res = run_backtest(sim, BookOverlayPolicy(CutModel(fit['classifier'], thr), bundle.scaler.transform(ev.features(c, cfg)),
                                                      overlay_config(cfg), bundle.baselines), a, b)
            scores.append(B.bench_metrics(res, sim)['sortino'])
        rows.append(dict(threshold=thr, mean_valid_sortino=float(np.nanmean(scores))))
    table = pd.DataFrame(rows)
    return float(table.threshold.iloc[int(table.mean_valid_sortino.to_numpy().argmax())]), table


def diag_row(window, kind, period, y, p, gain=None):
    d = cut_diagnostics(y, p)
    row = dict(window=window, classifier=kind, period=period, **{k: v for k, v in d.items() if k != 'calibration'})
    if gain is not None and len(p) > 2: row['spearman_p_gain'] = float(spearmanr(p, gain).statistic)
    return row, d['calibration'].reset_index().assign(window=window, classifier=kind, period=period)


def run_window(mdir:Path, name:str, coins_wanted=None, threshold_by:str='gain') -> dict:
    bundle = load_bundle(mdir)
    cfg, baselines = bundle.cfg, bundle.baselines
    frames = B.load_coins(cfg.data.paths)
    window = B.bench_window(name, train_months=12)   # only its test half-year is used
    if (window.test_start, window.test_end) != (cfg.data.test_start, cfg.data.test_end):
        raise RiskrlError(f"{mdir}: its test period {cfg.data.test_start}..{cfg.data.test_end} is not window {name}'s")
    best = next(r['rule'] for r in B.tuned_rules(mdir) if r['best'])
    ev = B.CoinEvaluator(frames)
    coins = [c for c in frames if not coins_wanted or c in coins_wanted]
    rows, returns, diags, cals, coin_aucs, thresholds, cuts, candidates = [], {}, [], [], [], [], [], []
    # the test half-year's hindsight labels: the book in parts there (evaluation only, never fitted on)
    test = {c: coin_labels(ev.frames[c], cfg, baselines, bundle.scaler, window.test_start, window.test_end, sim=ev.sim(c, cfg))
            for c in coins}
    for c in coins:   # the benchmark's own rule rows (and the sanity check that the book in parts is the labelling run)
        for pol, (m, r) in ev.run(bundle, c, window, agent=False, rules=True).items():
            for v in [*VARIANT.values(), 'book_in_parts']:
                rows.append(dict(variant=v, kind='pooled', window=name, coin=c, policy=pol, seed=None, best_rule=best, **m))
                returns.setdefault((v, 'pooled', name, c), {})[pol] = r
    for kind, variant in VARIANT.items():
        t0 = time.process_time()
        fit = fit_cut_model({c: frames[c] for c in coins}, cfg, baselines, bundle.scaler, kind)
        fit_cpu = time.process_time() - t0
        clf, thr = fit['classifier'], fit['threshold']
        if threshold_by == 'sortino':
            thr, table = sortino_threshold(fit, ev, bundle, coins)
            fit['thresholds'] = table
        (Xt, ft), (Xv, fv, pv) = fit['train'], fit['valid']
        with one_thread(): pt = clf.predict_proba(Xt.astype(np.float64))[:, 1]
        Xs = np.concatenate([test[c]['X'] for c in coins]); fs = pd.concat([test[c]['frame'].assign(coin=c) for c in coins], ignore_index=True)
        with one_thread(): ps = clf.predict_proba(Xs.astype(np.float64))[:, 1]
        for period, y, p, g in (('train', ft.label, pt, ft.gain), ('valid', fv.label, pv, fv.gain), ('test', fs.label, ps, fs.gain)):
            r, cal = diag_row(name, kind, period, y.to_numpy(), p, g.to_numpy()); diags.append(r); cals.append(cal)
        for c, g in fs.assign(p=ps).groupby('coin'):
            coin_aucs.append(dict(window=name, classifier=kind, coin=c, n=len(g), base_rate=g.label.mean(),
                                  auc=cut_diagnostics(g.label.to_numpy(), g.p.to_numpy())['auc']))
        thresholds.append(fit['thresholds'].assign(window=name, classifier=kind, chosen=lambda t: t.threshold == thr, fit_cpu_s=fit_cpu,
                                                   settings=json.dumps(fit['settings'])))
        candidates.append(fit['candidates'].assign(window=name, classifier=kind))
        for c in coins:
            sim = ev.sim(c, cfg)
            a, b, _ = B.evaluation_period(ev.frames[c], bundle, window.test_start, window.test_end)
            feats = bundle.scaler.transform(ev.features(c, cfg))
            model = CutModel(clf, thr)
            res = run_backtest(sim, BookOverlayPolicy(model, feats, overlay_config(cfg), baselines), a, b)
            m = B.bench_metrics(res, sim)
            rows.append(dict(variant=variant, kind='pooled', window=name, coin=c, policy='agent_seed0', seed=0, best_rule=best, **m))
            returns[(variant, 'pooled', name, c)]['agent_seed0'] = res.returns
            n_cut = int(res.trades.exit_reason.isin(OVERLAY_REASONS.values()).sum()) if len(res.trades) else 0
            cuts.append(dict(window=name, coin=c, classifier=kind, threshold=thr, n_trades=len(res.trades), cuts=n_cut,
                             cut_signals=model.cuts, decisions=res.decisions, sortino=m['sortino']))
    for c in coins:   # the book in parts, never cut: the labelling run of the test half-year
        res, sim = test[c]['result'], ev.sim(c, cfg)
        a, b, _ = B.evaluation_period(ev.frames[c], bundle, window.test_start, window.test_end)
        assert (res.equity.index[0], len(res.equity)) == (ev.frames[c].index[a], b - a)
        m = B.bench_metrics(res, sim)
        rows.append(dict(variant='book_in_parts', kind='pooled', window=name, coin=c, policy='agent_seed0', seed=0, best_rule=best, **m))
        returns[('book_in_parts', 'pooled', name, c)]['agent_seed0'] = res.returns
        cuts.append(dict(window=name, coin=c, classifier='never', threshold=np.inf, n_trades=len(res.trades), cuts=0, cut_signals=0,
                         decisions=res.decisions, sortino=m['sortino']))
    return dict(rows=rows, returns=returns, diags=diags, cals=cals, coin_aucs=coin_aucs, thresholds=thresholds, cuts=cuts,
                candidates=candidates, coins=coins)


def main(argv):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('models', type=Path, nargs='+', help='folders with <window>/seed0 model folders (a benchmark run\'s models/<variant>)')
    p.add_argument('--windows', nargs='+', required=True)
    p.add_argument('--coins', nargs='+', help='only these coins (default: every training coin of the window)')
    p.add_argument('--out', type=Path, required=True)
    p.add_argument('--threshold-by', choices=['gain', 'sortino'], default='gain',
                   help="gain: the first cut's mean gain per validation trade (nb 33d pick_threshold); sortino: the policy's mean "
                        "Sortino over the validation periods, backtested (never cutting among the candidates)")
    args = p.parse_args(argv)
    where = window_models(args.models, args.windows)
    args.out.mkdir(parents=True, exist_ok=True)
    t0, c0 = time.time(), time.process_time()
    parts = []
    for w in args.windows:
        t = time.time(); parts.append(run_window(where[w], w, args.coins, args.threshold_by))
        print(f"window {w}: {time.time() - t:.0f} s", flush=True)
    for key in ('diags', 'coin_aucs', 'cuts'):
        pd.DataFrame([r for x in parts for r in x[key]]).to_csv(args.out/f"{dict(diags='diagnostics').get(key, key)}.csv", index=False)
    pd.concat([c for x in parts for c in x['cals']]).to_csv(args.out/'calibration.csv', index=False)
    pd.concat([c for x in parts for c in x['thresholds']]).to_csv(args.out/'thresholds.csv', index=False)
    pd.concat([c for x in parts for c in x['candidates']]).to_csv(args.out/'candidates.csv', index=False)
    meta = dict(command='python bench/supervised_cuts.py ' + ' '.join(argv), wall_seconds=time.time() - t0,
                cpu_seconds=time.process_time() - c0, coins=parts[0]['coins'], windows=args.windows)
    long, summary = window_benchmark(parts, args.out, meta)
    print('\n'.join(B.verdict_lines(summary)))
    print(pd.DataFrame([r for x in parts for r in x['diags']]).round(3).to_string())
    print(f"wall {time.time() - t0:.0f} s, cpu {time.process_time() - c0:.0f} s")


if __name__ == '__main__': main(sys.argv[1:])
