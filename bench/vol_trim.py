"""Vol-trim gate (issue 13, ablation 12): does trimming an open position by volatility raise the tuned rules' Sortino out of sample?

    python bench/vol_trim.py MODELS [MODELS ...] --windows 2022H1 2022H2 2023H1 2023H2 --out DIR

MODELS holds one model folder per window (MODELS/<window>/seed0, e.g. a benchmark run's models/<variant>): from it only the
window's config (dates, costs, entries, features) and the rules tuned on the window's training data (`baselines.json`: the
benchmark's tuned rules and best rule) are used; its agent is not. Per window:

- the training periods are the rules' own (train + validation of every coin with training bars, after the feature warm-up, as
  `train` tunes them); check: each tuned rule's mean Sortino there equals its score in `baselines.json`;
- `tune_vol_trim` (nb 21a) picks, per rule, the overlay setting (target vol, window, band) with the best mean Sortino on those
  periods: nothing after the validation end is read;
- on each coin's test half-year, exactly as the benchmark evaluates (`CoinEvaluator.sim`, `evaluation_period`,
  `bench_metrics`), each tuned rule alone and with its overlay. Variants of the long table (the benchmark's own
  `add_rule_book`, `comparison`, `summarize_benchmark`, so the shares and bootstrap CIs are the benchmark's): `best_rule_vt`
  (agent_seed0 = the window's best rule + its overlay), `book_vt` (agent_seed0..2 = the three rules + overlays, so agent_mix is
  the book of the overlaid rules), `<rule>_vt` for each rule.

Writes DIR/table.csv, comparison.csv, summary.json, overlay.csv (per coin-window and rule: Sortino, return, downside deviation,
trades, trims, fees with and without the overlay, fees paid by the trims), tuning.csv (every grid setting's training score),
tuned.json (the chosen settings per window); with --scan, scan.csv: every grid setting's test Sortino per coin-window and
rule (a diagnostic after the choice: does any setting carry out-of-sample Sortino? never used to choose). Deterministic.
"""
import argparse, itertools, json, sys, time
from pathlib import Path
from types import SimpleNamespace
import numpy as np
import pandas as pd
from riskrl_nb.core.config import load_config, RiskrlError, periods_per_year
from riskrl_nb.core.metrics import sortino
from riskrl_nb.data.features import feature_warmup
from riskrl_nb.eval import benchmark as B
from riskrl_nb.sim.execution import run_backtest
from riskrl_nb.sim.prepare import _period_range
from riskrl_nb.sim.rules import make_baseline, RULES
from riskrl_nb.sim.vol_trim import tune_vol_trim, vol_trim_policy, VOL_TRIM_GRID
sys.path.insert(0, str(Path(__file__).resolve().parent))
from cut_information import window_models, window_benchmark


def training_periods(frames:dict, cfg) -> dict:
    "{coin: (a, b)}: the bars the rules were tuned on (train start .. validation end, after the feature warm-up), coins with training bars."
    warm, d, out = feature_warmup(cfg.features), cfg.data, {}
    for c, df in frames.items():
        tr = _period_range(df, d.train_start, d.train_end, warm)
        if tr is None: continue
        va = _period_range(df, d.valid_start, d.valid_end, warm)
        out[c] = (tr[0], va[1] if va else tr[1])
    return out


def downside_dev(r:pd.Series) -> float:
    return float(np.sqrt(np.mean(np.minimum(r.to_numpy(), 0.0) ** 2)))


def trim_fees(sim, trims) -> float:
    "Fees paid by the trims: each sold at the next bar's open with the simulator's taker price and fee."
    m, total = sim.market, 0.0
    for i, units, side in trims:
        px = sim.costs.taker_price(i + 1, m.open[i + 1], -side, units * m.open[i + 1])
        total += sim.costs.fee(units * px)
    return total


def load_window(mdir:Path, name:str) -> SimpleNamespace:
    "A window's model folder as the gates read it: config, tuned rules, best rule, coins, evaluator, bars per year, training periods."
    cfg = load_config(mdir/'config.yaml')
    info = json.loads((mdir/'baselines.json').read_text())
    frames = B.load_coins(cfg.data.paths)
    window = B.bench_window(name, train_months=12)
    if (window.test_start, window.test_end) != (cfg.data.test_start, cfg.data.test_end):
        raise RiskrlError(f"{mdir}: its test period {cfg.data.test_start}..{cfg.data.test_end} is not window {name}'s")
    best = next(r['rule'] for r in B.tuned_rules(mdir) if r['best'])
    ev = B.CoinEvaluator(frames)
    ppy = periods_per_year(ev.sim(next(iter(frames)), cfg).market.interval_seconds)
    return SimpleNamespace(cfg=cfg, info=info, baselines=info['params'], frames=frames, window=window, best=best, ev=ev, ppy=ppy,
                           bundle=SimpleNamespace(cfg=cfg),   # evaluation_period reads only cfg.features and the test dates
                           periods=training_periods(frames, cfg))


