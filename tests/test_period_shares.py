"""bench/book_vs_best.py and bench/pooled_shares.py: the book against the best rule, and shares pooled over periods."""
import sys
from pathlib import Path
import pandas as pd, pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / 'bench'))
from book_vs_best import book_table
import pooled_shares

def _table(variant='default', window=('2018H2', '2018H2', '2019H1', '2019H1'), book=(1.0, 0.0, 3.0, 0.5), mix=(2.0, -1.0, 0.0, 9.0)):
    t = pd.DataFrame(dict(variant=variant, kind='pooled', window=list(window), coin=['ETH', 'LTC', 'ETH', 'LTC'],
                          fixed_tp_sl=[0.5, 0.0, 2.0, 0.0], atr_trailing=[0.1, 0.2, 1.0, 1.0], hold_to_horizon=[0.0, 0.0, 0.0, 0.0],
                          agent_mix=list(mix), rule_book=list(book), best_rule='fixed_tp_sl'))
    t['best_rule_sortino'] = t.fixed_tp_sl
    t['beats_agent_mix'] = t.agent_mix > t.best_rule_sortino
    return t

def test_book_table_counts_the_book_ahead_and_splits_by_whether_the_chosen_rule_held(tmp_path):
    pd.concat([_table(), _table('other', mix=(0, 0, 0, 0))]).to_csv(tmp_path / 'c.csv', index=False)
    row, f = book_table(tmp_path / 'c.csv')
    assert len(f) == 4 and row['coin_windows'] == 4   # one row per coin-window, not per variant
    assert row['book_ahead'] == '75%' and row['per_window'] == '1/2, 2/2' and row['mean_book_minus_best'] == '+0.50'   # a tie is no win
    # fixed_tp_sl (chosen) was the test's best in 2018H2 ETH and 2019H1 ETH (LTC: atr_trailing 0.2 / 1.0 > 0)
    assert row['chosen_best_on_test'] == '2/4' and row['book_ahead_where_chosen_best'] == '2/2' and row['book_ahead_elsewhere'] == '1/2'

def test_book_table_refuses_variants_with_other_rules(tmp_path):
    pd.concat([_table(), _table('other', book=(1.0, 0.0, 3.0, 0.6))]).to_csv(tmp_path / 'c.csv', index=False)
    with pytest.raises(SystemExit, match='another book'): book_table(tmp_path / 'c.csv')

def test_pooled_shares_pools_periods_and_drops_coin_windows(tmp_path, capsys):
    def _pooled(*args):
        pooled_shares.main(list(args))
        return [[c.strip() for c in l.split('|')[1:-1]] for l in capsys.readouterr().out.splitlines()[2:]]

    _table().to_csv(tmp_path / 'a.csv', index=False)
    _table(window=('2020H1', '2020H1', '2020H2', '2020H2'), mix=(0, 0, 0, 0)).to_csv(tmp_path / 'b.csv', index=False)
    rows = _pooled(f'd:{tmp_path}/a.csv:default:mix', f'd:{tmp_path}/b.csv:default:mix', f'k:{tmp_path}/a.csv::book')
    assert [r[3] for r in rows] == ['2/4', '0/4', '3/4', '2/8', '3/4']   # mix: 2018H2 ETH and 2019H1 LTC; pooled 2 of 8; book 3 of 4
    rows = _pooled(f'd:{tmp_path}/a.csv:default:mix', '--drop', '2019H1:LTC')
    assert rows[-1][3] == '1/3'
    rows = _pooled(f'd:{tmp_path}/a.csv:default:mix', '--keep', '2019H1:LTC', '2019H1:ETH')
    assert rows[-1][3] == '1/2'
    with pytest.raises(SystemExit, match='already counted'):   # a period counted twice would inflate the pooled share
        _pooled(f'd:{tmp_path}/a.csv:default:mix', f'd:{tmp_path}/a.csv:default:mix')
