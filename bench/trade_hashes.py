"""Fingerprints of trades, equity curves and env rewards on bundled ETH candles (default and realistic costs; the rules,
the oracle and a random-action PositionRiskEnv episode). Run it on two commits: identical lines = identical behaviour.
   PYTHONPATH=<checkout> python bench/trade_hashes.py"""
import hashlib, numpy as np, pandas as pd, riskrl_nb
from riskrl_nb.core.config import CostConfig, EnvConfig, load_config
from riskrl_nb.data.candles import load_bundled, period_slice
from riskrl_nb.data.entries import ema_cross_entries
from riskrl_nb.sim.execution import Market, Simulation, run_backtest
from riskrl_nb.sim.rules import FixedTpSl, AtrTrailing, HoldToHorizon, Oracle
from riskrl_nb.sim.env import MarketData, PositionRiskEnv
out = []
btc = load_bundled('ETH', '1h'); mk = Market.from_candles(btc); sig = ema_cross_entries(btc, side='both')
p = period_slice(btc, '2022-01-01', '2023-12-31')
for costs in [CostConfig(), CostConfig(fee_rate=0.0005, maker_fee_rate=0.0002, slippage_bps=2, spread_bps=2, impact_coef=0.5, funding_rate_8h=0.0001)]:
    sim = Simulation(mk, sig, costs, EnvConfig(initial_equity=2_000_000.0, max_leverage=2.0))
    for pol in [FixedTpSl(0.03, 0.02), AtrTrailing(3.0), HoldToHorizon(24), Oracle()]:
        r = run_backtest(sim, pol, p.start, p.stop)
        out.append((pol.name, hashlib.sha1(pd.util.hash_pandas_object(r.trades.drop(columns=['entry_time','exit_time'])).values.tobytes()).hexdigest()[:10],
                    hashlib.sha1(r.equity.to_numpy().tobytes()).hexdigest()[:10], len(r.trades)))
x = np.random.default_rng(0).normal(size=(len(mk), 3)).astype(np.float32)
env = PositionRiskEnv(MarketData(mk, x, sig, 'ETH'), (p.start, p.stop), load_config(overrides=dict(costs=dict(impact_coef=0.5, funding_rate_8h=0.0001), env=dict(initial_equity=2e6))))
rng = np.random.default_rng(1); obs, _ = env.reset(options=dict(start=p.start, end=p.stop)); rs = []
done = False
while not done:
    obs, r, te, tr, info = env.step(int(rng.integers(0, 3))); rs.append(r); done = te or tr
out.append(('env', hashlib.sha1(np.array(rs).tobytes()).hexdigest()[:10], hashlib.sha1(obs.tobytes()).hexdigest()[:10], len(env.sim.trades)))
print(riskrl_nb.__file__)
for o in out: print(*o)