def rule_train_scores(w:SimpleNamespace) -> tuple[dict, dict]:
    "({rule: its score in baselines.json}, {rule: |mean Sortino on `w.periods` − that score|}): the training periods are the rules' own."
    grid_t, have, check = pd.DataFrame(w.info['grid']), {}, {}
    for rule, params in w.baselines.items():
        s = np.mean([sortino(run_backtest(w.ev.sim(c, w.cfg), make_baseline(rule, params), a, b).returns, w.ppy) for c, (a, b) in w.periods.items()])
        have[rule] = float(grid_t[(grid_t.baseline == rule) & grid_t.params.apply(lambda p: p == params)].score.iloc[0])
        check[rule] = float(abs(s - have[rule]))
    return have, check


def variant_rows(rows:list, returns:dict, name:str, coin:str, best:str, res:dict, sim, variants:dict):
    "Append one coin-window to the benchmark's long `rows` and `returns`: per variant, the three rules and its `agent_seed<k>` (a result of `res`)."
    metrics = {p: B.bench_metrics(r, sim) for p, r in res.items()}
    for v, agents in variants.items():
        for pol in RULES:
            rows.append(dict(variant=v, kind='pooled', window=name, coin=coin, policy=pol, seed=None, best_rule=best, **metrics[pol]))
            returns.setdefault((v, 'pooled', name, coin), {})[pol] = res[pol].returns
        for k, (ag, src) in enumerate(agents.items()):
            rows.append(dict(variant=v, kind='pooled', window=name, coin=coin, policy=ag, seed=k, best_rule=best, **metrics[src]))
            returns[(v, 'pooled', name, coin)][ag] = res[src].returns


def run_window(mdir:Path, name:str, grid:dict, coins_wanted=None, scan:bool=False) -> dict:
    w = load_window(mdir, name)
    cfg, baselines, bundle, frames, window, best, ev, ppy, periods = w.cfg, w.baselines, w.bundle, w.frames, w.window, w.best, w.ev, w.ppy, w.periods
    sims = [ev.sim(c, cfg) for c in periods]
    rule_train, check = rule_train_scores(w)
    t0 = time.process_time()
    tuned, table = tune_vol_trim(sims, list(periods.values()), baselines, grid, ppy)
    tune_cpu = time.process_time() - t0
    # the training score of each rule with its tuned overlay, beside the rule's alone (information: "no overlay" is not in the grid)
    overlay_train = {r: float(table[(table.rule == r)].score.max()) for r in baselines}
    rows, returns, overlay, scanned = [], {}, [], []
    coins = [c for c in frames if not coins_wanted or c in coins_wanted]
    for c in coins:
        sim = ev.sim(c, cfg)
        a, b, _ = B.evaluation_period(frames[c], bundle, window.test_start, window.test_end)
        res = {}
        for rule in RULES:
            plain = run_backtest(sim, make_baseline(rule, baselines[rule]), a, b)
            pol = vol_trim_policy(rule, baselines[rule], tuned[rule], ppy)
            vt = run_backtest(sim, pol, a, b)
            res[rule], res[rule + '_vt'] = plain, vt
            mp, mv = B.bench_metrics(plain, sim), B.bench_metrics(vt, sim)
            overlay.append(dict(window=name, coin=c, rule=rule, best=rule == best, **{f'vt_{k}': v for k, v in tuned[rule].items()},
                                sortino=mp['sortino'], sortino_vt=mv['sortino'], total_return=mp['total_return'],
                                total_return_vt=mv['total_return'], downside_dev=downside_dev(plain.returns),
                                downside_dev_vt=downside_dev(vt.returns), n_trades=len(plain.trades), n_trades_vt=len(vt.trades),
                                trims=len(pol.trims), adds=len(pol.adds), add_fees=trim_fees(sim, [(i, u, -s) for i, u, s in pol.adds]),
                                trimmed_trades=len({int(t.entry_bar) for t in vt.trades.itertuples()
                                                                          if any(t.entry_bar <= i < t.exit_bar for i, _, _ in pol.trims)}),
                                fees=plain.fees_paid, fees_vt=vt.fees_paid, trim_fees=trim_fees(sim, pol.trims),
                                mean_exposure=float(plain.exposure.mean()), mean_exposure_vt=float(vt.exposure.mean()),
                                initial_equity=plain.initial_equity))
            if scan:   # diagnostic only, after the choice: every grid setting on the test half-year (never used to choose)
                for g in (dict(zip(grid, v)) for v in itertools.product(*grid.values())):
                    r = run_backtest(sim, vol_trim_policy(rule, baselines[rule], g, ppy), a, b)
                    scanned.append(dict(window=name, coin=c, rule=rule, best=rule == best, **{f'vt_{k}': v for k, v in g.items()}, tuned=g == tuned[rule],
                                        sortino=mp['sortino'], sortino_vt=B.bench_metrics(r, sim)['sortino']))
        variants = {'best_rule_vt': {'agent_seed0': best + '_vt'}, 'book_vt': {f'agent_seed{k}': r + '_vt' for k, r in enumerate(RULES)},
                    **{r + '_vt': {'agent_seed0': r + '_vt'} for r in RULES}}
        variant_rows(rows, returns, name, c, best, res, sim, variants)
    return dict(rows=rows, returns=returns, overlay=overlay, scan=scanned, tuning=table.drop(columns='scores').assign(window=name),
                tuned=dict(window=name, best_rule=best, tuned=tuned, overlay_train_score=overlay_train, rule_train_score=rule_train,
                           rule_scores_check=check, tune_cpu_s=tune_cpu, coins_tuned=list(periods)))


