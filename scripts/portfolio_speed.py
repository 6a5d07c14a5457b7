"""Training throughput of the portfolio agent: one readable `PortfolioRiskEnv` vs `BatchedPortfolioEnv` with M accounts,
measured in the same process (ratios are what to quote: the machine is shared), plus the env's share of the time.

    python scripts/portfolio_speed.py [--steps 4096] [--coins BTC ETH ...] [--network attention]
"""
import argparse, time
from stable_baselines3.common.vec_env import DummyVecEnv
from riskrl_nb.sim.portfolio_vec import BatchedPortfolioEnv
from riskrl_nb.core.config import load_config
from riskrl_nb.agents.portfolio import portfolio_data, split_env, make_portfolio_model
from riskrl_nb.eval.portfolio import coin_paths

ap = argparse.ArgumentParser()
ap.add_argument('--steps', type=int, default=4096)
ap.add_argument('--coins', nargs='+', default=['BTC', 'ETH', 'BNB', 'XRP', 'ADA', 'DOGE', 'LTC', 'LINK', 'TRX', 'XLM'])
ap.add_argument('--network', default='attention')
ap.add_argument('--envs', type=int, nargs='+', default=[4, 8])
a = ap.parse_args()
over = {'portfolio': {'graph_window': 720}} if a.network == 'gnn' else {}
cfg = load_config(overrides=over)
prepared, scaler, index = portfolio_data(coin_paths(a.coins), cfg)

in_env = [0.0]
def timed(f):
    def g(self):
        t = time.perf_counter(); out = f(self); in_env[0] += time.perf_counter() - t; return out
    return g
for cls in (DummyVecEnv, BatchedPortfolioEnv): cls.step_wait = timed(cls.step_wait)

def rate(n_envs):
    env = split_env(prepared, index, cfg, 'train', n_envs=n_envs)
    model = make_portfolio_model(cfg, env, a.network)
    in_env[0] = 0.0
    t = time.perf_counter(); model.learn(a.steps); wall = time.perf_counter() - t
    return a.steps / wall, in_env[0] / wall

base, base_env = rate(None)
print(f"readable env, 1 account: {base:.0f} steps/s (env {base_env:.0%} of the time)")
for m in a.envs:
    r, share = rate(m)
    print(f"BatchedPortfolioEnv, {m} accounts: {r:.0f} steps/s = {r / base:.1f}x (env {share:.0%} of the time)")
