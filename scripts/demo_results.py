"""Put a demo run's results into README.md: the side-by-side table and the equity/drawdown plot.

Reads DIR/eval/metrics.json and DIR/eval/equity.png of a `riskrl demo --out DIR` run, copies the plot to
docs/demo_equity.png and rewrites the block between <!-- DEMO-RESULTS --> and <!-- /DEMO-RESULTS -->
in README.md (then regenerate nbs/index.ipynb with scripts/readme_to_index.py).

    python scripts/demo_results.py DIR --command "make demo" [--seconds 45]
"""
import argparse, json, re, shutil
from pathlib import Path
from riskrl_nb.sim.rules import RULES
from riskrl_nb.eval.report import verdict_line

ROOT = Path(__file__).resolve().parents[1]
COLS = [('total_return', 'return', '{:+.1%}'), ('sharpe', 'Sharpe', '{:.2f}'), ('sortino', 'Sortino', '{:.2f}'),
        ('max_drawdown', 'max DD', '{:.1%}'), ('calmar', 'Calmar', '{:.2f}'), ('cvar_95', 'CVaR95', '{:.3%}'),
        ('n_trades', 'trades', '{:d}'), ('win_rate', 'win', '{:.0%}'), ('exit_efficiency', 'exit eff.', '{:.2f}'),
        ('fees_paid', 'fees', '{:.1%}')]


def table(m: dict) -> str:
    head = '| policy | ' + ' | '.join(c[1] for c in COLS) + ' |\n|---|' + '---:|' * len(COLS) + '\n'
    rows = []
    for name, p in m['policies'].items():
        cells = ['n/a' if p.get(k) is None else fmt.format(p[k]) for k, _, fmt in COLS]
        rows.append(f"| {'**agent**' if name == 'agent' else name} | " + ' | '.join(cells) + ' |')
    return head + '\n'.join(rows)


def block(m: dict, command: str, seconds: float | None) -> str:
    d, c, mod = m['data'], m['costs'], m.get('model', {})
    when = f" in {seconds:.0f} s on 2 CPU cores" if seconds else ''
    params = '; '.join(f"{n}: " + ', '.join(f'{k}={v}' for k, v in p['params'].items() if k != 'atr_window')
                       for n, p in m['policies'].items() if n in RULES and p.get('params'))
    return (f"`{command}` ({mod.get('algo', '?')}, {mod.get('timesteps', '?'):,} steps{when}), "
            f"test period {d['start'][:10]}..{d['end'][:10]} ({d['bars']} {d['interval']} bars of {d['symbol']}), "
            f"fee {c['fee_rate']:.2%} and slippage {c['slippage_bps']:g} bps on every fill:\n\n{table(m)}\n\n"
            f"Rule parameters, tuned on 2021-2022 and frozen: {params}. The sizing rows (`fixed_fraction` ... `cvar_limit`) "
            f"are the agent's exits with that rule's position size; `rule_book` holds the three rules in equal thirds, rebalanced "
            f"every bar (its per-bar return is the mean of theirs; its trades are theirs at a third of the size).\n" +
            (f"\n{verdict_line(m).replace('verdict:', '**Verdict:**', 1)}.\n" if verdict_line(m) else '') + seeds_text(m))


def seeds_text(m: dict) -> str:
    s = m.get('seeds')
    if not s: return ''
    runs = ', '.join(f"seed {r['seed']}{' (selected)' if r['seed'] == s['selected_seed'] else ''}: {r['total_return']:+.1%} "
                     f"(Sharpe {r['sharpe']:.2f})" for r in s['runs'])
    return (f"\n**One seed is one draw.** The demo trains {s['n']} seeds of the same config and keeps the one with the "
            f"{s['selection']}; on 2023 they give {runs}: mean {s['total_return_mean']:+.1%} \u00b1 {s['total_return_std']:.1%}, "
            f"{s['seeds_beating_best_rule']} of {s['n']} beat the best rule's Sharpe" +
            (f", {s['seeds_beating_rule_book']} the rule book's" if s.get('seeds_beating_rule_book') is not None else '') + ".\n")


if __name__ == '__main__':
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('run_dir', type=Path)
    ap.add_argument('--command', default='make demo')
    ap.add_argument('--seconds', type=float)
    a = ap.parse_args()
    m = json.loads((a.run_dir/'eval'/'metrics.json').read_text())
    (ROOT/'docs').mkdir(exist_ok=True)
    shutil.copy(a.run_dir/'eval'/'equity.png', ROOT/'docs'/'demo_equity.png')
    readme = (ROOT/'README.md').read_text()
    new = f"<!-- DEMO-RESULTS -->\n{block(m, a.command, a.seconds)}<!-- /DEMO-RESULTS -->"
    readme, n = re.subn(r'<!-- DEMO-RESULTS -->.*?<!-- /DEMO-RESULTS -->', lambda _: new, readme, flags=re.S)
    if not n: readme = readme.replace('<!-- DEMO-RESULTS -->', new, 1)
    (ROOT/'README.md').write_text(readme)
    print(new)
