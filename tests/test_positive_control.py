"""bench/positive_control.py: synthetic coins with a planted exit signal, and the cut that reads it."""
import gzip, sys
from pathlib import Path
import numpy as np, pandas as pd, pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / 'bench'))
import positive_control as pc
from riskrl_nb.core.config import CostConfig, EnvConfig
from riskrl_nb.data.candles import load_candles
from riskrl_nb.sim.execution import Simulation, hand_market, run_backtest, taker_adverse
from riskrl_nb.sim.rules import make_baseline


def test_planted_coins_are_reproducible_and_carry_the_signal(tmp_path):
    a = pc.make(tmp_path/'a', 'planted', coins=2)
    pc.make(tmp_path/'b', 'planted', coins=2)
    for f in ('SYN0.csv.gz', 'SYN1.csv.gz'):   # byte for byte: the benchmark's model folders record the files' sha256
        assert (tmp_path/'a'/f).read_bytes() == (tmp_path/'b'/f).read_bytes()
    df = load_candles(tmp_path/'a'/'SYN0.csv.gz')   # the bundled format, valid candles
    assert df.index[0] == pd.Timestamp('2020-01-01', tz='UTC') and df.index[-1] == pd.Timestamp('2023-12-31 23:00', tz='UTC')
    assert gzip.decompress((tmp_path/'a'/'SYN0.csv.gz').read_bytes()).startswith(b'timestamp,open,high,low,close,volume\n2020-01-01T00:00:00Z,')
    regime = np.load(tmp_path/'a'/'SYN0.regime.npy')
    assert len(regime) == len(df) and set(np.unique(regime)) == {0, 1, 2}
    for c in a['coins'].values():   # the high-volatility regime falls, the calm one rises; volatility tells the future return
        bull, chop, crash = c['next_bar_drift_bp_by_regime']
        assert crash < -3 and bull > 3
        assert c['spearman_next_24']['vol_24'] < -0.1
    null = pc.make(tmp_path/'null', 'null', coins=2)
    assert all(abs(c['spearman_next_24']['vol_24']) < 0.05 for c in null['coins'].values())   # the null: no planted information


def test_a_longer_world_starts_where_asked(tmp_path, capsys):
    pc.main(['make', '--out', str(tmp_path/'long'), '--world', 'null', '--coins', '1', '--start', '2018-01-01'])
    df = load_candles(tmp_path/'long'/'SYN0.csv.gz')
    assert df.index[0] == pd.Timestamp('2018-01-01', tz='UTC') and df.index[-1] == pd.Timestamp('2023-12-31 23:00', tz='UTC')
    assert '"span"' in capsys.readouterr().out and len(np.load(tmp_path/'long'/'SYN0.regime.npy')) == len(df)


@pytest.mark.parametrize('start, coins, why', [('2025-01-01', '1', 'is empty'), ('garbage', '1', "not a date: 'garbage'"),
                                               ('2018-01-01', '0', 'at least one coin')])
def test_a_world_that_cannot_be_made_is_refused_in_one_line(tmp_path, capsys, start, coins, why):
    with pytest.raises(SystemExit) as e: pc.main(['make', '--out', str(tmp_path/'w'), '--coins', coins, '--start', start])
    err = capsys.readouterr().err
    assert e.value.code == 2 and why in err.splitlines()[-1] and 'Traceback' not in err and not (tmp_path/'w').exists()


def test_state_cut_closes_at_the_next_open_of_a_flagged_bar():
    rows = [(100, 100, 100, 100)] + [(100 + k, 101 + k, 99 + k, 100.5 + k) for k in range(1, 9)]
    m = hand_market(rows)
    sig = np.zeros(len(rows), dtype=np.int8); sig[0] = 1
    costs, env = CostConfig(fee_rate=0.001, slippage_bps=5.0), EnvConfig(max_holding_bars=100)
    base = lambda: make_baseline('hold_to_horizon', dict(horizon=100))
    plain = run_backtest(Simulation(m, sig, costs, env), base())
    never = pc.StateCut(base(), lambda market: np.zeros(len(market.close), bool), {})
    same = run_backtest(Simulation(m, sig, costs, env), never)
    pd.testing.assert_frame_equal(plain.trades, same.trades); assert never.trims == []
    flags = np.zeros(len(rows), bool); flags[4] = True
    cut = pc.StateCut(base(), lambda market: flags, {})
    res = run_backtest(Simulation(m, sig, costs, env), cut)
    t = res.trades.iloc[0]
    assert len(res.trades) == 1 and int(t.exit_bar) == 5 and cut.trims[0][0] == 4   # decided at bar 4's close, filled at bar 5's open
    assert t.exit_price == pytest.approx(rows[5][0] * (1 - taker_adverse(costs)))
    assert len(plain.trades) == 1 and int(plain.trades.iloc[0].exit_bar) > 5
