"""PPO training throughput through `riskrl train`'s own path, the default config against batched configs, with the split.

    nice -n 5 python bench/batched_training.py [--steps 49152] [--seed 0] [--configs stock readable default b64] [--out DIR]

Every row calls `riskrl_nb.agents.training.train` (what `riskrl train` runs: rule tuning, the oracle labels and the
cloning pre-training of the default config, validation every `eval_freq` steps, cloning steps after each PPO update),
one row after the other in this one process, torch on 1 thread (the config's `train.torch_threads`); MaskablePPO is
`LeanMaskablePPO` as in `riskrl train` (`bench/fast_ppo.py` compares it with stock MaskablePPO). Rows (`CONFIGS`):
`default` is the config as shipped (since issue 14: the batched env, 64 accounts x 128 steps, minibatches of 256, 16
cloning minibatches per update; the same training as `b64s`); `readable` is the default before that (the readable env,
4 x 512, 4 cloning minibatches per update); `stock` is `readable` on the path the speed issue measured (stock
MaskablePPO's rollout and update on SB3's DummyVecEnv: the default's training before `LeanMaskablePPO` and
`LeanDummyVecEnv`); `batched4` is `readable` with `env.batched: true` (same 4 x 512 schedule); `b16` is 16 accounts x
128 steps (rollouts of 2048 and minibatches of 256, as `readable`: the same number of PPO updates and cloning steps per
env step); `b64` is 64 x 128 with minibatches of 1024 (4x fewer updates per env step) and `bc_steps` 16 (the same
cloning minibatches per env step as `readable`'s 4 per update); `b64s` is `b64` with minibatches of 256 (the same number
of gradient steps per env step as `readable`), spelled out: the row docs/results/batched_training_periods.md benchmarked.

For each row it reports env-steps per CPU-second of the `learn` loop (everything between the start and the end of
training: stepping, policy forward passes, PPO updates, cloning steps, validation backtests) and the split of that
loop's CPU time, measured by timers wrapped around the parts (process time): `env` (the VecEnv's step_wait, incl.
the DummyVecEnv (`LeanDummyVecEnv`) and Monitor), `masks` (action_masks), `policy` (the policy's forward pass for each step's actions:
MaskableActorCriticPolicy.forward or LeanMaskablePPO.lean_forward), `buffer` (the rollout buffer's add), `update` (the PPO update, `train()`),
`cloning` (the cloning minibatches), `validation` (validation backtests) and `rest` (the remainder: SB3's rollout
loop in Python, observation-to-tensor conversion, callbacks, the returns/advantages computation). Also the whole run's CPU seconds (setup included) and the validation curve
(train_log.csv). Ratios are against `default` measured in the same process.
"""
import argparse, functools, json, os, tempfile, time
from pathlib import Path

B = dict(env=dict(batched=True))
READABLE = dict(env=dict(batched=False), train=dict(n_envs=4, n_steps=512, pretrain_oracle=dict(bc_steps=4)))   # = configs/readable_default.yaml
CONFIGS = {
    'default': {},
    'readable': READABLE,
    'batched4': dict(READABLE, env=dict(batched=True)),
    'b16': dict(B, train=dict(n_envs=16, n_steps=128, batch_size=256, pretrain_oracle=dict(bc_steps=4))),
    'b64': dict(B, train=dict(n_envs=64, n_steps=128, batch_size=1024, pretrain_oracle=dict(bc_steps=16))),
    'b64s': dict(B, train=dict(n_envs=64, n_steps=128, batch_size=256, pretrain_oracle=dict(bc_steps=16))),
    'stock': READABLE,   # the default config of the speed issue on the path it measured: stock MaskablePPO on SB3's DummyVecEnv
}
STOCK = {'stock'}
PARTS = ('env', 'masks', 'policy', 'buffer', 'update', 'cloning', 'validation')


class Timers:
    "Process-time accumulators around functions (patched on their owners), counted only while `on` (the learn loop)."
    def __init__(self): self.t, self.on, self.undo = dict.fromkeys(PARTS, 0.0), False, []
    def wrap(self, owner, name, part):
        f = getattr(owner, name)
        @functools.wraps(f)
        def g(*a, **k):
            if not self.on: return f(*a, **k)
            c = time.process_time()
            try: return f(*a, **k)
            finally: self.t[part] += time.process_time() - c
        setattr(owner, name, g); self.undo.append((owner, name, f))
    def restore(self):
        for owner, name, f in reversed(self.undo): setattr(owner, name, f)


def merge(base, over):
    out = dict(base)
    for k, v in over.items(): out[k] = merge(base.get(k, {}), v) if isinstance(v, dict) and v else v
    return out


