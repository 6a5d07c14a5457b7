"""The figure and tables of ablation 11 from `bench/supervised_cuts.py` outputs.

    python bench/supervised_cuts_plot.py runs/cuts11/bench runs/cuts11/holdout --png docs/results/benchmark_ablation11.png

Left: ROC-AUC of "cutting the book now beats letting it run" per window, on the training, validation and test periods, for each
classifier (0.5 = no ranking information). Right: per coin-window Sortino of each supervised-cuts row minus the best rule's and
minus the rule book's. Prints the markdown tables the results doc quotes.
"""
import argparse, json, sys
from pathlib import Path
import numpy as np
import pandas as pd
import matplotlib
matplotlib.use('Agg')
import matplotlib.pyplot as plt
from riskrl_nb.eval import benchmark as B

ROWS = ['supervised_cuts', 'supervised_cuts_logit', 'book_in_parts']


def main(argv):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('runs', nargs='+', type=Path)
    p.add_argument('--png', type=Path, required=True)
    args = p.parse_args(argv)
    diag = pd.concat([pd.read_csv(r/'diagnostics.csv') for r in args.runs], ignore_index=True)
    comp = pd.concat([pd.read_csv(r/'comparison.csv') for r in args.runs], ignore_index=True)
    cuts = pd.concat([pd.read_csv(r/'cuts.csv') for r in args.runs], ignore_index=True)
    order = sorted(diag.window.unique())
    fig, ax = plt.subplots(1, 2, figsize=(13, 4.6))
    marks = {'train': 'o', 'valid': 's', 'test': 'D'}
    for ci, (kind, colour) in enumerate([('hgb', 'tab:blue'), ('logit', 'tab:orange')]):
        for period, mk in marks.items():
            d = diag[(diag.classifier == kind) & (diag.period == period)].set_index('window').reindex(order)
            x = np.arange(len(order)) + (ci - 0.5) * 0.25
            ax[0].plot(x, d.auc, mk, color=colour, alpha=1.0 if period == 'test' else 0.45, label=f'{kind} {period}')
    ax[0].axhline(0.5, color='k', lw=0.8)
    ax[0].set_xticks(range(len(order)), order); ax[0].set_ylabel('ROC-AUC: cut beats the book by > 1 round trip')
    ax[0].set_title('What the features know about cutting the book'); ax[0].legend(fontsize=7, ncol=2)
    for ri, (row, colour) in enumerate([('supervised_cuts', 'tab:blue'), ('supervised_cuts_logit', 'tab:orange'), ('book_in_parts', 'tab:grey')]):
        c = comp[comp.variant == row]
        xs = c.window.map({w: i for i, w in enumerate(order)}).to_numpy() + (ri - 1) * 0.22
        ax[1].plot(xs, c.agent_mix - c.best_rule_sortino, 'o', color=colour, ms=4, label=f'{row} − best rule')
        ax[1].plot(xs, c.agent_mix - c.rule_book, 'x', color=colour, ms=4, label=f'{row} − rule book')
    ax[1].axhline(0, color='k', lw=0.8)
    ax[1].set_xticks(range(len(order)), order); ax[1].set_ylabel('Sortino difference (test half-year)')
    ax[1].set_title('Per coin-window: the policy against the best rule and the book'); ax[1].legend(fontsize=7, ncol=2)
    fig.tight_layout(); args.png.parent.mkdir(parents=True, exist_ok=True); fig.savefig(args.png, dpi=110)
    d = diag.copy()
    d['period'] = pd.Categorical(d.period, ['train', 'valid', 'test'])
    print(d.pivot_table(index=['classifier', 'window'], columns='period', values='auc', observed=False).round(3).to_markdown())
    print()
    print(d.groupby(['classifier', 'period'], observed=False)[['auc', 'brier', 'brier_base', 'base_rate', 'spearman_p_gain']].mean().round(3).to_markdown())
    print()
    rows = []
    for r in args.runs:
        s = json.loads((r/'summary.json').read_text())['results']
        for key, b in s.items():
            v = key.split('/')[0]
            sb, bk = b['share_beating_best_rule']['agent_mix'], b['share_beating_rule_book']
            c = comp[(comp.variant == v) & comp.window.isin(b['windows'])]
            k = cuts[(cuts.classifier == {'supervised_cuts': 'hgb', 'supervised_cuts_logit': 'logit'}.get(v, 'never')) & cuts.window.isin(b['windows'])]
            rows.append({'row': v, 'period': f"{b['windows'][0]}..{b['windows'][-1]}", 'coin-windows': b['coin_windows'],
                         'ahead of best rule (95 % CI)': f"{sb['share']:.0%} ({sb['lo']:.0%}–{sb['hi']:.0%})",
                         'ahead of rule book (CI)': f"{bk['share']:.0%} ({bk['lo']:.0%}–{bk['hi']:.0%})",
                         'mean Sortino − best rule': f"{b['mean_sortino_minus_best_rule']['agent_mix']:+.2f}",
                         '− book': f"{(c.agent_mix - c.rule_book).mean():+.2f}",
                         'ahead of book in parts': f"{(c.agent_mix > comp[(comp.variant == 'book_in_parts')].set_index(['window', 'coin']).agent_mix.reindex(c.set_index(['window', 'coin']).index).to_numpy()).mean():.0%}",
                         'cuts / trades': f"{int(k.cuts.sum())} / {int(k.n_trades.sum())}",
                         'DSR': f"{b['deflated_sharpe']['dsr']:.2f}" if isinstance(b.get('deflated_sharpe'), dict) and 'dsr' in b['deflated_sharpe'] else '',
                         'PBO': f"{b['pbo']['pbo']:.2f}" if b.get('pbo') else ''})
    print(pd.DataFrame(rows).to_markdown(index=False))


if __name__ == '__main__': main(sys.argv[1:])
