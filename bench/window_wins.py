"""Coin-windows won by the agent (mix of seeds) against the window's best rule, per variant and window, from comparison.csv.

    python bench/window_wins.py runs/bench4/comparison.csv
"""
import sys
import pandas as pd

c = pd.read_csv(sys.argv[1])
c = c[c.kind == 'pooled']
t = c.groupby(['variant', 'window']).beats_agent_mix.agg(lambda s: f"{int(s.sum())}/{len(s)}").unstack('window')
t['total'] = c.groupby('variant').beats_agent_mix.agg(lambda s: f"{int(s.sum())}/{len(s)}")
print(t.to_markdown())
