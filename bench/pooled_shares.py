"""Shares of coin-windows won, per period and pooled over periods, from the comparison.csv of benchmark runs.

    python bench/pooled_shares.py default:docs/results/benchmark_ablation3_comparison.csv:oracle_margin_first_bc:mix \
                                  default:runs/period3/comparison.csv:oracle_margin_first_bc:mix  book:runs/period3/comparison.csv::book

Each argument is LABEL:CSV:VARIANT:WHAT; WHAT is `mix` (the mix of seeds beats the best rule chosen on training data, the
benchmark's `beats_agent_mix`), `book` (the equal-weight book of the tuned rules beats the best rule; VARIANT empty = the
first variant, the rules do not depend on the agent) or `mix_vs_book` (the mix beats the book). Prints one line per argument
and one pooled line per LABEL over all its coin-windows, with `share_ci`'s bootstrap CIs over coin-windows and over whole
windows. `--drop` / `--keep WINDOW:COIN ...` restrict every count to some coin-windows (a sensitivity cut fixed beforehand).
Nothing is chosen here.
"""
import argparse, sys
import pandas as pd
from riskrl_nb.eval.benchmark import share_ci


def wins(path, variant, what) -> pd.DataFrame:
    c = pd.read_csv(path)
    c = c[(c.kind == 'pooled') & (c.variant == (variant or c.variant.iloc[0]))]
    if not len(c): raise SystemExit(f"{path}: no pooled rows of variant '{variant}'")
    if what != 'mix' and 'rule_book' not in c: raise SystemExit(f"{path}: no rule_book column")
    won = {'mix': lambda: c.beats_agent_mix.astype(bool), 'book': lambda: c.rule_book > c.best_rule_sortino,
           'mix_vs_book': lambda: c.agent_mix > c.rule_book}[what]()
    return pd.DataFrame(dict(window=c.window, coin=c.coin, won=won))


def line(label, source, w) -> dict:
    ci = share_ci(w.won.to_numpy(), w.window.to_numpy())
    cl = f"{ci['lo_cluster']:.0%}–{ci['hi_cluster']:.0%}" if ci.get('lo_cluster') is not None else 'n/a'
    return dict(label=label, source=source, windows=' '.join(sorted(w.window.unique())), won=f"{int(w.won.sum())}/{len(w)}",
                share=f"{ci['share']:.0%}", ci=f"{ci['lo']:.0%}–{ci['hi']:.0%}", ci_windows=cl)


def main(argv):
    p = argparse.ArgumentParser()
    p.add_argument('specs', nargs='+', metavar='LABEL:CSV:VARIANT:WHAT')
    p.add_argument('--drop', nargs='+', default=[], metavar='WINDOW:COIN', help='coin-windows left out of every count')
    p.add_argument('--keep', nargs='+', default=[], metavar='WINDOW:COIN', help='count only these coin-windows')
    args = p.parse_args(argv)
    drop, keep = {tuple(x.split(':')) for x in args.drop}, {tuple(x.split(':')) for x in args.keep}
    rows, pooled = [], {}
    for a in args.specs:
        label, path, variant, what = a.split(':')
        w = wins(path, variant, what)
        k = list(zip(w.window, w.coin))
        w = w[[x not in drop and (not keep or x in keep) for x in k]]
        if pooled.get(label) is not None and set(w.window) & set(pooled[label].window):
            raise SystemExit(f"{a}: windows already counted under '{label}'")
        rows.append(line(label, f"{path.split('/')[-1]} {variant} {what}", w))
        pooled[label] = pd.concat([pooled.get(label), w])
    rows += [line(label, 'all periods pooled', w) for label, w in pooled.items()]
    print(pd.DataFrame(rows).to_markdown(index=False, disable_numparse=True))


if __name__ == '__main__': main(sys.argv[1:])
