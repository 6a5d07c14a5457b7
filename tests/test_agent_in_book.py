"""bench/agent_in_book.py: the book of the three rules with and without the agent's mix as a fourth member."""
import pickle, re, subprocess, sys
from pathlib import Path
import numpy as np, pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / 'bench'))
from agent_in_book import coin_windows, judge
from riskrl_nb.core.metrics import sortino
from riskrl_nb.sim.rules import RULES

def _parts(mix_of):
    "Two coin-windows of hourly returns: three rules, two seeds whose mean is `mix_of(rules frame, rng)`."
    rng, idx = np.random.default_rng(0), pd.date_range('2022-01-01', periods=2000, freq='h', tz='UTC')
    returns, long = {}, []
    for coin in ('BTC', 'ETH'):
        f = pd.DataFrame({r: rng.normal(2e-4, 1e-2, len(idx)) for r in RULES}, index=idx)
        mix = mix_of(f, rng)
        f['agent_seed0'], f['agent_seed1'] = mix + 1e-3, mix - 1e-3
        returns[('v', 'pooled', '2022H1', coin)] = f
        long += [dict(variant='v', kind='pooled', window='2022H1', coin=coin, policy=p, best_rule='atr_trailing') for p in f]
    return dict(returns=returns, long=pd.DataFrame(long))

def test_an_agent_that_is_the_book_adds_nothing_and_a_tie_is_not_a_win():
    t = coin_windows(_parts(lambda f, rng: f[list(RULES)].mean(axis=1)))
    assert len(t) == 2 and np.allclose(t.book_plus_agent, t.rule_book, atol=1e-9) and np.allclose(t['corr'], 1)
    ahead = (t.book_plus_agent > t.rule_book + 1e-9).mean()
    assert ahead == 0 and judge(t.assign(book_plus_agent=t.rule_book), n_boot=200)['plus_ahead_of_book'] == 0

def test_an_independent_profitable_agent_lifts_the_book():
    t = coin_windows(_parts(lambda f, rng: pd.Series(rng.normal(1e-3, 1e-2, len(f)), index=f.index)))
    f = _parts(lambda f, rng: f[list(RULES)].mean(axis=1))['returns'][('v', 'pooled', '2022H1', 'BTC')]
    assert np.isclose(coin_windows(_parts(lambda f, rng: f[list(RULES)].mean(axis=1))).rule_book.iloc[0],
                      sortino(f[list(RULES)].mean(axis=1), 8760))   # the book is the mean of the rules' per-bar returns
    r = judge(t, n_boot=200)
    assert r['plus_ahead_of_book'] == 1 and r['mean_diff'] > 0 and r['coin_windows'] == 2 and abs(r['median_corr']) < 0.2

def test_cli_pools_folders_and_refuses_an_empty_one(tmp_path):
    for d in ('a', 'b'):
        (tmp_path / d / 'parts').mkdir(parents=True)
        (tmp_path / d / 'parts' / 'p.pkl').write_bytes(pickle.dumps(_parts(lambda f, rng: f[list(RULES)].mean(axis=1))))
    ok = subprocess.run([sys.executable, str(ROOT / 'bench' / 'agent_in_book.py'), '--parts', f'{tmp_path/"a"}+{tmp_path/"b"}'],
                        capture_output=True, text=True)
    assert ok.returncode == 0 and re.search(r'\|\s+4 \| 0% \(', ok.stdout), ok.stdout + ok.stderr   # 2 folders x 2 coins, one row
    (tmp_path / 'c').mkdir()
    bad = subprocess.run([sys.executable, str(ROOT / 'bench' / 'agent_in_book.py'), '--parts', str(tmp_path / 'c')], capture_output=True, text=True)
    assert bad.returncode != 0 and 'no parts/*.pkl' in bad.stderr
