"""Check a `train.fresh_rival` benchmark run against the two runs it combines: per window and seed, the test Sortino of
every coin equals that of the standalone run whose checkpoint validation kept (the clone-only default, or PPO without
the oracle pre-training: `configs/skill_no_clone.yaml`).

    python bench/rival_check.py RIVAL_RUN fresh_rival CLONE_RUN default NO_CLONE_RUN no_clone

Each RUN is a `riskrl benchmark` (or `bench/benchmark_parts.py merge`) output folder with the variant named after it:
comparison.csv and models/VARIANT/WINDOW/seedS/meta.json. Prints each difference and one summary line; exit 1 if any.
"""
import json, sys
from pathlib import Path
import pandas as pd


def rows(run, variant):
    c = pd.read_csv(Path(run)/'comparison.csv')
    c = c[(c.variant == variant) & (c.kind == 'pooled')]
    if not len(c): raise SystemExit(f"{run}/comparison.csv: no pooled rows of variant '{variant}'")
    return c.set_index(['window', 'coin'])


def main(argv):
    if len(argv) != 6: raise SystemExit(__doc__)
    rival_run, rival, clone_run, clone, free_run, free = argv
    R, runs = rows(rival_run, rival), {'clone': rows(clone_run, clone), 'fresh': rows(free_run, free)}
    same = differ = 0; kept = []
    for meta in sorted(Path(rival_run, 'models', rival).glob('*/seed*/meta.json')):
        window, seed = meta.parent.parent.name, int(meta.parent.name[4:])
        chosen = json.loads(meta.read_text())['fresh_rival']['chosen']; kept.append(chosen)
        for coin in R.loc[window].index:
            a, b = R.loc[(window, coin), f'agent_seed{seed}'], runs[chosen].loc[(window, coin), f'agent_seed{seed}']
            if abs(a - b) <= 1e-9: same += 1
            else: differ += 1; print(f"{window} seed {seed} {coin}: {a} here, {b} in the {chosen} run")
    print(f"{same} per-seed test Sortinos equal to the run validation kept, {differ} differ; "
          f"the fresh rival kept in {kept.count('fresh')} of {len(kept)} runs")
    return 1 if differ or not kept else 0


if __name__ == '__main__': sys.exit(main(sys.argv[1:]))
