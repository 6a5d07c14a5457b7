"""An ensemble row for `bench/benchmark_parts.py`: one model per window that averages the action probabilities of a
variant's seeds (riskrl_nb.agents.ensembles, `riskrl ensemble` folders), evaluated like any benchmark model.

    python bench/benchmark_ensemble.py --out runs/bench3 --variant oracle_margin_first_bc8 --windows 2022H1 2022H2 2023H1 2023H2

Needs the variant's parts (OUT/parts/<window>-<variant>.pkl) and models. Writes OUT/parts/<window>-<variant>_ens.pkl:
the ensemble is the part's only "seed" (agent_seed0, so its mix is the ensemble itself) and the rules are the variant's
(tuned on the same training data). `merge` then needs a variants file with a row named <variant>_ens (`--method average`)
or <variant>_<method> (e.g. `--method stacking`: the meta-policy fitted on each window's validation period).
"""
import argparse, pickle, sys, time
from pathlib import Path
import pandas as pd
from riskrl_nb.eval import benchmark as B
from riskrl_nb.agents.ensembles import make_ensemble
from riskrl_nb.agents.bundle import load_bundle


def main(argv):
    p = argparse.ArgumentParser()
    p.add_argument('--out', required=True); p.add_argument('--variant', required=True)
    p.add_argument('--windows', nargs='+', required=True); p.add_argument('--train-months', type=int, default=12)
    p.add_argument('--method', default='average'); p.add_argument('--weights', default='equal')
    args = p.parse_args(argv)
    out, v = Path(args.out), args.variant
    name = f'{v}_ens' if args.method == 'average' else f'{v}_{args.method}'   # e.g. <variant>_stacking
    for half in args.windows:
        t0 = time.time()
        if (out/'parts'/f'{half}-{name}.pkl').exists(): continue   # done by an earlier call
        part = pickle.loads((out/'parts'/f'{half}-{v}.pkl').read_bytes())
        w = B.bench_window(half, train_months=args.train_months)
        seeds = sorted((out/'models'/v/half).glob('seed*'))
        ens = make_ensemble(seeds, B.model_path(out, name, 'pooled', w, 0), args.method, args.weights)
        bundle = load_bundle(ens)
        long = part['long']
        long = long[(long.kind == 'pooled') & ~long.policy.str.startswith('agent')].assign(variant=name)
        coins = sorted(long.coin.unique())
        ev = B.CoinEvaluator({c: B.load_coin(c) for c in coins})
        rows, returns = [], {}
        for coin in coins:
            (m, r), = ev.run(bundle, coin, w, agent=True, rules=False).values()
            best = long[long.coin == coin].best_rule.iloc[0]
            rows.append(dict(variant=name, kind='pooled', window=half, coin=coin, policy='agent_seed0', seed=0, best_rule=best, **m))
            f = part['returns'][(v, 'pooled', half, coin)]
            f = f[[c for c in f if not c.startswith('agent')]].copy()
            f['agent_seed0'] = r
            returns[(name, 'pooled', half, coin)] = f
        long = B._add_mix(pd.concat([long, pd.DataFrame(rows)], ignore_index=True), returns)
        rules = part['rules'][part['rules'].kind == 'pooled'].assign(variant=name)
        res = dict(long=long, rules=rules, returns=returns, coins=part['coins'], spec=None, wall=time.time() - t0)
        (out/'parts'/f'{half}-{name}.pkl').write_bytes(pickle.dumps(res))
        print(f"part {half}-{name}: {len(seeds)} members, {time.time() - t0:.0f} s", flush=True)


if __name__ == '__main__': main(sys.argv[1:])
