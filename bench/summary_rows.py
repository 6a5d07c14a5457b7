"""Rows of a results table from merged benchmark outputs: one row per LABEL,summary.json,comparison.csv (the pooled variant).

    python bench/summary_rows.py "new 2022-23,runs/bench9/summary.json,runs/bench9/comparison.csv" "old 2022-23,docs/results/...summary.json,...comparison.csv"

Shares of the mix from `share_beating_best_rule` / `share_beating_rule_book` (with their CIs); means, single seeds against the
book and per-window wins from comparison.csv (columns `rule_book` / n/a where the table predates the book)."""
import json, sys
import pandas as pd
pct = lambda x: f"{100 * x:.0f} %"
rows = []
for label, sj, cc in [a.split(',') for a in sys.argv[1:]]:
    s = json.load(open(sj))['results']
    key = next(k for k in s if k.endswith('/pooled'))
    r = s[key]; b = r['share_beating_best_rule']; mix = b['agent_mix']; book = r.get('share_beating_rule_book') or {}
    c = pd.read_csv(cc); c = c[(c.kind == 'pooled') & (c.variant == key.split('/')[0])]
    seeds = sorted(k for k in b if k.startswith('agent_seed'))
    rows.append({'row': label, 'coin-windows': r['coin_windows'],
                 'mix ahead of best rule (CI)': f"{pct(mix['share'])} ({pct(mix['lo'])}–{pct(mix['hi'])})",
                 'mix ahead of book (CI)': f"{pct(book['share'])} ({pct(book['lo'])}–{pct(book['hi'])})" if book else 'n/a',
                 'mean Sortino mix − best rule': f"{r['mean_sortino_minus_best_rule']['agent_mix']:+.2f}",
                 'mean Sortino mix − book': f"{(c.agent_mix - c.rule_book).mean():+.2f}" if 'rule_book' in c else 'n/a',
                 'single seeds vs best rule': ' / '.join(f"{100 * b[k]['share']:.0f}" for k in seeds),
                 'single seeds vs book': ' / '.join(f"{100 * (c[k] > c.rule_book).mean():.0f}" for k in seeds) if 'rule_book' in c else 'n/a',
                 'DSR': f"{r['deflated_sharpe']['dsr']:.2f}", 'PBO': f"{r['pbo']['pbo']:.2f}",
                 'per window vs best rule': ', '.join(f"{int(g.beats_agent_mix.sum())}/{len(g)}" for _, g in c.groupby('window')),
                 'per window vs book': ', '.join(f"{int((g.agent_mix > g.rule_book).sum())}/{len(g)}" for _, g in c.groupby('window')) if 'rule_book' in c else 'n/a'})
print(pd.DataFrame(rows).to_markdown(index=False))
