"""Training throughput per policy network, in one process, as ratios to the MLP.

Each row trains MaskablePPO (the default algorithm) on the bundled BTC hourly training period with the
same rollout settings (4 envs x 512 steps, 10 epochs of minibatches of 256) and a 24-bar lookback
window, and counts environment steps per second of `learn` (environment stepping, forward passes and
the PPO updates: the whole training loop), per wall-clock second and per CPU second. A short
warm-up run precedes each timed run. Two more
comparisons: multi-process env sampling (SubprocVecEnv) against in-process envs, and bfloat16 mixed
precision (autocast on the feature extractor) against float32.

    nice -n 10 .venv/bin/python bench/training_throughput.py [--steps 4096] [--threads 1]
"""
import argparse, os, resource, time
import numpy as np


def cpu_seconds() -> float:
    "CPU time of this process and of its finished children (SubprocVecEnv workers count once they exit)."
    me, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime


def rate(cfg, prepared, steps: int, warmup: int = 512) -> tuple[float, float]:
    "(env-steps per wall second, per CPU second) of `learn` under `cfg`, after a warm-up run on the same model."
    from riskrl_nb.agents.algos import get_algo
    from riskrl_nb.agents.training import make_train_env
    c0 = cpu_seconds()
    vec = make_train_env(cfg, prepared)
    model = get_algo(cfg.train.algo).make(cfg, vec)
    model.learn(warmup)
    c1 = cpu_seconds() if cfg.train.vec_env == 'dummy' else c0   # workers' CPU is only known after they exit: all of it is charged
    t = time.perf_counter()
    model.learn(steps, reset_num_timesteps=False)
    dt = time.perf_counter() - t
    vec.close()
    return steps / dt, steps / (cpu_seconds() - c1)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--steps', type=int, default=4096, help='timed env steps per row')
    ap.add_argument('--threads', type=int, default=1, help='torch threads (training uses train.torch_threads = 1)')
    ap.add_argument('--only', nargs='*', help='row names to run')
    a = ap.parse_args()
    import torch
    torch.set_num_threads(a.threads)
    from riskrl_nb.core.config import load_config
    from riskrl_nb.sim.prepare import prepare_data, load_frames
    base = dict(env=dict(lookback=24), train=dict(n_envs=4, n_steps=512, batch_size=256, n_epochs=10, torch_threads=a.threads))
    cfg = load_config(overrides=base)
    prepared, _ = prepare_data(load_frames(cfg), cfg)
    rows = [('mlp', {}), ('mlp, lookback 1', dict(env=dict(lookback=1))),
            ('attention', dict(train=dict(network='attention'))), ('lstm', dict(train=dict(network='lstm'))),
            ('gru', dict(train=dict(network='gru'))), ('hier_lstm', dict(train=dict(network='hier_lstm', net=dict(chunk_bars=6)))),
            ('cnn', dict(train=dict(network='cnn'))), ('tcn', dict(train=dict(network='tcn'))),
            ('mlp, subproc envs', dict(train=dict(vec_env='subproc'))),
            ('attention, bf16 autocast', dict(train=dict(network='attention', mixed_precision=True))),
            ('tcn, bf16 autocast', dict(train=dict(network='tcn', mixed_precision=True)))]
    if a.only: rows = [r for r in rows if r[0] in a.only or r[0] == 'mlp']
    from riskrl_nb.core.config import merge_dicts
    results = {}
    print(f"MaskablePPO, BTC 1h, 4 envs x 512 steps, 10 epochs, batch 256, {a.steps} timed steps per row, "
          f"torch threads {a.threads}, cpu count {os.cpu_count()}", flush=True)
    print(f"{'':28s} {'per wall s':>12s} {'ratio':>7s} {'per CPU s':>12s} {'ratio':>7s}")
    for name, over in rows:
        c = load_config(overrides=merge_dicts(base, over))
        p = prepared
        if c.env.lookback != cfg.env.lookback: p, _ = prepare_data(load_frames(c), c)
        results[name] = rate(c, p, a.steps)
        (w, u), (w0, u0) = results[name], results['mlp']
        print(f"{name:28s} {w:12.0f} {w / w0:7.2f} {u:12.0f} {u / u0:7.2f}", flush=True)
    r = lambda a_, b_, k: results[a_][k] / results[b_][k] if a_ in results and b_ in results else np.nan
    print(f"\nenv-steps/s as a ratio (wall / CPU): subproc envs vs in-process {r('mlp, subproc envs', 'mlp', 0):.2f} / "
          f"{r('mlp, subproc envs', 'mlp', 1):.2f};  bf16 autocast vs float32: attention {r('attention, bf16 autocast', 'attention', 0):.2f} / "
          f"{r('attention, bf16 autocast', 'attention', 1):.2f}, tcn {r('tcn, bf16 autocast', 'tcn', 0):.2f} / {r('tcn, bf16 autocast', 'tcn', 1):.2f}")
    print("(per wall second depends on the machine's load; per CPU second is the work each setup needs)")


if __name__ == '__main__':
    main()
