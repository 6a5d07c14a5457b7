"""Screen agent variants for cross-coin out-of-sample skill (issue 13), cheaply, before `riskrl benchmark`.

Pooled training on SEEN coins (train 2020-09..2022-06, validation 2022-H2), rules tuned once on the pooled
train+valid data of the same coins; test on 2023-H1 and 2023-H2 of all 10 bundled coins (4 never seen).
Per variant and seed: share of coin-windows where the agent's Sortino beats the rule chosen on training data
(the tuned rule with the best pooled train+valid Sortino), and beats every tuned rule; median bars held and
the share of trades the agent closed itself. Nothing is chosen on the test windows.

    python bench/skill_screen.py --steps 40000 --seeds 0 --variants basic portable ... --out runs/screen
"""
import argparse, json, time, sys
from pathlib import Path
import numpy as np
import pandas as pd

from riskrl_nb.core.config import load_config, merge_dicts, bundled_path, periods_per_year, config_from_dict, config_to_dict
from riskrl_nb.agents import training as agent_mod
from riskrl_nb.agents.training import train, _tune_before_test
from riskrl_nb.agents.bundle import load_bundle
from riskrl_nb.sim.prepare import prepare_data, load_frames
from riskrl_nb.sim.execution import Simulation, run_backtest
from riskrl_nb.sim.rules import make_baseline, RULES, AtrTrailing, market_atr
from riskrl_nb.core.metrics import sortino, total_return
from riskrl_nb.data.candles import period_slice

SEEN = ['BTC', 'ETH', 'BNB', 'XRP', 'ADA', 'LTC']
ALL = SEEN + ['DOGE', 'LINK', 'TRX', 'XLM']
WINDOWS = {'2023H1': ('2023-01-01', '2023-06-30'), '2023H2': ('2023-07-01', '2023-12-31')}
BASE = {'data': {'paths': [str(bundled_path(c, '1h')) for c in SEEN], 'train_start': '2020-09-01', 'train_end': '2022-06-30',
                 'valid_start': '2022-07-01', 'valid_end': '2022-12-31', 'test_start': '2023-01-01', 'test_end': '2023-12-31'},
        'train': {'eval_freq': 10_000}}
VARIANTS = {
    'basic': {},
    'portable': {'features': {'set': 'portable'}},
    'portable_relative': {'features': {'set': 'portable'}, 'reward': {'name': 'relative'}},
    'portable_residual': {'features': {'set': 'portable'}, 'env': {'action_space': 'residual'}},
    'portable_residual_relative': {'features': {'set': 'portable'}, 'env': {'action_space': 'residual'}, 'reward': {'name': 'relative'}},
    'basic_residual_relative': {'env': {'action_space': 'residual'}, 'reward': {'name': 'relative'}},
    'basic_residual': {'env': {'action_space': 'residual'}},
    'portable_residual_relative_prior': {'features': {'set': 'portable'}, 'env': {'action_space': 'residual'}, 'reward': {'name': 'relative'},
                                         'train': {'action_prior': [0.85, 0.05, 0.05, 0.05]}},
    'portable_residual_prior': {'features': {'set': 'portable'}, 'env': {'action_space': 'residual'},
                                'train': {'action_prior': [0.85, 0.05, 0.05, 0.05]}},
}

def rule_policy(name, params, market):
    if name == 'atr_trailing': return AtrTrailing(**params, atr_values=market_atr(market, int(params.get('atr_window', 14))))
    return make_baseline(name, params)

def tuned_rules(out: Path):
    "Rules tuned once on the pooled train+valid data of the seen coins; the 'best' one by pooled Sortino there."
    f = out / 'rules.json'
    if f.exists(): return json.loads(f.read_text())
    cfg = load_config(overrides=BASE)
    prepared, _ = prepare_data(load_frames(cfg), cfg)
    params, grid = _tune_before_test(cfg, prepared, False)
    scores = {}
    for name in RULES:
        s = []
        for p in prepared:
            a, b = p.periods['train'][0], p.periods['valid'][1]
            sim = Simulation(p.data.market, p.data.signals, cfg.costs, cfg.env)
            s.append(sortino(run_backtest(sim, rule_policy(name, params[name], p.data.market), a, b).returns, 8760))
        scores[name] = float(np.mean(s))
    res = dict(params=params, pooled_sortino=scores, best=max(scores, key=scores.get))
    f.write_text(json.dumps(res, indent=1)); return res

