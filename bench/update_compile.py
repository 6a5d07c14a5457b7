"""Where the default's PPO update goes, per minibatch, and how much `torch.compile` would take off it (issue 14, training).

    python bench/update_compile.py [--reps 3]

Builds the default config's model (`LeanMaskablePPO`, torch on 1 thread), collects one rollout (4 x 512 steps) and then times,
in CPU-µs per minibatch of 256: the shipped update (`LeanMaskablePPO.train`, 80 minibatches); its two parts, the loss with
its backward pass (the same masked log-softmax, entropy, clipped policy loss and value loss, written as one function) and
gradient clipping + the Adam step; and each part compiled with `torch.compile` (inductor, CPU; compile time printed). The
compiled function does the same arithmetic in another order, so a model trained with it would not be the same bit for bit.
"""
import argparse, time
import torch as th
import torch.nn.functional as F
from riskrl_nb.core.config import load_config
from riskrl_nb.sim.prepare import prepare_data, load_frames
from riskrl_nb.agents.training import make_train_env
from riskrl_nb.agents.algos import get_algo


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--reps', type=int, default=3)
    a = ap.parse_args()
    th.set_num_threads(1)
    cfg = load_config(overrides=dict(train=dict(seed=0)))
    prepared, _ = prepare_data(load_frames(cfg), cfg)
    model = get_algo(cfg.train.algo).make(cfg, make_train_env(cfg, prepared))
    model.learn(cfg.train.n_steps * cfg.train.n_envs)   # one rollout; its buffer stays full
    p, opt = model.policy, model.policy.optimizer
    pi, vf, an, vn = p.mlp_extractor.policy_net, p.mlp_extractor.value_net, p.action_net, p.value_net
    params = list(p.parameters())
    n_mb = model.n_epochs * model.rollout_buffer.buffer_size * model.rollout_buffer.n_envs // model.batch_size

    def loss_fn(obs, act, mask, old_lp, adv, ret):
        logits = th.where(mask, an(pi(obs)), th.full((1,), -1e8))
        logp = F.log_softmax(logits, dim=1)
        lp = logp.gather(1, act.unsqueeze(1)).squeeze(1)
        ent = -th.where(mask, logp.exp() * logp, th.zeros((1,))).sum(1)
        adv = (adv - adv.mean()) / (adv.std() + 1e-8)
        ratio = th.exp(lp - old_lp)
        pol = -th.min(adv * ratio, adv * th.clamp(ratio, 1 - 0.2, 1 + 0.2)).mean()
        return pol - model.ent_coef * ent.mean() + model.vf_coef * F.mse_loss(ret, vn(vf(obs)).flatten())

    def step():
        th.nn.utils.clip_grad_norm_(params, model.max_grad_norm); opt.step()

    d = next(iter(model.rollout_buffer.get(model.batch_size)))
    batch = (d.observations, d.actions.long().flatten(), d.action_masks.bool(), d.old_log_prob, d.advantages, d.returns)
    def per_call(fn, n):
        c = time.process_time()
        for _ in range(n): fn()
        return (time.process_time() - c) / n * 1e6
    def fwd_bwd(f): return lambda: (opt.zero_grad(), f(*batch).backward())
    rows = {}
    rows['shipped update (LeanMaskablePPO.train)'] = lambda: per_call(model.train, 2) / n_mb
    rows['loss + backward, eager'] = lambda: per_call(fwd_bwd(loss_fn), 300)
    rows['clip + Adam step, eager'] = lambda: per_call(step, 600)
    c = time.process_time(); lc = th.compile(loss_fn, dynamic=False); sc = th.compile(step)
    fwd_bwd(lc)(); sc(); compile_s = time.process_time() - c
    rows['loss + backward, torch.compile'] = lambda: per_call(fwd_bwd(lc), 300)
    rows['clip + Adam step, torch.compile'] = lambda: per_call(sc, 600)
    print(f'default config: {n_mb} minibatches of {model.batch_size} per update; torch.compile took {compile_s:.1f} CPU-s (both parts)')
    for name, f in rows.items():
        v = sorted(f() for _ in range(a.reps))
        print(f'{name:40s} {v[len(v) // 2]:8.0f} CPU-µs per minibatch  (runs: {" ".join(f"{x:.0f}" for x in v)})')


if __name__ == '__main__': main()
