"""bench/rival_noise.py: which run each rule keeps, coin-window by coin-window (the bootstrap itself is tested in nbs/34_training.ipynb)."""
import sys
from pathlib import Path
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / 'bench'))
import rival_noise

def test_per_seed_takes_each_coin_window_from_the_run_each_rule_keeps(tmp_path):
    def run(name, variant, s0):
        d = tmp_path/name; d.mkdir()
        pd.DataFrame([dict(variant=variant, kind='pooled', window='2023H1', coin=c, agent_seed0=v, best_rule_sortino=0.5)
                      for c, v in s0.items()]).to_csv(d/'comparison.csv', index=False)
        return d
    clone, fresh = run('c', 'default', {'BTC': 1.0, 'ETH': 0.0}), run('f', 'no_clone', {'BTC': 2.0, 'ETH': 3.0})
    choice = pd.DataFrame([dict(window='2023H1', seed=0, shipped=True, noise_aware=False)])
    t = rival_noise.per_seed(clone, 'default', choice, fresh, 'no_clone').set_index('coin')
    assert t.clone.tolist() == [1.0, 0.0] and t.noise_aware.tolist() == [1.0, 0.0]
    assert t.shipped.tolist() == [2.0, 3.0] and t.fresh.tolist() == [2.0, 3.0]
