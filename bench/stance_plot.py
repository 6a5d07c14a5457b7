"""Figure of the eighth ablation: coin-windows won per window (rows against the reference) and the stance policies' choices.

    python bench/stance_plot.py OUT.png --period LABEL COMPARISON.csv[,MORE.csv] CHOICES.csv [--period ...]

COMPARISON files: benchmark comparison.csv files joined (a variant's coin-window kept once); CHOICES: the CSV written by
bench/stance_choices.py. Left: per test window, the share of coin-windows where each row's mix of seeds beats the best rule;
right: per window and stance row, the share of choices that went to each rule (coins and seeds pooled), the window's best
rule (chosen on training data) named under the bar.
"""
import argparse, sys
import matplotlib
matplotlib.use('Agg')
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from riskrl_nb.sim.rules import RULES
COLOURS = dict(fixed_tp_sl='tab:red', atr_trailing='tab:orange', hold_to_horizon='tab:blue')


def main(argv):
    p = argparse.ArgumentParser(); p.add_argument('png')
    p.add_argument('--period', nargs=3, action='append', metavar=('LABEL', 'COMPARISONS', 'CHOICES'), required=True)
    a = p.parse_args(argv)
    fig, axes = plt.subplots(len(a.period), 2, figsize=(14, 4.2 * len(a.period)), squeeze=False)
    for (label, comps, choices), (ax, bx) in zip(a.period, axes):
        c = pd.concat([pd.read_csv(f) for f in comps.split(',')]).drop_duplicates(['variant', 'kind', 'window', 'coin'])
        c = c[c.kind == 'pooled']
        won = c.groupby(['window', 'variant']).beats_agent_mix.mean().unstack()
        tot = c.groupby('variant').beats_agent_mix.agg(['sum', 'size'])
        n, x = len(won.columns), np.arange(len(won))
        for k, v in enumerate(won.columns):
            ax.bar(x + (k - (n - 1) / 2) * 0.8 / n, won[v] * 100, 0.8 / n,
                   label=f"{v}: {int(tot.loc[v, 'sum'])}/{int(tot.loc[v, 'size'])} ({tot.loc[v, 'sum'] / tot.loc[v, 'size']:.0%})")
        ax.axhline(50, color='grey', lw=0.8, ls='--'); ax.set_xticks(x, won.index); ax.set_ylim(0, 118); ax.set_yticks(range(0, 101, 20))
        ax.set_ylabel('% coin-windows: mix of seeds beats best rule'); ax.set_title(f'{label}: wins against the best rule (Sortino)')
        ax.legend(fontsize=8, loc='upper center', ncol=3)
        t = pd.read_csv(choices)
        g = t.groupby(['window', 'variant'])[[f'chose_{r}' for r in RULES]].sum()
        share = g.div(g.sum(axis=1), axis=0)
        best = t.groupby('window').best_rule.first()
        ticks, names = [], []
        for i, (w, v) in enumerate(share.index):
            xi = i + list(best.index).index(w) * 0.6   # a gap between windows
            bottom = 0
            for r in RULES:
                bx.bar(xi, share.loc[(w, v), f'chose_{r}'] * 100, 0.8, bottom=bottom, color=COLOURS[r], label=r if i == 0 else None)
                bottom += share.loc[(w, v), f'chose_{r}'] * 100
            ticks.append(xi); names.append(f"{w}\n{v.replace('stance', 's')}\nbest: {best[w].split('_')[0]}")
        bx.set_xticks(ticks, names, fontsize=7); bx.set_ylim(0, 100); bx.set_ylabel('% of choices (coins, seeds pooled)')
        bx.set_title(f'{label}: which rule the stance policies put in charge'); bx.legend(fontsize=8, loc='lower right')
    fig.tight_layout(); fig.savefig(a.png, dpi=110)
    print(a.png)


if __name__ == '__main__': main(sys.argv[1:])
