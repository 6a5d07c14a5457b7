"""Per benchmark variant: how often the validated clone was kept over every PPO checkpoint, and the oracle labels' statistics.

    python bench/oracle_clone_stats.py runs/bench2
"""
import json, sys
from pathlib import Path
import pandas as pd


def main(out):
    rows = []
    for m in sorted(Path(out, 'models').glob('*/*/seed*')):
        if not (m/'meta.json').exists(): continue
        log = pd.read_csv(m/'train_log.csv')
        score = log.columns[1]
        o = json.loads((m/'oracle.json').read_text()) if (m/'oracle.json').exists() else None
        rows.append(dict(variant=m.parts[-3], window=m.parts[-2], seed=m.name,
                         clone_validated=bool((log.timesteps == 0).any()),
                         clone_kept=bool((log.timesteps == 0).any() and log[score].idxmax() == log.index[log.timesteps == 0][0]),
                         clone_minus_best_ppo=(float(log[score][log.timesteps == 0].iloc[0] - log[score][log.timesteps > 0].max())
                                               if (log.timesteps == 0).any() else float('nan')),
                         close_labels=o and o['after']['close_share'], clone_predicts_close=o and o['after']['predicted_close_share'],
                         train_cpu_s=json.loads((m/'meta.json').read_text())['train_cpu_seconds']))
    df = pd.DataFrame(rows)
    g = df.groupby('variant', sort=False).agg(models=('seed', 'size'), clone_kept=('clone_kept', 'sum'),
                                              clone_minus_best_ppo=('clone_minus_best_ppo', 'median'),
                                              close_labels=('close_labels', 'mean'), clone_predicts_close=('clone_predicts_close', 'mean'),
                                              train_cpu_s=('train_cpu_s', 'mean'))
    print(g.to_markdown(floatfmt='.3f'))


if __name__ == '__main__': main(sys.argv[1])
