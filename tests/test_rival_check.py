"""bench/rival_check.py: a fresh-rival benchmark run checked against the two standalone runs it combines."""
import json, sys
from pathlib import Path
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / 'bench'))
import rival_check


def _run(folder, variant, sortinos, chosen=None):
    "A benchmark output folder: comparison.csv (one window, two coins, seeds 0-1) and, for a rival run, each seed's meta.json."
    rows = [dict(variant=variant, kind='pooled', window='2023H1', coin=coin, agent_seed0=s0, agent_seed1=s1)
            for coin, (s0, s1) in sortinos.items()]
    folder.mkdir(parents=True); pd.DataFrame(rows).to_csv(folder/'comparison.csv', index=False)
    for seed, run in (chosen or {}).items():
        m = folder/'models'/variant/'2023H1'/f'seed{seed}'; m.mkdir(parents=True)
        (m/'meta.json').write_text(json.dumps(dict(fresh_rival=dict(chosen=run))))
    return str(folder)


def test_rival_run_equal_to_the_kept_runs_passes_and_a_difference_fails(tmp_path, capsys):
    clone = _run(tmp_path/'clone', 'default', {'BTC': (1.0, 2.0), 'ETH': (3.0, 4.0)})
    free = _run(tmp_path/'free', 'no_clone', {'BTC': (-1.0, -2.0), 'ETH': (-3.0, -4.0)})
    # seed 0 kept the clone run, seed 1 the fresh one: its Sortinos are the clone's for seed 0, the fresh run's for seed 1
    good = _run(tmp_path/'good', 'fresh_rival', {'BTC': (1.0, -2.0), 'ETH': (3.0, -4.0)}, {0: 'clone', 1: 'fresh'})
    assert rival_check.main([good, 'fresh_rival', clone, 'default', free, 'no_clone']) == 0
    assert '4 per-seed test Sortinos equal to the run validation kept, 0 differ; the fresh rival kept in 1 of 2 runs' in capsys.readouterr().out
    swapped = _run(tmp_path/'swapped', 'fresh_rival', {'BTC': (1.0, -2.0), 'ETH': (3.0, -4.0)}, {0: 'fresh', 1: 'clone'})
    assert rival_check.main([swapped, 'fresh_rival', clone, 'default', free, 'no_clone']) == 1   # the wrong run kept
    assert '4 differ' in capsys.readouterr().out
