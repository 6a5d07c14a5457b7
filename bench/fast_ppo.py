"""Stock MaskablePPO and SB3's DummyVecEnv against what `riskrl train` runs, the same config and seed, in one process, interleaved.

    nice -n 5 python bench/fast_ppo.py [--steps 49152] [--seed 0] [--repeats 2] [--configs default] [--modes stock lean default] [--json FILE]
    nice -n 5 python bench/fast_ppo.py --update-threads [--repeats 5]
    nice -n 5 python bench/fast_ppo.py --identity

Each repeat trains every config of `--configs` (`bench/batched_training.py`'s `CONFIGS`: `default` is the config as
shipped) once per mode of `--modes`, in that order, through `riskrl_nb.agents.training.train` (`MODES`):
`stock` is stock MaskablePPO's `collect_rollouts` and `train` (`LeanMaskablePPO.lean_plan` patched to None, which falls
back to them) on SB3's `DummyVecEnv`, the default before `LeanMaskablePPO`; `lean` is `LeanMaskablePPO` on SB3's
`DummyVecEnv` (the default before `LeanDummyVecEnv`); `default` is the default path (`LeanMaskablePPO` on
`make_train_env`'s `LeanDummyVecEnv`). The env modes matter only for the readable env (`train.vec_env: dummy`, not
`env.batched`). Torch on 1 thread (`train.torch_threads`). For each run: env-steps per CPU-second of the `learn` loop
and the split of that loop's CPU time (`bench/batched_training.py`'s timers: env, masks, policy forward, buffer, PPO
update, cloning, validation, rest), the whole run's CPU seconds; per config the ratios between modes of env-steps per
CPU-second (each repeat's, and the total over repeats). It also checks that every mode trained the same model as the
first: the same validation curve, the same saved best weights (`policy.pt`) tensor for tensor, and the same final
weights (a hash).

`--update-threads` instead times the default's PPO update alone (`LeanMaskablePPO.train` on one rollout of the default
config, 4 x 512 steps, 80 minibatches), with torch on 1 and on 2 threads (`torch.set_num_threads`) in turn, wall and
CPU seconds per update, `--repeats` times each.

`--identity` trains stock MaskablePPO on SB3's `DummyVecEnv` and `LeanMaskablePPO` on `LeanDummyVecEnv` (the default)
on a small schedule (4 x 32 steps, 2 rollouts, 2 epochs) for every `train.network` (but `gnn`, which needs context
assets) and every action space `maskable_ppo` takes, and says for each whether the lean path ran (or fell back to
stock) and whether all trained parameters are equal.
"""
import argparse, json, os, sys, tempfile
from pathlib import Path
sys.path.insert(0, str(Path(__file__).parent))
from batched_training import CONFIGS, run_row

MODES = {'stock': dict(stock=True, stock_env=True),     # MaskablePPO on SB3's DummyVecEnv
         'lean': dict(stock=False, stock_env=True),     # LeanMaskablePPO on SB3's DummyVecEnv
         'default': dict(stock=False, stock_env=False)}   # LeanMaskablePPO on LeanDummyVecEnv: riskrl train


def same_weights(a, b) -> bool:
    "The saved best weights (`policy.pt`) of two model folders are equal, tensor for tensor."
    import torch
    wa, wb = (torch.load(Path(f)/'policy.pt', map_location='cpu', weights_only=True) for f in (a, b))
    return wa.keys() == wb.keys() and all(torch.equal(wa[k], wb[k]) for k in wa)


def line(r):
    s, c = r['split'], r['loop_cpu']
    parts = ', '.join(f"{k} {v / c:.0%}" for k, v in s.items()) + f", rest {r['rest'] / c:.0%}"
    return (f"{r['config']:8s} {r['mode']:7s} {r['steps']} steps: {r['per_cpu_s']:6.0f} env-steps per CPU-s of the loop "
            f"({r['per_s']:6.0f}/s wall; loop {c:.1f} CPU-s, run {r['total_cpu']:.1f} CPU-s; load {r['load']:.1f}); split: {parts}")


def update_threads(args):
    "Wall and CPU time of the default's PPO update with torch on 1 and on 2 threads, interleaved."
    import time, numpy as np, torch
    from riskrl_nb.core.config import load_config
    from riskrl_nb.sim.prepare import prepare_data, load_frames
    from riskrl_nb.agents.training import make_train_env
    from riskrl_nb.agents.algos import get_algo
    torch.set_num_threads(1)
    cfg = load_config(overrides=dict(train=dict(seed=args.seed)))
    prepared, _ = prepare_data(load_frames(cfg), cfg)
    model = get_algo(cfg.train.algo).make(cfg, make_train_env(cfg, prepared))
    model.learn(cfg.train.n_steps * cfg.train.n_envs)   # one rollout and its update; the buffer stays full
    times = {1: [], 2: []}
    for _ in range(args.repeats):
        for n in times:
            torch.set_num_threads(n)
            w, c = time.perf_counter(), time.process_time()
            model.train()
            times[n].append((time.perf_counter() - w, time.process_time() - c))
    torch.set_num_threads(1)
    for n, v in times.items():
        wall, cpu = np.array(v).T
        print(f"torch on {n} thread{'s' * (n > 1)}: one update (80 minibatches of 256) median {np.median(wall):.3f} s wall, "
              f"{np.median(cpu):.3f} CPU-s (wall {' '.join(f'{x:.2f}' for x in wall)}; load {os.getloadavg()[0]:.1f})")


