"""Markdown table of bench/skill_screen.py's summary.jsonl (one row per variant and seed)."""
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1] if len(sys.argv) > 1 else 'runs/screen/summary.jsonl')]
print('| variant | seed | beats pooled-best rule (20 coin-windows) | of which unseen coins (8) | beats every rule | mean Sortino excess | mean return | trades / half-year | median bars held | agent-exit share |')
print('|---|---|---:|---:|---:|---:|---:|---:|---:|---:|')
for r in rows:
    seed = r['seed'] if not isinstance(r['seed'], list) else '+'.join(s.split('-s')[-1] for s in r['seed'])
    print(f"| {r['variant']} | {seed} | {r['beats_best']:.0%} | {r['beats_best_unseen']:.0%} | {r['beats_all']:.0%} | {r['excess_sortino']:+.2f} | "
          f"{r['agent_return']:+.1%} | {r['trades']:.1f} | {r['median_bars']:.0f} | {r['own_exit']:.2f} |")
