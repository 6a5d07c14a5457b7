"""PPO training throughput and a short learning curve: the default config against a batched config, at equal env steps.

    nice -n 5 python bench/batched_training.py [--chunk 16384] [--chunks 3] [--seed 0]

Both rows train MaskablePPO (the default algorithm) on the default data and training period, in this one process,
one after the other, with torch on 1 thread: `default` is the config as shipped (4 envs x 512 steps, minibatch 256,
10 epochs, the readable env in a DummyVecEnv); `batched` sets env.batched: true with N=64 accounts x 128 steps
(rollouts of 8192) and minibatches of 1024, the same 10 epochs and learning rate. After every --chunk env steps it
records env-steps per second of `learn` (wall and CPU, the whole loop: stepping, forward passes, PPO updates) and the
validation backtest's score (the config's selection metric) and total return. The default config is not changed.
"""
import argparse, os, time
import numpy as np

CONFIGS = {'default': {}, 'batched': dict(env=dict(batched=True), train=dict(n_envs=64, n_steps=128, batch_size=1024))}


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--chunk', type=int, default=16384)
    ap.add_argument('--chunks', type=int, default=3)
    ap.add_argument('--seed', type=int, default=0)
    args = ap.parse_args()
    import torch
    from riskrl_nb.core.config import load_config
    from riskrl_nb.sim.prepare import load_frames, prepare_data
    from riskrl_nb.agents.algos import get_algo
    from riskrl_nb.agents.training import make_train_env, validation_score
    torch.set_num_threads(1)
    base = load_config()
    prepared, _ = prepare_data(load_frames(base), base)
    train_sets = [p for p in prepared if 'train' in p.periods]
    rows = []
    for name, over in CONFIGS.items():
        cfg = load_config(overrides=dict(over, train=dict(over.get('train', {}), seed=args.seed)))
        torch.manual_seed(args.seed); np.random.seed(args.seed)
        vec = make_train_env(cfg, train_sets)
        model = get_algo(cfg.train.algo).make(cfg, vec)
        steps, wall, cpu = 0, 0.0, 0.0
        for k in range(args.chunks):
            c0, t0 = time.process_time(), time.perf_counter()
            model.learn(args.chunk, reset_num_timesteps=k == 0)
            cpu += time.process_time() - c0; wall += time.perf_counter() - t0; steps += args.chunk
            v = validation_score(model, prepared, cfg)
            rows.append(dict(config=name, steps=steps, steps_per_s=steps / wall, steps_per_cpu_s=steps / cpu, valid_score=v.get('score'),
                             valid_return=v.get('total_return')))
            r = rows[-1]
            print(f"{name:8s} {steps:7d} steps: {r['steps_per_s']:7.0f} env-steps/s wall, {r['steps_per_cpu_s']:7.0f} per CPU-s; "
                  f"validation {cfg.train.select_metric} {r['valid_score']:+.2f}, return {r['valid_return']:+.1%}", flush=True)
        vec.close()
    d = {r['config']: r for r in rows if r['steps'] == args.chunk * args.chunks}
    print(f"\nbatched / default at {args.chunk * args.chunks} env steps: {d['batched']['steps_per_cpu_s'] / d['default']['steps_per_cpu_s']:.2f}x "
          f"per CPU-s, {d['batched']['steps_per_s'] / d['default']['steps_per_s']:.2f}x wall (load average {os.getloadavg()[0]:.1f}, shared "
          f"2-core machine; seed {args.seed}, one seed: the validation scores are a smoke check, not a comparison of skill)")


if __name__ == '__main__':
    main()
