"""One figure of ablation 11's information tests (issue 13): in-sample against out-of-sample ROC-AUC of every input family,
for cutting earlier than the book and for holding on after a rule's exit, from the committed tables.

    python bench/information_plot.py [--results docs/results] [--out docs/results/benchmark_ablation11_information.png]

Per input family and classifier, one point per test half-year (x: AUC on the training trades, y: on the test half-year) and
the family's mean; 0.5 is no ranking information. Reads benchmark_ablation11_information.csv (the `basic` set),
..._information_feature_sets.csv (`rich`, `portable`, week/month trend/vol), ..._information_context.csv (cross-asset
context) and ..._hold_information.csv (holding 24 / 168 bars after a rule's exit).
"""
import argparse, sys
from pathlib import Path
import pandas as pd
import matplotlib
matplotlib.use('Agg')
import matplotlib.pyplot as plt


def families(r:Path) -> pd.DataFrame:
    "Long table: family, side (cut / hold), model, window, train_auc, test_auc."
    p = lambda name: pd.read_csv(r/f'benchmark_ablation11_{name}.csv')
    basic = p('information').assign(family='basic')
    fs = p('information_feature_sets').assign(family=lambda t: t.run.map({'rich': 'rich', 'portable': 'portable', 'trend_vol': 'trend/vol (week, month)'}))
    ctx = p('information_context')
    ctx = ctx[ctx.features.isin(['context', 'all+context'])].assign(family=lambda t: 'cross-asset ' + t.features.map({'context': 'alone', 'all+context': '+ basic'}))
    cut = pd.concat([basic[basic.features == 'all'], fs[fs.features == 'all'], ctx], ignore_index=True).assign(side='cut earlier than the book')
    hold = p('hold_information').assign(family=lambda t: 'hold ' + t.horizon.astype(str) + ' bars', side='hold on after a rule exits')
    keep = ['side', 'family', 'model', 'window', 'train_auc', 'test_auc']
    return pd.concat([cut[cut.model.isin(['hgb', 'logit'])][keep], hold[keep]], ignore_index=True)


def plot(t:pd.DataFrame, out:Path) -> Path:
    fams = list(dict.fromkeys(t.family))
    colours = dict(zip(fams, plt.cm.tab10.colors))
    fig, axes = plt.subplots(1, 2, figsize=(13, 5.2), sharey=True)
    for ax, model, title in zip(axes, ['hgb', 'logit'], ['gradient boosting', 'logistic regression']):
        s = t[t.model == model]
        for (side, fam), g in s.groupby(['side', 'family'], sort=False):
            mk = 'o' if side.startswith('cut') else 's'
            ax.scatter(g.train_auc, g.test_auc, s=14, color=colours[fam], marker=mk, alpha=0.45)
            ax.scatter(g.train_auc.mean(), g.test_auc.mean(), s=90, color=colours[fam], marker=mk, edgecolor='black', label=f'{fam} ({side.split()[0]})')
        ax.axhline(0.5, color='black', lw=0.8); ax.plot([0.4, 1.0], [0.4, 1.0], color='grey', lw=0.6, ls=':')
        ax.set_xlim(0.4, 1.0); ax.set_ylim(0.35, 0.75); ax.set_xlabel('ROC-AUC on the training trades (in sample)')
        ax.set_title(title)
    axes[0].set_ylabel('ROC-AUC on the test half-year (out of sample)')
    axes[1].legend(fontsize=7, loc='upper left')
    fig.suptitle('What candle features know about exiting earlier or later than the rules: 2020H1..2023H2, one small point per window, '
                 'large = mean', fontsize=10)
    fig.tight_layout(); fig.savefig(out, dpi=90); plt.close(fig)
    return out


def main(argv):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--results', type=Path, default=Path('docs/results'))
    ap.add_argument('--out', type=Path, default=Path('docs/results/benchmark_ablation11_information.png'))
    a = ap.parse_args(argv)
    t = families(a.results)
    print(t.groupby(['side', 'family', 'model'], sort=False)[['train_auc', 'test_auc']].mean().round(3).to_string())
    print('wrote', plot(t, a.out))


if __name__ == '__main__': main(sys.argv[1:])
