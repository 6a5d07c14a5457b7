"""GPU check: training env-steps per second and policy inference latency on CUDA vs the CPU, printed as ratios.

    .venv/bin/python bench/gpu_check.py [--model DIR] [--steps 8192] [--n 2000] [--batch 4096] [--out FILE]
    .venv/bin/python bench/gpu_check.py --dry-run --steps 1024 --shapes default --n 300 --batch 512   # both sides on the CPU

Without a CUDA device (torch.cuda.is_available() is False) it prints one line saying so and exits 0, so it can sit
in any script. With one, in this one process:
  training   MaskablePPO `learn` on the batched env (bundled BTC hourly, the default training period), timed after a
             warm-up, with train.device cpu and cuda; two shapes: the default (4 envs x 512 steps, minibatches of 256,
             64x64 network) and a large one (64 envs x 256 steps, minibatches of 4096, 256x256 network), where a GPU
             can pay off. env-steps per wall second, ratio cuda / cpu.
  torch      the policy's exportable graph (riskrl_nb.serve.inference.policy_graph) on the CPU and on CUDA: batch-1
             latency p50/p99 (inputs copied to the device and the action back: what a service would pay) and
             decisions per second at --batch; the share of equal actions between the two devices.
  onnx       ONNX Runtime's CPU provider vs its CUDA provider (needs onnxruntime-gpu; the row says so when the
             provider is missing), same figures.
Without --model a small model is trained first on the CPU (about 15 s). --dry-run uses the CPU for the "GPU" side
too (ratios near 1), to check the script where no GPU is lent.
"""
import argparse, copy, json, os, sys, tempfile, time
from pathlib import Path
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT/'bench'))


def learn_rate(cfg, steps: int, warmup: int = 1024) -> float:
    "env-steps per wall second of MaskablePPO `learn` under `cfg` (after a warm-up on the same model)."
    from riskrl_nb.agents.algos import get_algo
    from riskrl_nb.agents.training import make_train_env
    from riskrl_nb.sim.prepare import prepare_data, load_frames
    prepared, _ = prepare_data(load_frames(cfg), cfg)
    vec = make_train_env(cfg, prepared)
    model = get_algo(cfg.train.algo).make(cfg, vec)
    model.learn(warmup)
    t, n0 = time.perf_counter(), model.num_timesteps
    model.learn(steps, reset_num_timesteps=False)
    if 'cuda' in str(model.device):
        import torch; torch.cuda.synchronize()
    rate = (model.num_timesteps - n0) / (time.perf_counter() - t)
    vec.close()
    return rate


def latencies(fn, xs, warmup: int = 100) -> np.ndarray:
    "Per-call microseconds of fn(x) for each x, after a warm-up."
    for x in xs[:warmup]: fn(x)
    out = np.empty(len(xs))
    for k, x in enumerate(xs):
        t = time.perf_counter_ns(); fn(x); out[k] = time.perf_counter_ns() - t
    return out / 1e3


def per_second(fn, batch, reps: int = 10) -> float:
    "Decisions per second of fn on one batch."
    fn(batch); n, t = 0, time.perf_counter()
    while n < reps or time.perf_counter() - t < 0.5:
        fn(batch); n += 1
    return n * len(batch[0]) / (time.perf_counter() - t)


def torch_runner(graph, device: str):
    "fn((obs, masks)) -> actions (numpy) with `graph` on `device`: inputs copied there, actions copied back."
    import torch
    g = copy.deepcopy(graph).to(device).eval()
    def fn(x):
        with torch.inference_mode():
            a, _ = g(torch.from_numpy(x[0]).to(device), torch.from_numpy(x[1]).to(device))
            return a.cpu().numpy()
    return fn


