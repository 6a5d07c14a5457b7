"""bench/track_record_single_coin.py: on one coin's walk-forward, the learner with the better record so far is used."""
import json, sys
from pathlib import Path
import pandas as pd
import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / 'bench'))
import track_record_single_coin as trs

QUARTERS = [('2022-04-01', '2022-06-30'), ('2022-07-01', '2022-09-30'), ('2022-10-01', '2022-12-31')]


def _wf(folder, rets, chosen=None):
    "A walk-forward folder: per window its one-bar test return of seed 0 (so the window return is that number)."
    folder.mkdir(parents=True)
    pd.DataFrame([dict(window=i, test_start=a, test_end=b, policy='x') for i, (a, b) in enumerate(QUARTERS)]).to_csv(folder/'windows.csv', index=False)
    for i, r in enumerate(rets):
        w = folder/f'w{i:02d}'; (w/'seed0').mkdir(parents=True)
        pd.DataFrame({'agent_seed0': [r]}, index=pd.to_datetime([QUARTERS[i][0]])).rename_axis('timestamp').to_csv(w/'returns.csv')
        if chosen: (w/'seed0'/'meta.json').write_text(json.dumps(dict(fresh_rival=dict(chosen=chosen[i]))))
    return folder


def test_the_record_so_far_chooses_and_a_window_never_sees_itself(tmp_path, capsys):
    clone = _wf(tmp_path/'clone', [0.00, 0.00, 0.10])
    alone = _wf(tmp_path/'alone', [0.05, -0.02, 0.00])
    rival = _wf(tmp_path/'rival', [0.00, -0.02, 0.10], chosen=['clone', 'fresh', 'clone'])
    t = trs.coin_runs(rival, clone, alone, 'X')
    # w00: no history, the clone; w01: PPO alone led by +0.05 in w00; w02: +0.05 and -0.02 over w00-w01, mean > 0: PPO alone
    assert trs.track(t, by_coin=True).tolist() == ['clone', 'alone', 'alone']
    out = tmp_path/'runs.csv'
    trs.main([str(tmp_path/'rival'), str(tmp_path/'clone'), str(tmp_path/'alone'), 'X', '--csv', str(out)])
    r = pd.read_csv(out)
    assert r.d_track_own.round(12).tolist() == [0.0, -0.02, -0.10] and r.d_today.round(12).tolist() == [0.0, -0.02, 0.0]
    assert 'PPO alone chosen in 2 of 3 coin-windows' in capsys.readouterr().out


def test_a_kept_rival_that_is_not_ppo_alone_is_an_error(tmp_path):
    clone = _wf(tmp_path/'clone', [0.0, 0.0, 0.0])
    alone = _wf(tmp_path/'alone', [0.01, 0.0, 0.0])
    rival = _wf(tmp_path/'rival', [0.02, 0.0, 0.0], chosen=['fresh', 'clone', 'clone'])
    with pytest.raises(SystemExit, match="kept the rival in .*'w00', 0.*PPO alone's test return differs"):
        trs.coin_runs(rival, clone, alone, 'X')
