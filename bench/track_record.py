"""Choose between learners by their walk-forward track record (`track_record_report`), from runs made apart.

    python bench/track_record.py clone:docs/results/benchmark_default_150k_bench_comparison.csv:default \
        no_clone:docs/results/positive_control_no_clone_bench_comparison.csv:no_clone ... \
        --rows rival:docs/results/positive_control_fresh_rival_bench_comparison.csv:fresh_rival \
        --periods 2018H2-2019H2 2020H1-2021H2 2022H1-2023H2 [--book] [--out choices.csv] [--plot choices.png]

Each positional argument is NAME:CSV:VARIANT, one run's comparison.csv (several per NAME, e.g. one per period, are stacked);
the names are the candidates, the first is the default; `--book` adds the equal-weight book of the tuned rules,
`--book-first` adds it as the default (a learner must earn its place). `--rows`
adds rows only to compare against (never chosen). The runs must be the same benchmark (the same best rule per
coin-window); only coin-windows every run has are used. Prints the markdown `riskrl benchmark --track-record` writes:
the choice per window, the shares ahead of the best rule per period and pooled, the difference to the default.
`--evidence 0.95` asks the leader's lead to hold in 95 % of bootstrap resamples; `--margin 0.6` asks it to exceed 0.6
test Sortino. Nothing is tuned here: the rule is fixed in
`track_record_choice`.
"""
import argparse, sys
from pathlib import Path
import pandas as pd
from riskrl_nb.core.config import RiskrlError
from riskrl_nb.eval.benchmark import track_record_report, plot_track_record


def stacked(specs: list) -> pd.DataFrame:
    "The runs' pooled comparison rows, each variant renamed to its NAME."
    parts = []
    for spec in specs:
        if spec.count(':') != 2: raise SystemExit(f"'{spec}': expected NAME:CSV:VARIANT")
        name, path, variant = spec.split(':')
        if not Path(path).is_file(): raise SystemExit(f"{path}: no such file")
        c = pd.read_csv(path)
        if not {'variant', 'kind', 'window', 'coin', 'agent_mix', 'best_rule_sortino', 'rule_book'} <= set(c.columns):
            raise SystemExit(f"{path}: not a benchmark comparison.csv (variant, kind, window, coin, agent_mix, best_rule_sortino, rule_book)")
        c = c[(c.kind == 'pooled') & (c.variant == variant)]
        if not len(c): raise SystemExit(f"{path}: no pooled rows of variant '{variant}'")
        parts.append(c.assign(variant=name))
    return pd.concat(parts, ignore_index=True)


def periods(ranges: list, windows) -> dict:
    return {r: [w for w in windows if r.split('-')[0] <= w <= r.split('-')[1]] for r in ranges}


def main(argv):
    p = argparse.ArgumentParser()
    p.add_argument('specs', nargs='+', metavar='NAME:CSV:VARIANT')
    p.add_argument('--rows', nargs='*', default=[], metavar='NAME:CSV:VARIANT', help='rows shown beside, never chosen')
    book = p.add_mutually_exclusive_group()
    book.add_argument('--book', action='store_true', help='the book of the tuned rules is a candidate too')
    book.add_argument('--book-first', action='store_true', help='the book is a candidate and the first one: a learner replaces it only '
                   'on a better record (with --evidence: on a lead that holds in that share of resamples)')
    p.add_argument('--periods', nargs='*', default=[], metavar='FIRST-LAST', help='windows reported together, e.g. 2022H1-2023H2')
    p.add_argument('--evidence', type=float, default=0.0, metavar='P', help='replace the first candidate only where the leader is '
                   'ahead in at least this share of bootstrap resamples of the earlier coin-windows (default 0: any lead)')
    p.add_argument('--margin', type=float, default=0.0, metavar='M', help='replace the first candidate only where the leader\'s record '
                   'is above its record by more than M (mean test Sortino; default 0: any lead)')
    p.add_argument('--out', help='write the per coin-window choices here (CSV)')
    p.add_argument('--plot', help="draw each candidate's record and test Sortino per window here (PNG)")
    args = p.parse_args(argv)
    comp = stacked(args.specs + args.rows)
    learners = list(dict.fromkeys(s.split(':')[0] for s in args.specs))
    cands = ['rule_book'] + learners if args.book_first else learners + (['rule_book'] if args.book else [])
    extra = list(dict.fromkeys(s.split(':')[0] for s in args.rows))
    if len(cands) < 2: raise SystemExit('give at least two candidates (or one and --book / --book-first)')
    sizes = comp.groupby('variant').size()
    try: tr, md = track_record_report(comp, cands, extra, periods(args.periods, sorted(comp.window.unique())), args.evidence, args.margin)
    except RiskrlError as e: raise SystemExit(str(e)) from None
    left = {n: int(k - len(tr)) for n, k in sizes.items() if k != len(tr)}
    if left: print(f"coin-windows not in every run, left out: {left}\n")
    print(md)
    if args.out: tr.reset_index().to_csv(args.out, index=False); print(f"wrote {args.out}")
    if args.plot: plot_track_record(tr, cands, args.plot); print(f"wrote {args.plot}")
    return 0


if __name__ == '__main__': sys.exit(main(sys.argv[1:]))
