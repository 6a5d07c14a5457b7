"""Tables and figure of the wide-book gate (ablation 15) from `bench/wide_book.py`'s outputs.

    python bench/wide_book_table.py "2022-23,runs/wb15/bench" "2020-21,runs/wb15/holdout" --csv GATE.csv --png OUT.png \
        [--books-csv BOOKS.csv] [--scan-csv SCAN.csv] [--tuning-csv TUNING.csv]

Per period: the chosen book against the best rule (the gate), against today's equal-weight book of the three tuned rules
and against each rule, and today's book against the best rule, as the share of coin-windows ahead on Sortino with the
benchmark's bootstrap CIs (`share_ci`: over coin-windows; over whole windows), per-window counts and the mean Sortino change
(`regime_rules_table.gate_rows`); the chosen setting, members and weights per window; with scan.csv, every grid setting's test
shares (a diagnostic after the choice, never used to choose). Prints markdown, writes CSVs, plots the Sortino change per
coin-window.
"""
import argparse, sys
from pathlib import Path
import pandas as pd
from riskrl_nb.eval.benchmark import share_ci
sys.path.insert(0, str(Path(__file__).resolve().parent))
from regime_rules_table import gate_rows, plot

VARIANT, NAME = 'wide_book', 'wide book'


def scan_rows(label:str, d:Path) -> pd.DataFrame:
    f = d/'scan.csv'
    if not f.exists(): return pd.DataFrame()
    s, out = pd.read_csv(f), []
    for (k, w, m), g in s.groupby(['k', 'weighting', 'max_corr'], sort=False):
        ci = share_ci((g.sortino > g.sortino_best).to_numpy(), g.window.to_numpy())
        cb = share_ci((g.sortino > g.sortino_rule_book).to_numpy(), g.window.to_numpy())
        out.append(dict(period=label, k=k, weighting=w, max_corr=m, members=f"{g.n_members.min()}-{g.n_members.max()}",
                        share=ci['share'], lo=ci['lo'], hi=ci['hi'], tied=int((g.sortino == g.sortino_best).sum()),
                        mean_sortino_change=float((g.sortino - g.sortino_best).mean()),
                        vs_book=cb['share'], vs_book_lo=cb['lo'], vs_book_hi=cb['hi'], tied_book=int((g.sortino == g.sortino_rule_book).sum()),
                        mean_change_vs_book=float((g.sortino - g.sortino_rule_book).mean()), chosen_in=int(g.groupby('window').chosen.first().sum())))
    return pd.DataFrame(out)


def main(argv):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('periods', nargs='+', help='LABEL,DIR (a bench/wide_book.py --out folder)')
    p.add_argument('--csv', type=Path); p.add_argument('--png', type=Path)
    p.add_argument('--books-csv', type=Path); p.add_argument('--scan-csv', type=Path)
    p.add_argument('--tuning-csv', type=Path, help="every grid setting's members, weights and training score, per window (the periods' tuning.csv)")
    args = p.parse_args(argv)
    periods = [(s.split(',')[0], Path(s.split(',')[1])) for s in args.periods]
    g = pd.DataFrame([r for label, d in periods for r in gate_rows(label, d, VARIANT, NAME)])
    if args.csv: g.to_csv(args.csv, index=False)
    print(g.to_markdown(index=False, floatfmt='.3f'))
    b = pd.concat([pd.read_csv(d/'books.csv').assign(period=label) for label, d in periods])
    if args.books_csv: b.to_csv(args.books_csv, index=False)
    print(b.to_markdown(index=False, floatfmt='.3f'))
    if args.tuning_csv: pd.concat([pd.read_csv(d/'tuning.csv').assign(period=label) for label, d in periods]).to_csv(args.tuning_csv, index=False)
    sc = pd.concat([scan_rows(label, d) for label, d in periods])
    if len(sc):
        if args.scan_csv: sc.to_csv(args.scan_csv, index=False)
        print(sc.to_markdown(index=False, floatfmt='.3f'))
    if args.png: plot(periods, args.png, VARIANT, NAME)


if __name__ == '__main__': main(sys.argv[1:])