def onnx_runner(path: Path, provider: str):
    "fn((obs, masks)) -> actions under ONNX Runtime's `provider`, or None when that provider is not installed."
    import onnxruntime as ort
    if provider not in ort.get_available_providers(): return None
    so = ort.SessionOptions(); so.intra_op_num_threads = 1
    s = ort.InferenceSession(str(path), so, providers=[provider] + (['CPUExecutionProvider'] if provider != 'CPUExecutionProvider' else []))
    if s.get_providers()[0] != provider: return None
    return lambda x: s.run(None, {'obs': x[0], 'action_mask': x[1]})[0]


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--model', help='model folder for the inference rows (a small one is trained if omitted)')
    ap.add_argument('--steps', type=int, default=8192, help='timed training env-steps per row')
    ap.add_argument('--n', type=int, default=2000, help='batch-1 calls per runtime')
    ap.add_argument('--batch', type=int, default=4096, help='batch size of the throughput figures')
    ap.add_argument('--shapes', nargs='+', default=['default', 'large'], choices=['default', 'large'], help='training shapes to time')
    ap.add_argument('--dry-run', action='store_true', help='use the CPU for the GPU side too (checks the script without a GPU)')
    ap.add_argument('--out', help='also write the figures (JSON) to this file')
    args = ap.parse_args()
    import torch
    if not args.dry_run and not torch.cuda.is_available():
        print("gpu_check: skipped: no CUDA device (torch.cuda.is_available() is False); nothing to compare")
        return 0
    gpu = 'cpu' if args.dry_run else 'cuda'
    torch.set_num_threads(1)
    from riskrl_nb.core.config import load_config
    from riskrl_nb.agents.training import train
    from riskrl_nb.agents.bundle import load_bundle
    from riskrl_nb.serve.inference import export_policy, collect_observations, policy_graph
    name = 'cpu (dry run)' if args.dry_run else torch.cuda.get_device_name(0)
    print(f"gpu_check: GPU side = {name}; torch {torch.__version__}; {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f}", flush=True)
    res = dict(device=name, training={}, inference={})

    shapes = {'default (4 envs x 512, batch 256, 64x64)': dict(train=dict(n_envs=4, n_steps=512, batch_size=256)),
              'large (64 envs x 256, batch 4096, 256x256)': dict(train=dict(n_envs=64, n_steps=256, batch_size=4096, net_arch=[256, 256]))}
    print(f"\ntraining, MaskablePPO on the batched env, {args.steps} timed env-steps: env-steps per wall second")
    print(f"{'shape':44s} {'cpu':>9s} {gpu:>9s} {'ratio':>7s}")
    for label, over in [(k, v) for k, v in shapes.items() if k.split()[0] in args.shapes]:
        r = {side: learn_rate(load_config(overrides={**over, 'env': dict(batched=True), 'train': {**over['train'], 'device': dev}}), args.steps)
             for side, dev in (('cpu', 'cpu'), ('gpu', gpu))}
        res['training'][label] = dict(r, ratio=r['gpu'] / r['cpu'])
        print(f"{label:44s} {r['cpu']:9.0f} {r['gpu']:9.0f} {r['gpu'] / r['cpu']:7.2f}", flush=True)

    from inference import TINY
    model_dir = Path(args.model) if args.model else train(load_config(overrides=TINY), Path(tempfile.mkdtemp())/'model', progress=False, verbose=False)
    if not (model_dir/'policy.onnx').exists(): export_policy(model_dir, quantize=False, verbose=False)
    bundle = load_bundle(model_dir)
    graph = policy_graph(bundle.model, bundle.masked).cpu()
    held = collect_observations(bundle, 'test')
    obs, masks = np.ascontiguousarray(held['obs'], np.float32), np.ascontiguousarray(held['masks'], bool)
    singles = [(obs[i:i + 1], masks[i:i + 1]) for i in np.resize(np.arange(len(obs)), args.n)]
    b = np.random.default_rng(0).integers(0, len(obs), args.batch)
    batch = (obs[b], masks[b])
    pairs = {'torch': (torch_runner(graph, 'cpu'), torch_runner(graph, gpu)),
             'onnx': (onnx_runner(model_dir/'policy.onnx', 'CPUExecutionProvider'),
                      onnx_runner(model_dir/'policy.onnx', 'CPUExecutionProvider' if args.dry_run else 'CUDAExecutionProvider'))}
    print(f"\ninference, {len(obs)} held-out observations, batch 1 ({args.n} calls) and batch {args.batch}")
    print(f"{'runtime':8s} {'device':6s} {'p50 us':>9s} {'p99 us':>9s} {'per s @batch':>13s} {'p50 ratio':>10s} {'per s ratio':>12s} {'same actions':>13s}")
    for rt, (cpu_fn, gpu_fn) in pairs.items():
        if gpu_fn is None:
            print(f"{rt:8s} {gpu:6s} skipped: ONNX Runtime has no CUDA provider here (pip install onnxruntime-gpu)")
            res['inference'][rt] = 'no CUDA provider'; continue
        rows = {}
        for side, fn in (('cpu', cpu_fn), ('gpu', gpu_fn)):
            t = latencies(fn, singles)
            rows[side] = dict(p50_us=float(np.percentile(t, 50)), p99_us=float(np.percentile(t, 99)), per_s=per_second(fn, batch))
        same = float((np.ravel(cpu_fn(batch)) == np.ravel(gpu_fn(batch))).mean())
        c, g = rows['cpu'], rows['gpu']
        print(f"{rt:8s} {'cpu':6s} {c['p50_us']:9.1f} {c['p99_us']:9.1f} {c['per_s']:13,.0f}")
        print(f"{rt:8s} {gpu:6s} {g['p50_us']:9.1f} {g['p99_us']:9.1f} {g['per_s']:13,.0f} {c['p50_us'] / g['p50_us']:10.2f} "
              f"{g['per_s'] / c['per_s']:12.2f} {same:13.4f}", flush=True)
        res['inference'][rt] = dict(rows, same_actions=same, p50_speedup=c['p50_us'] / g['p50_us'], throughput_ratio=g['per_s'] / c['per_s'])
    print("\n(ratios: GPU side over CPU; p50 ratio > 1 and per-s ratio > 1 mean the GPU side is faster)")
    if args.out: Path(args.out).write_text(json.dumps(res, indent=1))
    return 0


if __name__ == '__main__':
    sys.exit(main())
