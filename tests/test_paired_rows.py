"""bench/paired_rows.py: two benchmark rows paired per coin-window, per period and pooled."""
import sys
from pathlib import Path
import numpy as np, pandas as pd, pytest, yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / 'bench'))
import paired_rows


def _rows(variant, windows, coins, mix, best=1.0):
    return pd.DataFrame(dict(variant=variant, kind='pooled', window=windows, coin=coins, agent_mix=mix,
                             best_rule_sortino=best, beats_agent_mix=np.asarray(mix) > best))


def _period(w1='2020H1', w2='2020H2'):
    ref = _rows('ref', [w1, w1, w2, w2], ['ADA', 'ETH', 'ADA', 'ETH'], [2.0, 0.0, 1.5, 3.0])
    # the row's cells in another order: by label ref-row differences are +1, -1, 0 (tie), -2; by position they are not
    row = _rows('row', [w2, w2, w1, w1], ['ETH', 'ADA', 'ETH', 'ADA'], [1.0, 1.5, -1.0, 3.0])
    return pd.concat([row, ref, _rows('other', [w1], ['ADA'], [9.0])])


def test_pairs_by_coin_window_not_by_position():
    s = paired_rows.paired_stats(paired_rows.pair(_period(), 'ref', 'row'))
    assert (s['row_ahead'], s['ties'], s['ref_ahead']) == (1, 1, 2)
    assert s['mean_diff'] == pytest.approx((1 - 1 + 0 - 2) / 4) and s['share_ahead'] == 0.25
    assert s['lo'] <= s['mean_diff'] <= s['hi'] and s['lo_windows'] <= s['mean_diff'] <= s['hi_windows']
    # two windows: resampling whole windows gives the means of {w1, w1}, {w1, w2}, {w2, w2} only: (1-1)/2=0 and (0-2)/2=-1
    assert (s['lo_windows'], s['hi_windows']) == pytest.approx((-1.0, 0.0))
    # ahead of the best rule (1.0): ref in w1 ADA, w2 ADA, w2 ETH; row in w1 ADA and w2 ADA
    assert (s['ref_won'], s['row_won'], s['only_ref_won'], s['only_row_won']) == (3, 2, 1, 0)
    # swapped rows: the difference changes sign
    assert paired_rows.paired_stats(paired_rows.pair(_period(), 'row', 'ref'))['mean_diff'] == pytest.approx(0.5)


def test_refuses_rows_tested_on_other_coin_windows():
    c = _period()
    with pytest.raises(SystemExit, match='same coin-windows'):
        paired_rows.pair(c[~((c.variant == 'row') & (c.coin == 'ETH') & (c.window == '2020H1'))], 'ref', 'row')
    with pytest.raises(SystemExit, match="no pooled rows of variant 'nope'"): paired_rows.pair(c, 'ref', 'nope')


def test_pooled_line_keeps_every_period_and_refuses_one_counted_twice(tmp_path):
    _period().to_csv(tmp_path / 'a.csv', index=False)
    b = _period('2021H1', '2021H2'); b.loc[b.variant == 'row', 'agent_mix'] += 4   # every row cell ahead in period b
    b.to_csv(tmp_path / 'b.csv', index=False)
    t = paired_rows.table([f'a:{tmp_path}/a.csv', f'b:{tmp_path}/b.csv'], 'ref', ['row'])
    assert list(t.period) == ['a', 'b', 'pooled'] and list(t.n) == [4, 4, 8]
    assert t.row_ahead.tolist() == [1, 4, 5] and t.mean_diff.iloc[-1] == pytest.approx((-0.5 + 3.5) / 2)
    with pytest.raises(SystemExit, match='already counted'):
        paired_rows.table([f'a:{tmp_path}/a.csv', f'a2:{tmp_path}/a.csv'], 'ref', ['row'])


def test_the_periods_variants_are_skill_batched_rows_unchanged():
    from riskrl_nb.eval.benchmark import load_variants   # (with each file's `_base` merged in)
    new = load_variants(ROOT / 'configs/skill_batched_periods.yaml')
    old = load_variants(ROOT / 'configs/skill_batched.yaml')
    assert list(new) == ['oracle_margin_first_bc', 'oracle_margin_first_bc_batched64', 'oracle_margin_first_bc_batched64s']
    assert all(new[k] == old[k] for k in new)


def test_single_seed_cells_are_averaged_per_coin_window_and_counted_per_seed():
    c = _period()
    c['agent_seed3'] = c.agent_mix + np.where(c.variant == 'row', 1.0, 0.0)   # the row one ahead on seed 3 everywhere
    c['agent_seed4'] = c.agent_mix
    for k in (3, 4): c[f'beats_agent_seed{k}'] = c[f'agent_seed{k}'] > c.best_rule_sortino
    s = paired_rows.paired_stats(paired_rows.pair(c, 'ref', 'row', cells=['agent_seed3', 'agent_seed4']))
    assert s['mean_diff'] == pytest.approx(-0.5 + 0.5)   # the mix's -0.5 on both seeds, +1 on seed 3: +0.5 averaged per cell
    # seed 3: row ahead of the best rule in w1 ADA, w2 ADA, w2 ETH (1.5+1, 1+1) and w1 ETH (-1+1=0: no); seed 4 as the mix
    assert (s['ref_won'], s['row_won'], s['only_ref_won'], s['only_row_won']) == (6, 5, 1, 0)
    with pytest.raises(SystemExit, match='no column agent_seed9'): paired_rows.pair(c, 'ref', 'row', cells=['agent_seed9'])
