"""bench/book_in_parts.py: the agent's mix against the three rules sharing one position (the never-cutting overlay's mix)."""
import subprocess, sys
from pathlib import Path
import numpy as np, pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / 'bench'))
from book_in_parts import book_in_parts, judge

RULE_S = dict(fixed_tp_sl=[0.1, 0.2, 0.3, 0.4], atr_trailing=[0.5, 0.6, 0.7, 0.8], hold_to_horizon=[0.9, 1.0, 1.1, 1.2])
KEYS = dict(kind='pooled', window=['2022H1', '2022H1', '2022H2', '2022H2'], coin=['BTC', 'ETH', 'BTC', 'ETH'])

def _table(variant, mix, seeds=None, **rules):
    t = pd.DataFrame(dict(variant=variant, **KEYS, **(RULE_S | rules), agent_mix=mix, best_rule_sortino=[0.0, 0.0, 2.0, 2.0],
                          rule_book=[9.0] * 4))
    for k, s in enumerate(seeds if seeds is not None else [mix, mix]): t[f'agent_seed{k}'] = s
    return t

def test_judge_counts_wins_over_the_book_in_parts_where_the_rules_are_the_same(tmp_path):
    _table('book_overlay', [1.0, 1.0, 1.0, 1.0]).to_csv(tmp_path / 'parts.csv', index=False)
    parts = book_in_parts(tmp_path / 'parts.csv')
    (r,) = judge(_table('default', [2.0, 1.0, 1.5, 0.0]), parts)   # a tie (1.0) is not a win
    assert r['n'] == 4 and r['vs_book_in_parts'] == 0.5 and np.isclose(r['mean_diff'], 0.125)
    assert r['vs_best_rule'] == 0.5 and r['vs_rule_book'] == 0.0 and r['book_in_parts_vs_best_rule'] == 0.5
    (other,) = judge(_table('other', [2.0] * 4, atr_trailing=[0.5, 0.6, 0.7, 0.9]), parts)   # one rule Sortino differs
    assert 'not compared' in other['note']

def test_an_overlay_that_cut_is_refused(tmp_path):
    _table('book_overlay', [1.0] * 4, seeds=[[1.0] * 4, [1.0, 1.0, 1.0, 1.2]]).to_csv(tmp_path / 'parts.csv', index=False)
    _table('default', [2.0] * 4).to_csv(tmp_path / 't.csv', index=False)
    r = subprocess.run([sys.executable, str(ROOT / 'bench' / 'book_in_parts.py'), '--parts', str(tmp_path / 'parts.csv'),
                        '--tables', str(tmp_path / 't.csv')], capture_output=True, text=True)
    assert r.returncode != 0 and 'some model cut' in r.stderr
