"""bench/target_gap.py: each row's lift to the 70 % target from the committed per-coin-window tables, and the page it writes."""
import importlib.util
import numpy as np
import pandas as pd
from conftest import ROOT
from riskrl_nb.eval.benchmark import lift_to_target

spec = importlib.util.spec_from_file_location('target_gap', ROOT/'bench'/'target_gap.py')
tg = importlib.util.module_from_spec(spec); spec.loader.exec_module(tg)


def test_lifts_are_the_tables_own_and_the_committed_page_is_current(tmp_path, capsys):
    tables = tg.main(['--out', str(tmp_path/'gap.md')])
    for title, f in tg.TABLES.items():
        raw = pd.read_csv(tg.RESULTS/f)
        t = tables[title].set_index('key')
        for key in ('rival', 'rule_book'):
            d = (raw[key] - raw.best_rule_sortino).dropna()
            assert t.at[key, 'lift'] == lift_to_target(d) and t.at[key, 'share'] == (d > 0).mean()
            lifted = (d + t.at[key, 'lift'] + 1e-9 > 0).mean()
            assert lifted >= 0.7 and t.at[key, 'lo'] <= t.at[key, 'lift'] <= t.at[key, 'hi'], (title, key)
    # the interval: every resample of identical coin-windows has the same lift; spread-out ones give an interval around it
    assert tg.lift_ci(np.full(20, -0.5), 100) == (0.5, 0.5)
    d = np.random.default_rng(3).normal(-0.2, 1, 37)
    lo, hi = tg.lift_ci(d, 400)
    assert lo < lift_to_target(d) < hi and tg.lift_ci(d, 400) == (lo, hi)   # and the same on a rerun (seeded)
    # the committed page is what the script writes from the committed tables
    assert (tmp_path/'gap.md').read_text() == (ROOT/'docs'/'results'/'target_gap.md').read_text(), \
        'docs/results/target_gap.md is out of date: python bench/target_gap.py --out docs/results/target_gap.md'