def gate_parser(doc:str, script_help:dict) -> argparse.ArgumentParser:
    "The gates' common arguments (model folders, windows, test coins, output folder, --scan); `script_help` adds the script's own flags."
    p = argparse.ArgumentParser(description=doc.splitlines()[0])
    p.add_argument('models', type=Path, nargs='+', help="folders with <window>/seed0 model folders (a benchmark run's models/<variant>)")
    p.add_argument('--windows', nargs='+', required=True)
    p.add_argument('--coins', nargs='+', help='only these coins on the test half-year (the tuning always pools every training coin)')
    p.add_argument('--out', type=Path, required=True)
    p.add_argument('--scan', action='store_true', help='also run every grid setting on the test half-years (scan.csv: a diagnostic, never used to choose)')
    for flag, help in script_help.items(): p.add_argument(flag, action='store_true', help=help)
    return p


def gate_main(args, argv:list, script:str, run_window, grid:dict, tables:dict):
    """`run_window` on each window; writes `tables` ({file: key of the parts' rows}), tuning.csv, scan.csv (with --scan),
    tuned.json and the benchmark's table.csv, comparison.csv, summary.json; prints the verdict and the time."""
    where = window_models(args.models, args.windows)
    args.out.mkdir(parents=True, exist_ok=True)
    t0, c0 = time.time(), time.process_time()
    parts = []
    for w in args.windows:
        t = time.time(); parts.append(run_window(where[w], w, grid, args.coins, args.scan))
        print(f"window {w}: {time.time() - t:.0f} s; tuned {parts[-1]['tuned']['tuned']}; rule score check {parts[-1]['tuned']['rule_scores_check']}", flush=True)
    for f, key in tables.items(): pd.DataFrame([r for x in parts for r in x[key]]).to_csv(args.out/f, index=False)
    pd.concat([x['tuning'] for x in parts]).to_csv(args.out/'tuning.csv', index=False)
    if args.scan: pd.DataFrame([r for x in parts for r in x['scan']]).to_csv(args.out/'scan.csv', index=False)
    (args.out/'tuned.json').write_text(json.dumps(B._clean([x['tuned'] for x in parts]), indent=1))
    meta = dict(command=f'python {script} ' + ' '.join(map(str, argv)), wall_seconds=time.time() - t0,
                cpu_seconds=time.process_time() - c0, windows=args.windows, grid=grid)
    long, summary = window_benchmark(parts, args.out, meta)
    print('\n'.join(B.verdict_lines(summary)))
    print(f"wall {time.time() - t0:.0f} s, cpu {time.process_time() - c0:.0f} s")


def main(argv):
    args = gate_parser(__doc__, {'--readd': "the symmetric overlay (VolTrim readd=True: buys back towards the target when the vol falls)"}).parse_args(argv)
    grid = {**VOL_TRIM_GRID, **({'readd': (True,)} if args.readd else {})}
    gate_main(args, argv, 'bench/vol_trim.py', run_window, grid, {'overlay.csv': 'overlay'})


if __name__ == '__main__': main(sys.argv[1:])
