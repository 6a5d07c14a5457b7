"""bench/stacking_sweep.py: the row chosen on the first period (ties: ahead of the book), its confirmation on the others."""
import sys
import pandas as pd
from conftest import ROOT
sys.path.insert(0, str(ROOT/'bench'))
from stacking_sweep import sweep


def comparison(path, wins):
    "A comparison.csv: `wins[tag]` = list of (ahead of the best rule, ahead of the book) per coin-window, windows W0/W1."
    rows = []
    for tag, ws in wins.items():
        for i, (best, book) in enumerate(ws):
            rows.append(dict(variant=f'x_stacking_{tag}', kind='pooled', window=f'W{i % 2}', coin=f'C{i}', beats_agent_mix=bool(best),
                             agent_mix=1.0, rule_book=0.0 if book else 2.0, best_rule_sortino=0.0))
    rows.append(dict(variant='x', kind='pooled', window='W0', coin='C0', beats_agent_mix=True, agent_mix=1.0, rule_book=0.0, best_rule_sortino=0.0))
    pd.DataFrame(rows).to_csv(path, index=False)
    return path


def test_choice_tie_break_and_confirmation(tmp_path):
    sel = comparison(tmp_path/'sel.csv', {'s0': [(1, 0), (0, 0), (0, 0), (0, 0)], 'a': [(1, 0), (1, 0), (0, 0), (0, 0)],
                                          'b': [(1, 1), (1, 0), (0, 0), (0, 0)], 'only_here': [(1, 1)] * 4})
    conf = comparison(tmp_path/'conf.csv', {'s0': [(1, 0), (0, 0)] * 10, 'a': [(1, 1)] * 20, 'b': [(1, 0)] * 19 + [(0, 0)]})
    table, lines = sweep([sel, conf], 'x_stacking_', 's0')
    assert 'only_here' in lines[0]                       # the row with the highest share on the selection period
    assert not any(l.startswith('confirmed') for l in lines)   # not run on the confirming period: no verdict
    sel2 = comparison(tmp_path/'sel2.csv', {'s0': [(1, 0), (0, 0), (0, 0), (0, 0)], 'a': [(1, 0), (1, 0), (0, 0), (0, 0)],
                                            'b': [(1, 1), (1, 0), (0, 0), (0, 0)]})
    table, lines = sweep([sel2, conf], 'x_stacking_', 's0')
    assert ': b (50%' in lines[0]   # a and b tie on the best rule; b is ahead of the book more often
    assert lines[1].startswith('confirmed: True'), lines[1]   # 95 % vs s0's 50 % held out; pooled 19+2 of 24, CI above 50 %
    assert '| b ' in table and 'x_stacking_' not in table and '| x ' not in table
    assert 'Spearman' in lines[-1]
