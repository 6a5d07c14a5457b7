"""bench/track_record.py: the walk-forward choice between learners, built from benchmark runs' comparison.csv."""
import re, sys
from pathlib import Path
import pandas as pd
import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / 'bench'))
import track_record as trk


def _run(path, variant, mix, best=0.0, book=0.0):
    "A comparison.csv of one variant: `mix` {window: [agent_mix per coin x, y]}."
    rows = [dict(variant=variant, kind='pooled', window=w, coin=c, agent_mix=m, best_rule_sortino=best, rule_book=book)
            for w, ms in mix.items() for c, m in zip('xy', ms)]
    pd.DataFrame(rows).to_csv(path, index=False)
    return f"{variant}:{path}:{variant}"


def test_the_learner_ahead_in_earlier_windows_is_used_and_the_shares_follow(tmp_path, capsys):
    a = _run(tmp_path/'a.csv', 'a', {'2022H1': [-1, -1], '2022H2': [-1, -1], '2023H1': [1, 1]})
    b = _run(tmp_path/'b.csv', 'b', {'2022H1': [1, 1], '2022H2': [1, -2], '2023H1': [-1, -1]})
    out = tmp_path/'choices.csv'
    assert trk.main([a, b, '--periods', '2022H1-2022H2', '2023H1-2023H2', '--out', str(out), '--plot', str(tmp_path/'c.png')]) == 0
    assert (tmp_path/'c.png').read_bytes()[:4] == b'\x89PNG'
    t = pd.read_csv(out)
    # 2022H1: no history, the default a; 2022H2: b (+1 against -1 in 2022H1); 2023H1: b (b -0.25 against a -1 over both)
    assert t.groupby('window').chosen.first().to_dict() == {'2022H1': 'a', '2022H2': 'b', '2023H1': 'b'}
    assert t.track_record.tolist() == [-1, -1, 1, -2, -1, -1]
    text = capsys.readouterr().out
    row = next(l for l in text.splitlines() if l.startswith('| track_record'))
    assert re.findall(r'(\d+)% \(', row) == ['25', '0', '17']   # 1 of 4 in 2022, 0 of 2 in 2023, 1 of 6 pooled
    assert '- 2022H2: **b** (mean test Sortino over the 2 earlier coin-windows: a -1.00, b +1.00)' in text


def test_best_rules_that_disagree_or_a_missing_variant_stop_it(tmp_path):
    a = _run(tmp_path/'a.csv', 'a', {'2022H1': [0, 0]})
    b = _run(tmp_path/'b.csv', 'b', {'2022H1': [0, 0]}, best=0.5)
    with pytest.raises(SystemExit, match="variant 'b' has other best rules than 'a'"):
        trk.main([a, b])
    with pytest.raises(SystemExit, match="no pooled rows of variant 'c'"):
        trk.main([a, f"c:{tmp_path/'a.csv'}:c"])
    with pytest.raises(SystemExit, match='at least two candidates'):
        trk.main([a])
    with pytest.raises(SystemExit, match='nope.csv: no such file'):
        trk.main([a, f"b:{tmp_path/'nope.csv'}:b"])
    with pytest.raises(SystemExit, match='expected NAME:CSV:VARIANT'):
        trk.main([a, 'b.csv'])
    (tmp_path/'other.csv').write_text('x,y\n1,2\n')
    with pytest.raises(SystemExit, match='not a benchmark comparison.csv'):
        trk.main([a, f"b:{tmp_path/'other.csv'}:b"])


def test_the_book_can_be_a_candidate(tmp_path):
    a = _run(tmp_path/'a.csv', 'a', {'2022H1': [-1, -1], '2022H2': [-1, -1]}, book=2.0)
    out = tmp_path/'c.csv'
    assert trk.main([a, '--book', '--out', str(out)]) == 0
    t = pd.read_csv(out)
    assert t.chosen.tolist() == ['a', 'a', 'rule_book', 'rule_book'] and t.track_record.tolist() == [-1, -1, 2, 2]


def test_the_book_first_is_kept_until_a_learner_has_the_better_record(tmp_path):
    a = _run(tmp_path/'a.csv', 'a', {'2022H1': [3, 3], '2022H2': [-1, -1], '2023H1': [0, 0]}, book=1.0)
    out = tmp_path/'c.csv'
    assert trk.main([a, '--book-first', '--out', str(out)]) == 0
    t = pd.read_csv(out)   # 2022H1: no record, the book; 2022H2: a (+3 against +1); 2023H1: the book (a +1 = book +1: a tie keeps the first)
    assert t.chosen.tolist() == ['rule_book'] * 2 + ['a'] * 2 + ['rule_book'] * 2 and t.track_record.tolist() == [1, 1, -1, -1, 1, 1]
    assert trk.main([a, '--book', '--out', str(out)]) == 0 and pd.read_csv(out).chosen.tolist()[:2] == ['a', 'a']   # --book: a first
    assert trk.main([a, '--book-first', '--margin', '1.5', '--out', str(out)]) == 0   # a's lead in 2022H2 (+2) exceeds 1.5
    assert pd.read_csv(out).chosen.tolist()[2:4] == ['a', 'a']
    assert trk.main([a, '--book-first', '--margin', '2', '--out', str(out)]) == 0      # not 2: the book throughout
    assert pd.read_csv(out).chosen.tolist() == ['rule_book'] * 6
    with pytest.raises(SystemExit) as e: trk.main([a, '--book', '--book-first'])   # one place for the book, not both
    assert e.value.code == 2


def test_evidence_keeps_the_first_on_a_thin_lead(tmp_path):
    a = _run(tmp_path/'a.csv', 'a', {'2022H1': [0, 0], '2022H2': [0, 0]})
    b = _run(tmp_path/'b.csv', 'b', {'2022H1': [2, -1.5], '2022H2': [0, 0]})   # a lead of +0.25 from two coins that disagree
    out = tmp_path/'c.csv'
    assert trk.main([a, b, '--out', str(out)]) == 0 and pd.read_csv(out).chosen.tolist() == ['a', 'a', 'b', 'b']
    assert trk.main([a, b, '--evidence', '0.95', '--out', str(out)]) == 0
    t = pd.read_csv(out)
    assert t.chosen.tolist() == ['a'] * 4 and t.support.iloc[2] == pytest.approx(0.75, abs=0.05)   # ahead unless both draws are -1.5