def evaluate_variant(model_dir: Path, rules: dict) -> pd.DataFrame:
    b = load_bundle(model_dir)
    cfg = b.cfg
    rows = []
    for coin in ALL:
        frames = [__import__('riskrl_nb.data.candles', fromlist=['load_candles']).load_candles(bundled_path(coin, '1h'))]
        (p,), _ = prepare_data(frames, cfg, b.scaler)
        for w, (s, e) in WINDOWS.items():
            sl = period_slice(p.candles, s, e)
            sim = Simulation(p.data.market, p.data.signals, cfg.costs, cfg.env)
            ag = run_backtest(sim, b.policy(p.data.features), sl.start, sl.stop)
            row = dict(coin=coin, window=w, seen=coin in SEEN, agent_sortino=sortino(ag.returns, 8760),
                       agent_return=total_return(ag.returns), trades=len(ag.trades),
                       median_bars=float(ag.trades.bars_held.median()) if len(ag.trades) else np.nan,
                       own_exit=float(ag.trades.exit_reason.isin(['take_profit', 'stop_loss', 'agent_exit', 'agent_close_tp', 'agent_close_sl']).mean()) if len(ag.trades) else np.nan)
            for name in RULES:
                r = run_backtest(sim, rule_policy(name, rules['params'][name], p.data.market), sl.start, sl.stop)
                row[f'{name}_sortino'] = sortino(r.returns, 8760); row[f'{name}_return'] = total_return(r.returns)
            rows.append(row)
    df = pd.DataFrame(rows)
    df['best_rule_sortino'] = df[f"{rules['best']}_sortino"]
    df['max_rule_sortino'] = df[[f'{n}_sortino' for n in RULES]].max(axis=1)
    df['beats_best'] = df.agent_sortino > df.best_rule_sortino
    df['beats_all'] = df.agent_sortino > df.max_rule_sortino
    return df

def summary(df):
    return dict(beats_best=float(df.beats_best.mean()), beats_best_unseen=float(df[~df.seen].beats_best.mean()),
                beats_all=float(df.beats_all.mean()), excess_sortino=float((df.agent_sortino - df.best_rule_sortino).mean()),
                agent_return=float(df.agent_return.mean()), trades=float(df.trades.mean()),
                median_bars=float(df.median_bars.median()), own_exit=float(df.own_exit.mean()))

def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--steps', type=int, default=40_000)
    ap.add_argument('--seeds', type=int, nargs='+', default=[0])
    ap.add_argument('--variants', nargs='+', default=list(VARIANTS))
    ap.add_argument('--out', default='runs/screen')
    ap.add_argument('--ensemble', nargs='*', default=[], metavar='VARIANT',
                    help="also evaluate, per variant, the ensemble of its trained seeds (average, validation weights)")
    a = ap.parse_args()
    out = Path(a.out); out.mkdir(parents=True, exist_ok=True)
    t0 = time.time(); rules = tuned_rules(out)
    print(f"rules tuned on pooled train+valid ({time.time() - t0:.0f}s): {rules['params']}; best by pooled Sortino: {rules['best']} {rules['pooled_sortino']}", flush=True)
    agent_mod._tune_before_test = lambda cfg, sets, progress: (rules['params'], pd.DataFrame(columns=['baseline', 'params', 'score']))
    for v in a.variants:
        for seed in a.seeds:
            mdir = out / f'{v}-s{seed}'
            if (mdir / 'screen.csv').exists(): continue
            over = merge_dicts(merge_dicts(BASE, VARIANTS[v]), {'train': {'total_timesteps': a.steps, 'seed': seed}})
            if over.get('env', {}).get('action_space') == 'residual' or over.get('reward', {}).get('name') == 'relative':
                over = merge_dicts(over, {'env': {'reference': rules['best']}})
            t = time.time()
            train(load_config(overrides=over), mdir, progress=False, verbose=False)
            tt = time.time() - t
            df = evaluate_variant(mdir, rules); df.to_csv(mdir / 'screen.csv', index=False)
            s = dict(variant=v, seed=seed, steps=a.steps, train_s=round(tt), **summary(df))
            with open(out / 'summary.jsonl', 'a') as f: f.write(json.dumps(s) + '\n')
            print(json.dumps(s), flush=True)
    from riskrl_nb.agents.ensembles import make_ensemble
    for v in a.ensemble:
        members = sorted(d for d in out.glob(f'{v}-s*') if (d / 'screen.csv').exists())
        for method in ('average', 'vote'):
            edir = out / f'{v}-ens-{method}'
            if len(members) < 2 or (edir / 'screen.csv').exists(): continue
            make_ensemble(members, edir, method, 'validation' if method == 'average' else 'equal')
            df = evaluate_variant(edir, rules); df.to_csv(edir / 'screen.csv', index=False)
            s = dict(variant=f'{v}-ens-{method}', seed=[m.name for m in members], steps=a.steps, train_s=0, **summary(df))
            with open(out / 'summary.jsonl', 'a') as f: f.write(json.dumps(s) + '\n')
            print(json.dumps(s), flush=True)

if __name__ == '__main__': main()