def identity(args):
    "Stock (MaskablePPO, DummyVecEnv) vs the default on every network and action space: the lean path or the fallback, and equal parameters."
    import torch
    from sb3_contrib import MaskablePPO
    from stable_baselines3.common.vec_env import DummyVecEnv
    from riskrl_nb.core.config import load_config
    from riskrl_nb.sim.prepare import prepare_data, load_frames
    from riskrl_nb.agents.training import make_train_env, _tune_before_test
    from riskrl_nb.agents.algos import LeanMaskablePPO, _ppo_kwargs, get_algo
    from riskrl_nb.agents.networks import NETWORKS
    torch.set_num_threads(1)
    data = dict(train_start='2022-01-01', train_end='2022-06-30', valid_start='2022-07-01', valid_end='2022-08-31')
    small = dict(n_steps=32, batch_size=32, n_epochs=2, ent_coef=0.05, net=dict(hidden=8), seed=args.seed)
    cases = [(f'network {n}', dict(env=dict(lookback=48), train=dict(small, network=n))) for n in sorted(NETWORKS) if n != 'gnn']
    cases += [(f'action space {a}', dict(env=dict(action_space=a, **({'reference': 'book'} if a == 'book_overlay' else {})), train=small))
              for a in get_algo('maskable_ppo').action_spaces]
    bad = 0
    for name, over in cases:
        cfg = load_config(overrides=dict(data=data, **over))
        prepared, _ = prepare_data(load_frames(cfg), cfg)
        baselines, _ = _tune_before_test(cfg, prepared, False)
        models = []
        for cls in (MaskablePPO, LeanMaskablePPO):
            vec = make_train_env(cfg, prepared, baselines)
            if cls is MaskablePPO: vec.__class__ = DummyVecEnv   # SB3's own (LeanDummyVecEnv adds no state)
            models.append(cls('MlpPolicy', vec, **_ppo_kwargs(cfg, vec)).learn(256))
        a, b = (m.policy.state_dict() for m in models)
        same = a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
        bad += not same
        print(f"{name:28s} {'lean path' if models[1].lean_plan() is not None else 'stock fallback':14s} parameters equal: {same}", flush=True)
    if bad: raise SystemExit(f"{bad} case(s) trained different parameters")


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--steps', type=int, default=49152)
    ap.add_argument('--seed', type=int, default=0)
    ap.add_argument('--repeats', type=int, default=2)
    ap.add_argument('--configs', nargs='+', default=['default'], choices=list(CONFIGS))
    ap.add_argument('--modes', nargs='+', default=list(MODES), choices=list(MODES), help='in this order, each repeat')
    ap.add_argument('--out', default=None, help='model folders here (default: a temporary folder)')
    ap.add_argument('--json', default=None, help='write the runs as JSON here')
    ap.add_argument('--update-threads', action='store_true', help='time the PPO update alone on 1 and on 2 torch threads')
    ap.add_argument('--identity', action='store_true', help='stock vs the default on every network and action space: equal parameters?')
    args = ap.parse_args()
    if args.update_threads: return update_threads(args)
    if args.identity: return identity(args)
    out = Path(args.out or tempfile.mkdtemp(prefix='fast-ppo-'))
    modes, runs = args.modes, []
    pairs = [(a, b) for a, b in (('lean', 'stock'), ('default', 'lean'), ('default', 'stock')) if a in modes and b in modes]
    for rep in range(args.repeats):
        for name in args.configs:
            done = {}
            for mode in modes:
                r = run_row(name, CONFIGS[name], args, out/f'{rep}-{mode}', **MODES[mode])
                r.update(mode=mode, repeat=rep); runs.append(r); done[mode] = r
                print(line(r), flush=True)
            first = done[modes[0]]
            for mode, r in done.items():
                r['same_as_first'] = (r['curve'] == first['curve'] and same_weights(r['folder'], first['folder'])
                                      and r['final_params_sha256'] == first['final_params_sha256'])
            same = all(r['same_as_first'] for r in done.values())
            print(f"{name:8s} repeat {rep}: " + '; '.join(f"{a} / {b} {done[a]['per_cpu_s'] / done[b]['per_cpu_s']:.2f}x" for a, b in pairs)
                  + f" per CPU-s of the loop; same validation curve, best weights and final weights in all modes: {same}", flush=True)
            if not same: raise SystemExit(f"{name}: the modes trained different models")
    for name in args.configs:
        tot = {m: [r for r in runs if r['config'] == name and r['mode'] == m] for m in modes}
        rate = {m: sum(r['steps'] for r in v) / sum(r['loop_cpu'] for r in v) for m, v in tot.items()}
        split = {m: {k: sum(r['split'][k] for r in v) / sum(r['loop_cpu'] for r in v) for k in v[0]['split']} for m, v in tot.items()}
        for m in rate:
            rest = sum(r['rest'] for r in tot[m]) / sum(r['loop_cpu'] for r in tot[m])
            print(f"{name:8s} {m:7s} over {args.repeats} repeats: {rate[m]:6.0f} env-steps per CPU-s; CPU-ms per 1000 env-steps: "
                  + ', '.join(f"{k} {1e6 * v / rate[m]:.0f}" for k, v in split[m].items()) + f", rest {1e6 * rest / rate[m]:.0f}"
                  + f", total {1e6 / rate[m]:.0f}")
        print(f"{name:8s} " + '; '.join(f"{a} / {b}: {rate[a] / rate[b]:.3f}x" for a, b in pairs) + " env-steps per CPU-s of the loop "
              f"(load average {os.getloadavg()[0]:.1f}, shared 2-core machine, seed {args.seed})")
    if args.json: Path(args.json).write_text(json.dumps(runs, indent=1))


if __name__ == '__main__':
    main()
