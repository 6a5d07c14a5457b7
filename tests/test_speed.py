"""Issue 14 (speed): inference-only model loads, the service's fast hot path, the batched env's kernels."""
import subprocess, sys, textwrap
from pathlib import Path
import pytest

ROOT = Path(__file__).resolve().parents[1]


def test_model_load_skips_torch_dynamo_and_keeps_a_complete_optimizer(tiny_model):
    code = textwrap.dedent("""
        import sys, torch, numpy as np
        from riskrl_nb.agents.bundle import load_bundle
        m = load_bundle(sys.argv[1]).model
        m.predict(np.zeros(m.observation_space.shape, np.float32), deterministic=True)
        assert 'torch._dynamo' not in sys.modules, 'loading a model folder imported torch._dynamo'
        assert hasattr(torch.optim.Optimizer.add_param_group, '__wrapped__'), 'torch method not restored'
        opt = m.policy.optimizer
        ref = type(opt)(m.policy.parameters(), **opt.defaults)
        assert opt.state_dict() == ref.state_dict(), (opt.state_dict(), ref.state_dict())
        before = [p.detach().clone() for p in m.policy.parameters()]
        loss = sum((p ** 2).sum() for p in m.policy.parameters()); opt.zero_grad(); loss.backward(); opt.step()
        assert any(not torch.equal(a, p) for a, p in zip(before, m.policy.parameters())), 'the optimizer does not train'
        print('ok')
    """)
    r = subprocess.run([sys.executable, '-c', code, str(tiny_model)], capture_output=True, text=True, cwd=ROOT, timeout=300)
    assert r.returncode == 0 and r.stdout.strip() == 'ok', r.stderr[-2000:]