def run_row(name, over, args, out, stock=False, stock_env=False):
    """One training run through `train()`; `stock`: stock MaskablePPO's rollout and update instead of LeanMaskablePPO's;
    `stock_env`: SB3's DummyVecEnv instead of `LeanDummyVecEnv` (`make_train_env`'s vec env with train.vec_env dummy)."""
    import riskrl_nb.agents.training as tr, riskrl_nb.agents.oracle as orc
    from riskrl_nb.agents.algos import LeanMaskablePPO
    from riskrl_nb.core.config import load_config
    from riskrl_nb.sim.vec_env import BatchedPositionEnv
    from stable_baselines3.common.vec_env import DummyVecEnv, VecMonitor
    from stable_baselines3.common.callbacks import BaseCallback
    overrides = merge(over, dict(train=dict(seed=args.seed, total_timesteps=args.steps)))
    if 'pretrain_oracle' in overrides['train']:   # a partial pretrain_oracle dict: completed from the default's
        overrides['train']['pretrain_oracle'] = dict(load_config().train.pretrain_oracle, **overrides['train']['pretrain_oracle'])
    cfg = load_config(overrides=overrides)
    T = Timers()
    T.wrap(DummyVecEnv, 'step_wait', 'env'); T.wrap(tr.LeanDummyVecEnv, 'step_wait', 'env'); T.wrap(BatchedPositionEnv, 'step_wait', 'env')
    T.wrap(DummyVecEnv, 'env_method', 'masks'); T.wrap(BatchedPositionEnv, 'action_masks', 'masks')
    from sb3_contrib.common.maskable.policies import MaskableActorCriticPolicy
    from sb3_contrib.common.maskable.buffers import MaskableRolloutBuffer
    T.wrap(MaskableActorCriticPolicy, 'forward', 'policy'); T.wrap(LeanMaskablePPO, 'lean_forward', 'policy')
    T.wrap(MaskableRolloutBuffer, 'add', 'buffer')
    T.wrap(LeanMaskablePPO, 'train', 'update'); T.wrap(orc, '_clone_step', 'cloning'); T.wrap(tr, 'validation_score', 'validation')
    loop = {}
    class Loop(BaseCallback):
        def _on_training_start(self): T.on = True; loop['c0'], loop['w0'] = time.process_time(), time.perf_counter()
        def _on_step(self): return True
        def _on_training_end(self):
            loop['cpu'], loop['wall'] = time.process_time() - loop['c0'], time.perf_counter() - loop['w0']
            loop['rollouts'] = self.model._n_updates // self.model.n_epochs; loop['steps'] = self.model.num_timesteps
            loop['params'] = __import__('hashlib').sha256(b''.join(v.detach().cpu().numpy().tobytes()
                                                                   for v in self.model.policy.state_dict().values())).hexdigest()
    if stock: T.undo.append((LeanMaskablePPO, 'lean_plan', LeanMaskablePPO.lean_plan)); LeanMaskablePPO.lean_plan = lambda self: None
    if stock_env: T.undo.append((tr, 'LeanDummyVecEnv', tr.LeanDummyVecEnv)); tr.LeanDummyVecEnv = DummyVecEnv   # make_train_env builds SB3's
    c0 = time.process_time()
    try: folder = tr.train(cfg, out/name, progress=False, verbose=False, callbacks=[Loop()])
    finally: T.on = False; T.restore()
    total = time.process_time() - c0
    # Loop is the last callback: the final validation and cloning step (other callbacks' _on_training_end) are inside the loop
    curve = [(r['timesteps'], r[f'valid_{cfg.train.select_metric}']) for r in
             __import__('pandas').read_csv(folder/'train_log.csv').to_dict('records')]
    split = {k: v for k, v in T.t.items()}
    inside = sum(v for k, v in split.items() if k not in ('validation',))
    return dict(config=name, folder=str(folder), final_params_sha256=loop['params'], steps=loop['steps'], rollouts=loop['rollouts'], loop_cpu=loop['cpu'], loop_wall=loop['wall'],
                total_cpu=total, per_cpu_s=loop['steps'] / loop['cpu'], per_s=loop['steps'] / loop['wall'],
                split=split, rest=loop['cpu'] - inside - split['validation'], curve=curve, load=os.getloadavg()[0])


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--steps', type=int, default=49152)
    ap.add_argument('--seed', type=int, default=0)
    ap.add_argument('--configs', nargs='+', default=list(CONFIGS), choices=list(CONFIGS))
    ap.add_argument('--out', default=None, help='model folders here (default: a temporary folder)')
    ap.add_argument('--json', default=None, help='write the rows as JSON here')
    args = ap.parse_args()
    out = Path(args.out or tempfile.mkdtemp(prefix='batched-training-'))
    rows = []
    for name in args.configs:
        r = run_row(name, CONFIGS[name], args, out, stock=name in STOCK, stock_env=name in STOCK)
        rows.append(r)
        s = r['split']; c = r['loop_cpu']
        parts = ', '.join(f"{k} {v / c:.0%}" for k, v in s.items()) + f", rest {r['rest'] / c:.0%}"
        print(f"{name:9s} {r['steps']} steps, {r['rollouts']} rollouts: {r['per_cpu_s']:6.0f} env-steps per CPU-s of the loop "
              f"({r['per_s']:6.0f}/s wall; run {r['total_cpu']:.0f} CPU-s in all; load {r['load']:.1f}); loop split: {parts}", flush=True)
        print(f"{'':9s} validation {' '.join(f'{t}:{v:+.2f}' for t, v in r['curve'])}", flush=True)
    d = {r['config']: r for r in rows}
    for ref in ('readable', 'default'):
        if ref not in d: continue
        print('\n' + '; '.join(f"{n} / {ref} {r['per_cpu_s'] / d[ref]['per_cpu_s']:.2f}x per CPU-s"
                               for n, r in d.items() if n != ref)
              + f" (load average {os.getloadavg()[0]:.1f}, shared 2-core machine, seed {args.seed})")
    if 'stock' in d:   # issue 14's "today's default": the path it measured, before LeanMaskablePPO and LeanDummyVecEnv
        print('; '.join(f"{n} / stock {r['per_cpu_s'] / d['stock']['per_cpu_s']:.2f}x per CPU-s" for n, r in d.items() if n != 'stock'))
    if args.json: Path(args.json).write_text(json.dumps(rows, indent=1))


if __name__ == '__main__':
    main()
