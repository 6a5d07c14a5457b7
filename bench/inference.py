"""Inference speed of one policy four ways, in one process: SB3 `predict`, plain torch, ONNX Runtime fp32 and INT8.

    .venv/bin/python bench/inference.py [--model DIR] [--n 3000] [--batch 1024]

Without --model a small model is trained first (about 15 s, the default 64x64 network). Per-decision
latency (p50/p99) at batch 1 and throughput at batch --batch, on the model's held-out observations;
ratios are against SB3 `predict` in the same run. Results also go to bench/out/inference.json.
Targets (issue 9): ONNX batch-1 p99 < 50 us and >= 10x faster than SB3 predict.
"""
import argparse, json, os, sys, tempfile, time
from pathlib import Path
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
TINY = dict(data=dict(train_start='2022-01-01', train_end='2022-06-30', valid_start='2022-07-01', valid_end='2022-08-31'),
            train=dict(total_timesteps=4096, n_steps=256, n_envs=2, eval_freq=2048),
            baselines=dict(take_profit_grid=[0.03], stop_loss_grid=[0.02], atr_mult_grid=[3.0], horizon_grid=[24]))


def timings(fn, xs, warmup=200):
    "Per-call seconds of fn(x) for each x (after a warm-up)."
    for x in xs[:warmup]: fn(x)
    out = np.empty(len(xs))
    for k, x in enumerate(xs):
        t = time.perf_counter_ns(); fn(x); out[k] = time.perf_counter_ns() - t
    return out / 1e9


def throughput(fn, batch, reps=20):
    "Decisions per second of fn on one batch."
    fn(batch); n = 0; t = time.perf_counter()
    while n < reps or time.perf_counter() - t < 0.5:
        fn(batch); n += 1
    return n * len(batch[0]) / (time.perf_counter() - t)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--model', help='model folder (trained if omitted)')
    ap.add_argument('--n', type=int, default=3000, help='batch-1 calls per runtime')
    ap.add_argument('--batch', type=int, default=1024)
    args = ap.parse_args()
    import torch
    from riskrl_nb.core.config import load_config
    from riskrl_nb.agents.training import train
    from riskrl_nb.agents.bundle import load_bundle
    from riskrl_nb.serve.inference import (export_policy, collect_observations, policy_graph, OnnxPolicy)
    torch.set_num_threads(1)
    model_dir = Path(args.model) if args.model else train(load_config(overrides=TINY), Path(tempfile.mkdtemp())/'model',
                                                          progress=False, verbose=False)
    if not (model_dir/'policy.int8.onnx').exists() or not (model_dir/'policy.onnx').exists():
        export_policy(model_dir, quantize=True, verbose=False)
    bundle = load_bundle(model_dir)
    model, graph = bundle.model, policy_graph(bundle.model, bundle.masked)
    held = collect_observations(bundle, 'test')
    obs, masks = held['obs'], held['masks']
    idx = np.resize(np.arange(len(obs)), args.n)
    singles = [(obs[i:i + 1], masks[i:i + 1]) for i in idx]
    rng = np.random.default_rng(0)
    b = rng.integers(0, len(obs), args.batch)
    batch = (obs[b], masks[b])
    ort1 = {k: OnnxPolicy(model_dir/f, threads=1) for k, f in [('fp32', 'policy.onnx'), ('int8', 'policy.int8.onnx')]}
    ort2 = {k: OnnxPolicy(model_dir/f, threads=2) for k, f in [('fp32', 'policy.onnx'), ('int8', 'policy.int8.onnx')]}

    def sb3(x): return model.predict(x[0], action_masks=x[1], deterministic=True)
    def torch_fn(x):
        with torch.inference_mode(): return graph(torch.from_numpy(x[0]), torch.from_numpy(x[1]))
    runtimes = {'sb3_predict': (sb3, sb3), 'torch': (torch_fn, torch_fn),
                'onnx_fp32': (lambda x: ort1['fp32'].act(*x), lambda x: ort2['fp32'].act(*x)),
                'onnx_int8': (lambda x: ort1['int8'].act(*x), lambda x: ort2['int8'].act(*x))}
    # the runtimes agree on the held-out observations (otherwise speed means nothing)
    ref = np.array([int(np.ravel(sb3(s)[0])[0]) for s in singles[:500]])
    rows = {}
    load0 = os.getloadavg()[0]
    for name, (one, many) in runtimes.items():
        t = timings(one, singles)
        tp1 = throughput(one, batch)
        tp2 = throughput(many, batch)
        if name == 'onnx_fp32':
            assert (ort1['fp32'].act(obs[idx[:500]], masks[idx[:500]])[0] == ref).all(), 'ONNX and SB3 disagree'
        rows[name] = dict(p50_us=float(np.percentile(t, 50) * 1e6), p99_us=float(np.percentile(t, 99) * 1e6),
                          mean_us=float(t.mean() * 1e6), batch_per_s_1thread=tp1, batch_per_s_2threads=tp2)
    base = rows['sb3_predict']
    for r in rows.values():
        r['speedup_p50'] = base['p50_us'] / r['p50_us']; r['speedup_p99'] = base['p99_us'] / r['p99_us']
        r['throughput_ratio'] = r['batch_per_s_1thread'] / base['batch_per_s_1thread']
    print(f"model {model_dir} ({bundle.cfg.train.net_arch} MLP, {obs.shape[1]} inputs); {len(obs)} held-out observations; "
          f"batch-1: {args.n} calls each; batch: {args.batch}; load average {load0:.1f} -> {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    print(f"{'runtime':<12} {'p50 us':>8} {'p99 us':>8} {'x SB3 p50':>10} {'x SB3 p99':>10} "
          f"{'batch/s 1thr':>13} {'batch/s 2thr':>13} {'x SB3 thr':>10}")
    for k, r in rows.items():
        print(f"{k:<12} {r['p50_us']:>8.1f} {r['p99_us']:>8.1f} {r['speedup_p50']:>10.1f} {r['speedup_p99']:>10.1f} "
              f"{r['batch_per_s_1thread']:>13,.0f} {r['batch_per_s_2threads']:>13,.0f} {r['throughput_ratio']:>10.1f}")
    f = rows['onnx_fp32']
    ok1, ok2 = f['p99_us'] < 50, f['speedup_p50'] >= 10
    print(f"target ONNX fp32 batch-1 p99 < 50 us: {'PASS' if ok1 else 'FAIL'} ({f['p99_us']:.1f} us); "
          f">= 10x faster than SB3 predict: {'PASS' if ok2 else 'FAIL'} ({f['speedup_p50']:.0f}x at p50, {f['speedup_p99']:.0f}x at p99)")
    out = ROOT/'bench'/'out'; out.mkdir(parents=True, exist_ok=True)
    (out/'inference.json').write_text(json.dumps(dict(rows=rows, load_average=[load0, os.getloadavg()[0]], n=args.n,
                                                       batch=args.batch, observations=len(obs)), indent=1))
    return 0


if __name__ == '__main__':
    sys.exit(main())
