"""Per-coin study of one benchmark window (analysis only: nothing here is used to choose or tune anything).

    python bench/study_window.py runs/bench4 --variant oracle_margin_first_bc --window 2023H1 --train-months 12 \
        --csv docs/results/benchmark_ablation4_2023H1.csv --png docs/results/benchmark_ablation4_2023H1.png

For every coin of the window: what the market did (buy-and-hold return and max drawdown of the test half-year and of the
training span before it), the tuned rules' Sortino on the test (the rule chosen on training data vs the one that was best
on the test in hindsight), the best point of the rule grid re-tuned on the test half-year itself (hindsight, for the
analysis only), and how long the agent (each seed of the benchmark's models) holds a trade vs the rules
(median bars held, trades, share of the agent's own exits). Re-evaluates the benchmark's saved models and tuned rules.
"""
import argparse, json, pickle
from pathlib import Path
import numpy as np
import pandas as pd
from riskrl_nb.agents.bundle import load_bundle
from riskrl_nb.eval import benchmark as B
from riskrl_nb.eval.evaluation import evaluation_period
from riskrl_nb.sim.execution import run_backtest
from riskrl_nb.sim.rules import tune_baselines, make_baseline, RULES
from riskrl_nb.core.metrics import sortino


def bh(close:pd.Series) -> tuple[float, float]:
    "Buy-and-hold return and max drawdown of a close series."
    return float(close.iloc[-1] / close.iloc[0] - 1), float((close / close.cummax() - 1).min())


def trade_stats(res) -> dict:
    t = res.trades
    own = t.exit_reason.astype(str).str.startswith('agent').mean() if len(t) else np.nan
    return dict(trades=len(t), median_bars=float(t.bars_held.median()) if len(t) else np.nan,
                mean_trade_return=float(t['return'].mean()) if len(t) else np.nan, own_exit_share=float(own))


def study(out:Path, variant:str, window:str, train_months:int, valid_months:int=3) -> pd.DataFrame:
    w = B.bench_window(window, valid_months=valid_months, train_months=train_months)
    part = pickle.loads((out/'parts'/f'{window}-{variant}.pkl').read_bytes())
    long = part['long']
    seeds = sorted(p for p in (out/'models'/variant/window).glob('seed*'))
    bundles = [load_bundle(s) for s in seeds]
    frames = B.load_coins(part['coins'])
    ev = B.CoinEvaluator(frames)
    cfg = bundles[0].cfg
    chosen = long.best_rule.iloc[0]
    rows = []
    for coin, df in frames.items():
        sim = ev.sim(coin, cfg)
        a, b, _ = evaluation_period(df, bundles[0], w.test_start, w.test_end)
        r = dict(coin=coin, window=window, chosen_rule=chosen)
        r['test_return'], r['test_max_dd'] = bh(df.close.iloc[a:b])
        tr = df.close[w.train_start:w.valid_end]
        r['train_return'], r['train_max_dd'] = bh(tr)
        sub = long[long.coin == coin].set_index('policy')
        for n in RULES: r[f'sortino_{n}'] = float(sub.at[n, 'sortino'])
        r['sortino_agent_mix'] = float(sub.at['agent_mix', 'sortino'])
        r['hindsight_rule'] = max(RULES, key=lambda n: r[f'sortino_{n}'])
        r['agent_beats_chosen'] = r['sortino_agent_mix'] > r[f'sortino_{chosen}']
        # rule grid re-tuned on this coin's test half-year: hindsight, never used by the benchmark
        best, grid = tune_baselines([sim], [(a, b)], cfg.baselines, 8760)
        g = grid.sort_values('score', ascending=False).iloc[0]
        r['hindsight_grid_rule'], r['hindsight_grid_params'], r['hindsight_grid_sortino'] = g.baseline, json.dumps(g.params), float(g.score)
        for n, p in bundles[0].baselines.items():
            s = trade_stats(run_backtest(sim, make_baseline(n, p), a, b))
            for k, v in s.items(): r[f'{n}_{k}'] = v
        agent = [trade_stats(run_backtest(sim, bd.policy(bd.scaler.transform(ev.features(coin, bd.cfg))), a, b)) for bd in bundles]
        for k in agent[0]: r[f'agent_{k}'] = float(np.nanmean([s[k] for s in agent]))
        rows.append(r)
    return pd.DataFrame(rows)


def plot(t:pd.DataFrame, path:Path, title:str):
    import matplotlib; matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    chosen = t.chosen_rule.iloc[0]
    x, w = np.arange(len(t)), 0.2
    fig, ax = plt.subplots(3, 1, figsize=(11, 10), sharex=True)
    ax[0].bar(x - w / 2, 100 * t.train_return, w, label='training span (buy and hold)', color='0.6')
    ax[0].bar(x + w / 2, 100 * t.test_return, w, label='test half-year (buy and hold)', color='tab:blue')
    ax[0].set_ylabel('return %'); ax[0].axhline(0, color='k', lw=0.6); ax[0].legend(fontsize=8); ax[0].set_title(title)
    for i, (n, c) in enumerate([('agent_mix', 'tab:red'), (chosen, 'k'), *[(n, col) for n, col in
                                 zip(RULES, ['tab:green', 'tab:orange', 'tab:purple']) if n != chosen]]):
        lab = {'agent_mix': 'agent (mix of seeds)', chosen: f'{chosen} (chosen on training)'}.get(n, n)
        ax[1].bar(x + (i - 1.5) * w, t[f'sortino_{n}'], w, label=lab, color=c)
    ax[1].scatter(x, t.hindsight_grid_sortino, marker='*', color='gold', edgecolor='k', s=90, zorder=3,
                  label='best grid point re-tuned on the test (hindsight)')
    ax[1].set_ylabel('Sortino on the test'); ax[1].axhline(0, color='k', lw=0.6); ax[1].legend(fontsize=7, ncol=2, loc='upper left')
    for i, (n, c) in enumerate([('agent', 'tab:red'), *[(n, col) for n, col in zip(RULES, ['tab:green', 'tab:orange', 'tab:purple'])]]):
        ax[2].bar(x + (i - 1.5) * w, t[f'{n}_median_bars'], w, label={'agent': 'agent (mean of seeds)', chosen: f'{chosen} (chosen)'}.get(n, n),
                  color='k' if n == chosen else c)
    ax[2].set_ylabel('median bars held (hours)'); ax[2].legend(fontsize=8, ncol=4)
    ax[2].set_xticks(x); ax[2].set_xticklabels([f"{c}{' (won)' if won else ''}" for c, won in zip(t.coin, t.agent_beats_chosen)])
    for a in ax: a.grid(alpha=0.3, axis='y')
    fig.tight_layout(); fig.savefig(path, dpi=110); plt.close(fig)


if __name__ == '__main__':
    p = argparse.ArgumentParser()
    p.add_argument('out'); p.add_argument('--variant', required=True); p.add_argument('--window', required=True)
    p.add_argument('--train-months', type=int, default=12); p.add_argument('--csv'); p.add_argument('--png')
    p.add_argument('--from-csv', action='store_true', help='only redraw the figure from --csv')
    a = p.parse_args()
    t = pd.read_csv(a.csv) if a.from_csv else study(Path(a.out), a.variant, a.window, a.train_months)
    if a.csv and not a.from_csv: t.to_csv(a.csv, index=False)
    if a.png: plot(t, Path(a.png), f'{a.window}: {a.variant}, per coin')
    pd.set_option('display.width', 250)
    print(t.drop(columns=['window', 'chosen_rule']).round(3).to_markdown(index=False))
