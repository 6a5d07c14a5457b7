"""An ensemble row for `bench/benchmark_parts.py`: one model per window that averages the action probabilities of a
variant's seeds (riskrl_nb.agents.ensembles, `riskrl ensemble` folders), evaluated like any benchmark model.

    python bench/benchmark_ensemble.py --out runs/bench3 --variant oracle_margin_first_bc8 --windows 2022H1 2022H2 2023H1 2023H2

Needs the variant's parts (OUT/parts/<window>-<variant>.pkl) and models. Writes OUT/parts/<window>-<variant>_ens.pkl:
the ensemble is the part's only "seed" (agent_seed0, so its mix is the ensemble itself) and the rules are the variant's
(tuned on the same training data). `merge` then needs a variants file with a row named <variant>_ens (`--method average`)
or <variant>_<method> (e.g. `--method stacking`: the meta-policy fitted on each window's validation period).

Stacking settings (issue 13 sweep): `--stacking KEY=VALUE ...` (the `STACKING` keys: samples, margin, C, balance, seed)
override the meta-policy's settings, and `--tag NAME` makes them their own row <variant>_stacking_<NAME>. `--members DIR`
reads the variant's models and part from another run folder (default: --out; nothing is written there), `--seeds N`
takes only its first N seeds.

    python bench/benchmark_ensemble.py --out runs/stack22/bench --variant oracle_margin_first_bc --method stacking \
        --stacking C=0.1 --tag c01 --windows 2022H1 2022H2 2023H1 2023H2
"""
import argparse, pickle, sys, time
from pathlib import Path
import pandas as pd
from riskrl_nb.eval import benchmark as B
from riskrl_nb.agents.ensembles import make_ensemble, parse_stacking
from riskrl_nb.core.config import RiskrlError
from riskrl_nb.agents.bundle import load_bundle


def fail(msg):
    "Bad input: one line naming the problem, exit code 2 (CONTRACT.md)."
    print(f"error: {msg}", file=sys.stderr); sys.exit(2)


def main(argv):
    p = argparse.ArgumentParser()
    p.add_argument('--out', required=True); p.add_argument('--variant', required=True)
    p.add_argument('--windows', nargs='+', required=True); p.add_argument('--train-months', type=int, default=12)
    p.add_argument('--method', default='average'); p.add_argument('--weights', default='equal')
    p.add_argument('--stacking', nargs='+', metavar='KEY=VALUE', help='stacking: meta-policy settings (STACKING keys)')
    p.add_argument('--tag', help='row name suffix: <variant>_<method>_<tag>')
    p.add_argument('--members', metavar='DIR', help="run folder holding the variant's models and parts (default: --out)")
    p.add_argument('--seeds', type=int, help="use only the first N seeds of the variant's models")
    args = p.parse_args(argv)
    out, v = Path(args.out), args.variant
    src = Path(args.members) if args.members else out
    try: stacking = parse_stacking(args.stacking, 'bench/benchmark_ensemble.py')
    except RiskrlError as e: fail(e)
    if stacking and args.method != 'stacking': fail("bench/benchmark_ensemble.py: --stacking needs --method stacking")
    name = f'{v}_ens' if args.method == 'average' else f'{v}_{args.method}'   # e.g. <variant>_stacking
    if args.tag: name += f'_{args.tag}'
    (out/'parts').mkdir(parents=True, exist_ok=True)
    for half in args.windows:
        t0 = time.time()
        if (out/'parts'/f'{half}-{name}.pkl').exists(): continue   # done by an earlier call
        part = pickle.loads((src/'parts'/f'{half}-{v}.pkl').read_bytes())
        w = B.bench_window(half, train_months=args.train_months)
        seeds = sorted((src/'models'/v/half).glob('seed*'), key=lambda d: int(d.name[4:]))[:args.seeds]
        if args.seeds and len(seeds) < args.seeds: fail(f"{src/'models'/v/half}: {len(seeds)} seeds, --seeds {args.seeds}")
        ens = make_ensemble(seeds, B.model_path(out, name, 'pooled', w, 0), args.method, args.weights, stacking=stacking)
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
