"""bench/rival_single_coin.py: paired walk-forward windows of the default and the clone-only run, and the coin-clustered CI."""
import json, sys
from pathlib import Path
import pandas as pd
import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / 'bench'))
import rival_single_coin as rsc


def _wf(folder, returns, chosen):
    "A walk-forward folder: one window, its per-bar test returns per seed and each seed's fresh_rival record."
    w = folder/'w00'; w.mkdir(parents=True)
    pd.DataFrame(returns, index=pd.date_range('2023-01-01', periods=2, freq='h')).rename_axis('timestamp').to_csv(w/'returns.csv')
    for seed, c in chosen.items():
        (w/f'seed{seed}').mkdir(); (w/f'seed{seed}'/'meta.json').write_text(json.dumps(dict(fresh_rival=dict(chosen=c))))
    return folder


def test_clone_kept_runs_differ_by_nothing_and_a_difference_is_an_error(tmp_path):
    same = {'agent_seed0': [0.01, 0.02], 'agent_seed1': [-0.01, 0.0]}
    a, b = _wf(tmp_path/'a', same, {0: 'clone', 1: 'clone'}), _wf(tmp_path/'b', same, {})
    rows = rsc.runs(a, b, 'BTC', 0.95, 10)
    assert [(r['seed'], r['d_strict'], r['d_noise_aware'], r['evidence']) for r in rows] == [(0, 0.0, 0.0, None), (1, 0.0, 0.0, None)]
    c = _wf(tmp_path/'c', {'agent_seed0': [0.01, 0.03], 'agent_seed1': [-0.01, 0.0]}, {0: 'clone', 1: 'clone'})
    with pytest.raises(SystemExit, match='validation kept the clone, yet its test return differs'):
        rsc.runs(c, b, 'BTC', 0.95, 10)


def test_window_return_compounds_and_coin_ci_resamples_whole_coins():
    assert abs(rsc.window_return(pd.DataFrame({'x': [0.1, -0.1]}), 'x') - (1.1 * 0.9 - 1)) < 1e-15
    t = pd.DataFrame(dict(coin=['A'] * 3 + ['B'] * 3, d=[1.0, 1.0, 1.0, -1.0, -1.0, -1.0]))
    m, lo, hi = rsc.coin_ci(t, 'd')
    assert m == 0.0 and lo == -1.0 and hi == 1.0   # a resample holds whole coins: all-A (+1), all-B (-1) or both (0)
