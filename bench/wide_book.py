"""Wide-book gate (issue 13, ablation 15): does a book with more exit policies, or with weights from the training data, beat the best rule more often than the equal-weight book of the three tuned rules?

    python bench/wide_book.py MODELS [MODELS ...] --windows 2022H1 2022H2 2023H1 2023H2 --out DIR [--scan]

MODELS holds one model folder per window (MODELS/<window>/seed0): only its config and its tuned rules, their grid scores
and the best rule (`baselines.json`) are used, read as `bench/vol_trim.py` reads them (`load_window`). Per window:

- tuning (`tune_wide_book`, nb 21d): the top-k settings of each rule family by the rules' own pooled training score
  (`baselines.json`'s grid; rank 1 = the tuned rule) are backtested alone on each coin's training + validation bars (the
  rules' own tuning periods, `training_periods`; check: the tuned rules' mean Sortino there equals their score in
  `baselines.json`); for every setting of the grid (k, weighting, correlation threshold) the members and weights are
  estimated on those returns pooled over the coins, and the setting with the best mean Sortino over the coins is chosen.
  Nothing after the validation end is read;
- test: on each coin's test half-year, exactly as the benchmark evaluates (`evaluation_period`, `bench_metrics`), the three
  rules and the chosen book's members; the book is the benchmark's own `_add_book` with the chosen weights (`book_returns`,
  rebalanced every bar). Variant `wide_book` of the long table: agent_seed0 = the book (the benchmark's `add_rule_book`,
  `comparison`, `summarize_benchmark`, so the shares and CIs are the benchmark's, and `rule_book` is today's book).

Writes DIR/table.csv, comparison.csv, summary.json, books.csv (per window: chosen setting, members, weights, training scores
of the chosen book and of today's book), tuning.csv (every grid setting's members, weights and training score), tuned.json;
with --scan, scan.csv: every grid setting fixed on the test half-years (a diagnostic after the choice, never used to choose).
Deterministic.
"""
import sys, time
from pathlib import Path
import numpy as np
import pandas as pd
from riskrl_nb.core.metrics import sortino, book_returns
from riskrl_nb.eval import benchmark as B
from riskrl_nb.sim.execution import run_backtest
from riskrl_nb.sim.rules import make_baseline, RULES
from riskrl_nb.sim.wide_book import ranked_rules, candidates, member_returns, tune_wide_book, WIDE_BOOK_GRID
sys.path.insert(0, str(Path(__file__).resolve().parent))
from vol_trim import load_window, rule_train_scores, gate_parser, gate_main


def book_rows(rows:list, returns:dict, members:list, weights:list) -> tuple[list, dict]:
    """One window's long rows and returns (the three rules and the book's members) with the book added as `agent_seed0` by the
    benchmark's `_add_book` (weights `weights`); the members that are not one of the three rules are left out afterwards."""
    long = pd.DataFrame(rows)
    frames = {k: pd.DataFrame(v) for k, v in returns.items()}
    long = B._add_book(long, frames, 'agent_seed0', lambda cols: list(members), lambda key, cols: weights)
    long = long[long.policy.isin(list(RULES) + ['agent_seed0'])].assign(seed=lambda d: d.seed.where(d.policy != 'agent_seed0', 0))
    return long.to_dict('records'), {k: {p: f[p] for p in list(RULES) + ['agent_seed0']} for k, f in frames.items()}


def run_window(mdir:Path, name:str, grid:dict, coins_wanted=None, scan:bool=False) -> dict:
    w = load_window(mdir, name)
    rule_train, check = rule_train_scores(w)
    k_max = max(grid['k'])
    ranked = ranked_rules(w.info, k_max)
    sims = {c: w.ev.sim(c, w.cfg) for c in w.frames}
    t0 = time.process_time()
    train = member_returns({c: sims[c] for c in w.periods}, w.periods, ranked, k_max)
    chosen, table = tune_wide_book(train, ranked, grid, w.ppy)
    tune_cpu = time.process_time() - t0
    today = table[(table.k == 1) & (table.weighting == 'equal') & (table.max_corr == 1.0)].score.iloc[0]
    coins = [c for c in w.frames if not coins_wanted or c in coins_wanted]
    tests = {c: B.evaluation_period(w.frames[c], w.bundle, w.window.test_start, w.window.test_end)[:2] for c in coins}
    test_ret = member_returns({c: sims[c] for c in coins}, tests, ranked, k_max) if scan else {}
    rows, returns, scanned = [], {}, []
    v = 'wide_book'
    for c in coins:
        sim, (a, b) = sims[c], tests[c]
        res = {n: run_backtest(sim, make_baseline(rule, p), a, b) for n, rule, p in candidates(ranked, k_max)
               if n in RULES or n in chosen['members']}
        for n, r in res.items():
            rows.append(dict(variant=v, kind='pooled', window=name, coin=c, policy=n, seed=None, best_rule=w.best, **B.bench_metrics(r, sim)))
            returns.setdefault((v, 'pooled', name, c), {})[n] = r.returns
        if scan:   # diagnostic only, after the choice: every grid setting (fitted on training + validation) on the test half-year
            f = test_ret[c]
            s_rules = {r: sortino(f[r], w.ppy) for r in RULES}
            for t in table.itertuples():
                scanned.append(dict(window=name, coin=c, k=t.k, weighting=t.weighting, max_corr=t.max_corr, n_members=t.n_members,
                                    chosen=(t.k, t.weighting, t.max_corr) == tuple(chosen['setting'].values()), best_rule=w.best,
                                    sortino_best=s_rules[w.best], sortino_rule_book=sortino(book_returns(f[list(RULES)]), w.ppy),
                                    sortino=sortino(book_returns(f[t.members], t.weights), w.ppy)))
    rows, returns = book_rows(rows, returns, chosen['members'], chosen['weights'])
    book = dict(window=name, best_rule=w.best, **chosen['setting'], n_members=len(chosen['members']), members=' '.join(chosen['members']),
                weights=' '.join(f'{x:.3f}' for x in chosen['weights']), train_score=chosen['score'], train_score_rule_book=float(today))
    return dict(rows=rows, returns=returns, books=[book], scan=scanned,
                tuning=table.assign(window=name, members=table.members.str.join(' '), weights=table.weights.apply(lambda x: ' '.join(f'{y:.4f}' for y in x))),
                tuned=dict(window=name, best_rule=w.best, tuned=chosen, ranked=ranked, train_score_rule_book=float(today),
                           rule_train_score=rule_train, rule_scores_check=check, tune_cpu_s=tune_cpu, coins_tuned=list(w.periods)))


def main(argv):
    gate_main(gate_parser(__doc__, {}).parse_args(argv), argv, 'bench/wide_book.py', run_window, WIDE_BOOK_GRID, {'books.csv': 'books'})


if __name__ == '__main__': main(sys.argv[1:])
