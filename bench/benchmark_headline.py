"""One markdown row per benchmark variant from a `riskrl benchmark` summary.json: the issue-13 headline figures.

    python bench/benchmark_headline.py runs/bench/summary.json
"""
import json, sys


def pct(x): return 'n/a' if x is None else f'{x:.0%}'


def main(path):
    res = json.load(open(path))['results']
    cols = ['variant', 'coin-windows', 'mix of seeds ahead (95 % CI)', 'seed picked on validation ahead (CI)', 'single seeds',
            'mix ahead of fixed_tp_sl / atr_trailing / hold_to_horizon', 'mix ahead of the rule book (CI)', 'mean Sortino excess (mix)', 'ahead on return', 'excess Sharpe (ann.)', 'deflated Sharpe', 'PBO']
    print('| ' + ' | '.join(cols) + ' |'); print('|' + '---|' * len(cols))
    for key, b in res.items():
        s = b['share_beating_best_rule']
        mix, pick = s.get('agent_mix', {}), s.get('agent_pick') or {}
        seeds = ' / '.join(pct(v['share']) for k, v in sorted(s.items()) if k.startswith('agent_seed'))
        ret = b.get('share_beating_best_rule_on_return') or {}
        pbo = b.get('pbo') or {}
        book = b.get('share_beating_rule_book') or {}   # summaries made before the benchmark built the rule book have none
        print(f"| {key} | {b['coin_windows']} | **{pct(mix.get('share'))}** ({pct(mix.get('lo'))}..{pct(mix.get('hi'))}) | "
              f"{pct(pick.get('share'))} ({pct(pick.get('lo'))}..{pct(pick.get('hi'))}) | {seeds} | "
              f"{' / '.join(pct(b['share_beating_rule'].get(r)) for r in ('fixed_tp_sl', 'atr_trailing', 'hold_to_horizon'))} | "
              f"{pct(book.get('share'))} ({pct(book.get('lo'))}..{pct(book.get('hi'))}) | "
              f"{b['mean_sortino_minus_best_rule'].get('agent_mix', float('nan')):+.2f} | {pct(ret.get('share'))} | "
              f"{b.get('excess_sharpe_annual', float('nan')):+.2f} | {b['deflated_sharpe']['dsr']:.3f} | "
              f"{'n/a' if pbo.get('pbo') is None else format(pbo['pbo'], '.2f')} |")


if __name__ == '__main__': main(sys.argv[1])
