"""Choose a skill-benchmark row on some half-years, judge it on others (issue 13).

    python bench/select_confirm.py --select SEL.csv [SEL2.csv ...] --confirm CONF.csv [CONF2.csv ...]

Each file is a benchmark `comparison.csv` (docs/results/benchmark_*_comparison.csv). Several files per side are joined;
a variant's coin-window that appears in more than one file (the reference row every ablation repeats, identical bit for
bit) is kept once. Prints, per variant present on both sides, the share of coin-windows ahead of the best rule on each
side, the rank on the selection side, the row it chooses, and the Spearman correlation of the two sides' shares.
"""
import argparse, sys
import pandas as pd
from riskrl_nb.eval.benchmark import select_then_confirm, select_confirm_line


def read(files):
    d = pd.concat([pd.read_csv(f) for f in files], ignore_index=True)
    return d.drop_duplicates(['variant', 'kind', 'window', 'coin'])


def main(argv):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('--select', nargs='+', required=True, metavar='CSV')
    p.add_argument('--confirm', nargs='+', required=True, metavar='CSV')
    a = p.parse_args(argv)
    t = select_then_confirm(read(a.select), read(a.confirm))
    cols = ['select_rank', 'select_share', 'select_excess', 'confirm_share', 'confirm_excess', 'select_coin_windows', 'confirm_coin_windows']
    print(t[cols].to_markdown(floatfmt='.2f'))
    print('\n' + select_confirm_line(t))


if __name__ == '__main__': main(sys.argv[1:])
