"""`riskrl benchmark` split over processes without a second evaluation pass.

    python bench/benchmark_parts.py run   --windows 2023H2 [riskrl benchmark options]   # trains + evaluates, pickles each window x variant
    python bench/benchmark_parts.py merge --windows 2022H1 ... [same options]            # joins the parts: tables, summary, plot

`run` writes OUT/parts/<window>-<variant>.pkl (the long table, tuned rules and per-bar returns of its windows, and what it was
made with: a part is reused only by a `run` asking the same seeds, steps, coins, window, variant and config, else made again,
its models reused by their stamps); `merge` refuses (exit 2) a part whose seeds are not the ones asked; `merge` concatenates
the parts of the windows asked for and writes what `riskrl benchmark` writes (summary.json, benchmark.md, table.csv, PNG)
as if one process had run them all: per-window figures (mix, picked seed) do not depend on the other windows. Parts may be
run with other `--coins` (early windows without some coins' candles): the merged run lists every part's coins, and each
window's training coverage and `coins_by_window` (summary.json) its own. The merged run's wall time is the sum of the
merged parts' own (those of other windows or variants in the folder are not counted), and its left-out coins are those of
the leave-one-coin-out parts merged, whatever this call's --loo says.
"""
import argparse, hashlib, json, pickle, sys, time
from dataclasses import asdict, replace
from pathlib import Path
import pandas as pd
from riskrl_nb.eval import benchmark as B


def part_key(spec, variant:str, window) -> dict:
    "What a part is made with; `run` reuses a part only when asked the same (seeds, steps, coins, window, variant, config)."
    config = Path(spec.config_path).read_bytes() if spec.config_path else b''
    return json.loads(json.dumps(dict(seeds=list(spec.seeds), steps=spec.steps, coins=[str(c) for c in spec.coins], window=asdict(window),
                                      variant=spec.variants[variant], config=hashlib.sha256(config).hexdigest(),
                                      loo=[spec.loo_coins, spec.loo_seeds, spec.loo_windows]), default=str))


def part_seeds(part:dict) -> list:
    "The seeds of a part's pooled rows (its `agent_seed<k>` policies)."
    pooled = part['long'][part['long'].kind == 'pooled']
    return sorted({int(p[len('agent_seed'):]) for p in pooled.policy.unique() if str(p).startswith('agent_seed')})


def main(argv):
    mode, rest = argv[0], argv[1:]
    p = argparse.ArgumentParser(); B._benchmark_args(p)
    p.add_argument('--only', nargs='+', metavar='VARIANT', help='run: only these variants of --variants')
    args = p.parse_args(rest)
    spec, out = B.bench_spec_from_args(args), Path(args.out)
    parts = out/'parts'; parts.mkdir(parents=True, exist_ok=True)
    t0 = time.time()
    if mode == 'run':   # one part per variant and window: what finished is usable even if the process is stopped later
        for v, w in [(v, w) for v in spec.variants if not args.only or v in args.only for w in spec.windows]:
            name = f'{w.name}-{v}' + (f"-loo-{'-'.join(spec.loo_coins)}" if spec.loo_coins else '')
            key, f = part_key(spec, v, w), parts/f'{name}.pkl'
            if f.exists():   # the models it needs are reused by their stamps either way; the part only if made alike
                if pickle.loads(f.read_bytes()).get('key') == key: continue
                print(f"part {name}: made with other settings (or before parts recorded theirs); made again", flush=True)
            t0 = time.time()
            res = B.run_benchmark(replace(spec, variants={v: spec.variants[v]}, windows=[w]), out, progress=not args.no_progress)
            f.write_bytes(pickle.dumps(dict(res, spec=None, wall=time.time() - t0, key=key)))
            print(f"part {name}: {time.time() - t0:.0f} s", flush=True)
        return
    wanted, got = {w.name for w in spec.windows}, []
    for f in sorted(parts.glob('*.pkl')):
        r = pickle.loads(f.read_bytes())
        if '-loo-' in f.name:   # a leave-one-coin-out part: its pooled cells are another part's
            r['long'], r['rules'] = r['long'][r['long'].kind == 'loo'], r['rules'][r['rules'].kind == 'loo']
            r['returns'] = {k: v for k, v in r['returns'].items() if k[1] == 'loo'}
        r['long'] = r['long'][r['long'].window.isin(wanted) & r['long'].variant.isin(spec.variants)]
        r['rules'] = r['rules'][r['rules'].window.isin(wanted) & r['rules'].variant.isin(spec.variants)]
        r['returns'] = {k: v for k, v in r['returns'].items() if k[2] in wanted and k[0] in spec.variants}
        if not len(r['long']): continue   # a part of other windows or variants adds neither rows nor wall time
        if '-loo-' not in f.name and part_seeds(r) != list(spec.seeds):
            print(f"{f}: made with seeds {part_seeds(r)}, not the {len(spec.seeds)} asked (--seeds {len(spec.seeds)}); "
                  f"`run` with the same options makes it again", file=sys.stderr)
            sys.exit(2)
        got.append(r)
    long = pd.concat([r['long'] for r in got], ignore_index=True)
    # the left-out coins and windows are those of the leave-one-coin-out rows merged, not this call's --loo
    loo = long[long.kind == 'loo']
    spec = replace(spec, loo_coins=list(dict.fromkeys(loo.coin)), loo_windows=list(dict.fromkeys(loo.window)))
    # parts may test other coins per window (--coins per part): the run's coins are those of every part, each window's its own
    result = dict(long=long, rules=pd.concat([r['rules'] for r in got], ignore_index=True),
                  returns={k: v for r in got for k, v in r['returns'].items()}, coins=list(dict.fromkeys(long.coin)), spec=spec)
    result['long'] = B.add_rule_book(result['long'], result['returns'])   # parts made before the rule book have no rows of it
    summary = B.summarize_benchmark(result)
    wall = sum(r['wall'] for r in got)
    label = f'Summed wall time of the {len(got)} parts merged (parts may have run side by side)'
    files = B.write_benchmark(result, summary, out, 'python bench/benchmark_parts.py ' + ' '.join(argv), wall, wall_label=label)
    print('\n'.join(B.verdict_lines(summary)))
    print(f"{label}: {wall / 60:.1f} min; table: {files['markdown']}")


if __name__ == '__main__': main(sys.argv[1:])
