"""Mixed precision (bfloat16 autocast on the CPU) vs float32: speed of the policy's forward pass and equality of its
decisions, on every decision of a year of BTC hourly bars.

    .venv/bin/python bench/precision.py [--networks mlp attention lstm tcn] [--steps 4096]

For each network a tiny model is trained (bench/inference.py's TINY config, `--steps` steps), then backtested on
2023 with its observations recorded at every decision. The recorded batch goes through the policy's action logits
in float32 and under `torch.autocast('cpu', dtype=torch.bfloat16)` (the whole policy: extractor and heads, which is
what `train.mixed_precision` would have to cover to help the MLP); the table gives the share of identical argmax
actions (masked as in the backtest) and the time per batch, bf16 vs fp32, measured in the same process.
"""
import argparse, sys, tempfile, time, warnings
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT/'bench'))


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--networks', nargs='+', default=['mlp', 'attention', 'lstm', 'tcn'])
    ap.add_argument('--steps', type=int, default=4096)
    ap.add_argument('--repeats', type=int, default=5)
    args = ap.parse_args()
    warnings.simplefilter('ignore')
    import numpy as np, torch
    from riskrl_nb.core.config import load_config
    from riskrl_nb.agents.training import train
    from riskrl_nb.agents.bundle import load_bundle
    from riskrl_nb.agents import policy as pol
    from riskrl_nb.data.candles import load_bundled
    from riskrl_nb.eval.evaluation import backtest_all
    from riskrl_nb.sim.env import ObservationBuilder, space_mask
    from inference import TINY
    torch.set_num_threads(1)
    df = load_bundled('BTC', '1h')
    tmp = Path(tempfile.mkdtemp())
    print(f"| network | decisions | identical argmax actions | fp32 ms/batch | bf16 ms/batch | bf16 / fp32 time |")
    print("|---|---|---|---|---|---|")
    for net in args.networks:
        over = dict(TINY, env=dict(lookback=24), train=dict(TINY['train'], total_timesteps=args.steps, network=net,
                                                             net=dict(features_dim=32, d_model=16, n_heads=2, hidden=16, channels=16)))
        b = load_bundle(train(load_config(overrides=over), tmp/net, progress=False, verbose=False))
        seen = []
        orig = pol.AgentPolicy.decide
        def decide(self, sim, i):
            seen.append((self.builder.observe(sim, i).copy(), space_mask(ObservationBuilder.masks(sim, i), self.cfg.env.action_space)))
            return orig(self, sim, i)
        pol.AgentPolicy.decide = decide
        try: backtest_all(b, df, '2023-01-01', '2023-12-31', rows=[])
        finally: pol.AgentPolicy.decide = orig
        obs = torch.as_tensor(np.stack([o for o, _ in seen]), dtype=torch.float32)
        masks = np.stack([np.asarray(m, dtype=bool).reshape(-1) for _, m in seen])
        p = b.model.policy.eval()
        def actions(bf16):
            with torch.no_grad(), torch.autocast('cpu', dtype=torch.bfloat16, enabled=bf16):
                logits = p.get_distribution(obs).distribution.logits.float().numpy()
            return np.where(masks, logits, -np.inf).argmax(1)
        def timed(bf16):
            actions(bf16); t = time.perf_counter()
            for _ in range(args.repeats): actions(bf16)
            return (time.perf_counter() - t) / args.repeats * 1000
        same = float((actions(False) == actions(True)).mean())
        t32, t16 = timed(False), timed(True)
        print(f"| {net} | {len(obs)} | {same:.4f} | {t32:.1f} | {t16:.1f} | {t16 / t32:.2f} |", flush=True)


if __name__ == '__main__':
    main()
