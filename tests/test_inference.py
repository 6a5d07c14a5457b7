"""`riskrl export`: ONNX policy equal to SB3 on held-out observations, variants with agreement, plain-JSON serving config."""
import json, subprocess, sys
from pathlib import Path
import numpy as np
from conftest import ROOT, run_main as run_cli   # in-process: no process start (and torch import) per command


def test_export_files_and_agreement(exported_model):
    m = exported_model
    for f in ['policy.onnx', 'policy.int8.onnx', 'serving.json', 'export_report.json']: assert (m/f).exists(), f
    rep = json.loads((m/'export_report.json').read_text())
    assert rep['variants']['fp32']['agreement'] == 1.0 and rep['variants']['fp32']['max_prob_diff'] < 1e-5
    assert rep['held_out']['split'] == 'test' and rep['held_out']['observations'] > 100
    assert 0.9 <= rep['variants']['int8']['agreement'] <= 1.0
    sv = json.loads((m/'serving.json').read_text())
    base = json.loads((m/'baselines.json').read_text())['params']
    assert sv['fallback']['params'] == base['atr_trailing'] and sv['baselines'] == base
    assert sv['scaler'] == json.loads((m/'scaler.json').read_text())
    assert sv['model_version'].startswith('maskable_ppo-') and sv['bars']['bars_recommended'] >= sv['bars']['bars_min']
    assert set(sv['feature_ranges']) == set(sv['scaler']['columns'])


def test_onnx_matches_sb3_on_batch(exported_model):
    "The batch API returns SB3's deterministic actions for a batch of real held-out observations."
    from riskrl_nb.agents.bundle import load_bundle
    from riskrl_nb.serve.inference import OnnxPolicy, collect_observations
    b = load_bundle(exported_model)
    held = collect_observations(b, 'test')
    act, probs = OnnxPolicy(exported_model/'policy.onnx', threads=2).act(held['obs'], held['masks'])
    sb3 = np.array([int(b.model.predict(o, action_masks=k, deterministic=True)[0]) for o, k in zip(held['obs'][:300], held['masks'][:300])])
    assert (act[:300] == sb3).all() and (act == held['actions']).all()
    assert np.allclose(probs.sum(1), 1, atol=1e-5) and (probs[~held['masks']] < 1e-6).all()


def test_export_variants_and_bad_input(tiny_model, tmp_path):
    import shutil
    m = tmp_path/'m'; shutil.copytree(tiny_model, m)
    r = run_cli('export', '--model', m, '--prune', '0.4', '--distill', '16')
    assert r.returncode == 0, r.stderr
    rep = json.loads((m/'export_report.json').read_text())['variants']
    assert rep['pruned']['pruned_fraction'] == 0.4
    from riskrl_nb.agents.bundle import load_bundle# the reported agreement, recomputed from the pruned file on the held-out batch
    from riskrl_nb.serve.inference import OnnxPolicy, collect_observations
    held = collect_observations(load_bundle(m), 'test')
    pruned, _ = OnnxPolicy(m/'policy.pruned.onnx').act(held['obs'], held['masks'])
    assert abs(rep['pruned']['agreement'] - float(np.mean(pruned == held['actions']))) < 1e-12
    assert rep['student']['parameters'] < rep['student']['teacher_parameters'] and rep['student']['agreement'] > 0.8
    from riskrl_nb.cli import main   # user mistakes, in-process (they fail before any work)
    import contextlib, io
    for argv, msg in [(['--prune', '1.5'], 'between 0 and 1'), (['--format', 'tflite'], 'invalid choice')]:
        err = io.StringIO()
        with contextlib.redirect_stderr(err):
            try: rc = main(['export', '--model', str(m), *argv])
            except SystemExit as e: rc = e.code
        assert rc == 2 and msg in err.getvalue() and len(err.getvalue().strip().splitlines()) == 1, err.getvalue()
    err = io.StringIO()
    with contextlib.redirect_stderr(err): rc = main(['export', '--model', str(tmp_path/'nowhere')])
    assert rc == 2 and 'model folder not found' in err.getvalue()


def test_serving_loads_no_pickle_and_checks_the_file(exported_model, tmp_path):
    """The service process runs with only what deploy/requirements-serve.txt installs (and what those require):
    any other distribution's module (torch, Stable-Baselines3, pyarrow, ...) is missing, as in the image;
    a policy file changed after export is refused."""
    from riskrl_nb.data.candles import load_bundled
    from riskrl_nb.serve.schema import ServingModel, bars_payload
    df = load_bundled('BTC', '1h').iloc[-ServingModel(exported_model).bars_recommended:]
    body = dict(position=dict(position_id='p', symbol='BTC', side='long', quantity=0.2, entry_price=float(df.open.iloc[-5]),
                              entry_time=df.index[-5].isoformat()), bars=bars_payload(df))
    (tmp_path/'body.json').write_text(json.dumps(body))
    code = f"""
import sys, json, importlib.metadata as md
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name as canon
lines = [l.split('#')[0].strip() for l in open({str(ROOT/'deploy'/'requirements-serve.txt')!r})]
todo, allowed = [Requirement(l) for l in lines if l], set()
while todo:   # the requirements and everything they require
    r = todo.pop()
    if (r.marker and not r.marker.evaluate(dict(extra=''))) or canon(r.name) in allowed: continue
    allowed.add(canon(r.name))
    try: todo += [Requirement(x) for x in md.requires(r.name) or []]
    except md.PackageNotFoundError: pass
for top, ds in md.packages_distributions().items():   # as if not installed: import fails, find_spec says None
    if top != 'riskrl_nb' and not any(canon(d) in allowed for d in ds): sys.modules[top] = None
import uvicorn
from riskrl_nb.serve.schema import ServingModel, DecideRequest
from riskrl_nb.serve.engine import DecisionService
from riskrl_nb.serve.limits import load_limits
from riskrl_nb.serve.http import create_app
from riskrl_nb.serve.audit import AuditLog
sm = ServingModel({str(exported_model)!r})
req = DecideRequest.model_validate_json(open({str(tmp_path/'body.json')!r}).read())
svc = DecisionService(sm, AuditLog({str(tmp_path/'a.db')!r}), load_limits(overrides=dict(max_bar_age_bars=None)))
d = svc.decide(req)
stale = DecisionService(sm, AuditLog({str(tmp_path/'b.db')!r})).decide(req)   # old bars: the ATR fallback (pandas-ta)
uvicorn.Config(create_app(svc, ['k' * 16]), log_level='warning').load()      # what `riskrl serve` loads before listening
bad = [m for m in ('torch', 'stable_baselines3', 'sb3_contrib') if sys.modules.get(m) is not None]
print(json.dumps(dict(action=d['action'], policy=d['policy'], stale=stale['policy'], bad=bad)))
"""
    r = subprocess.run([sys.executable, '-c', code], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr[-2000:]
    out = json.loads(r.stdout.strip().splitlines()[-1])
    assert out['bad'] == [] and out['action'] in ('hold', 'close_tp', 'close_sl'), out
    assert out['policy'] == 'model' and out['stale'] == 'fallback', out
    import shutil
    from riskrl_nb.serve.schema import ServingModel
    from riskrl_nb.core.config import RiskrlError
    m = tmp_path/'m'; shutil.copytree(exported_model, m)
    data = bytearray((m/'policy.onnx').read_bytes()); data[-20] ^= 1; (m/'policy.onnx').write_bytes(bytes(data))
    try: ServingModel(m); raise AssertionError('a changed policy file was loaded')
    except RiskrlError as e: assert 'SHA-256 differs' in str(e)


# ----- the fast inference path of every backtest (riskrl_nb.agents.policy.FastActor) -----
import pytest

FAST_CASES = [('maskable_ppo', 'mlp', 'discrete3'), ('ppo', 'mlp', 'discrete3'), ('maskable_ppo', 'lstm', 'discrete3'),
              ('a2c', 'gru', 'discrete3'), ('maskable_ppo', 'attention', 'multidiscrete'), ('ppo', 'tcn', 'multidiscrete'),
              ('maskable_ppo', 'mlp', 'multidiscrete'), ('ppo', 'mlp', 'box'), ('trpo', 'cnn', 'box')]


@pytest.mark.parametrize('algo,network,space', FAST_CASES)
def test_fast_actor_decides_as_predict_on_real_data(algo, network, space):
    """FastActor gives SB3 `predict`'s deterministic action on every real observation (BTC hourly, random valid
    actions through the env), with the env's masks and with every mask pattern; a backtest on 2023 gives the
    same equity and trades through either path."""
    import torch
    from riskrl_nb.core.config import load_config
    from riskrl_nb.sim.prepare import prepare_data, load_frames
    from riskrl_nb.agents.training import make_train_env
    from riskrl_nb.agents.algos import get_algo
    from riskrl_nb.agents.policy import FastActor, INFERENCE, AgentPolicy
    from riskrl_nb.sim.env import PositionRiskEnv
    from riskrl_nb.sim.execution import Simulation, run_backtest
    torch.set_num_threads(1)
    cfg = load_config(overrides=dict(env=dict(action_space=space, lookback=1 if network == 'mlp' else 8),
                                     data=dict(train_start='2022-01-01', train_end='2022-06-30', valid_start='2022-07-01', valid_end='2022-08-31'),
                                     train=dict(algo=algo, network=network, n_envs=1, n_steps=64, batch_size=64, total_timesteps=128)))
    prepared, _ = prepare_data(load_frames(cfg), cfg)
    p = prepared[0]
    spec = get_algo(algo)
    model = spec.make(cfg, make_train_env(cfg, [p]))
    model.learn(128)   # weights moved away from their initialisation
    env = PositionRiskEnv(p.data, p.periods['train'], cfg)
    rng = np.random.default_rng(0)
    obs, masks = [env.reset(seed=0)[0]], [env.action_masks()]
    for _ in range(300):
        m = env.action_masks()
        a = env.action_space.sample() if space == 'box' else (rng.choice(np.flatnonzero(m[:3])) if space == 'discrete3'
                                                               else np.array([rng.choice(np.flatnonzero(m[:3])), rng.integers(0, 101)]))
        o, _, term, trunc, _ = env.step(a)
        if term or trunc: o, _ = env.reset()
        obs.append(o); masks.append(env.action_masks())
    obs, masks = np.stack(obs), np.stack(masks)
    fast = FastActor.build(model, space)
    assert fast is not None and (fast.chain is not None) == (network == 'mlp' and space != 'box')
    patterns = [masks] + [np.tile(np.r_[np.array(k, bool), np.ones(masks.shape[1] - 3, bool)], (len(obs), 1))
                          for k in ([1, 1, 1], [1, 0, 1], [1, 1, 0])]
    for mk in patterns if spec.masked else [None]:
        kw = (lambda k: dict(action_masks=k)) if mk is not None else (lambda k: {})
        ref = np.stack([model.predict(o, deterministic=True, **kw(k))[0] for o, k in zip(obs, mk if mk is not None else obs)])
        got = np.stack([fast.act(o, None if mk is None else k) for o, k in zip(obs, mk if mk is not None else obs)])
        assert got.dtype == ref.dtype and got.shape == ref.shape and (got == ref).all()
        batch = fast.act_batch(obs, mk)   # batched: a float32 matmul over N rows may round the box mean differently
        assert (batch == ref).all() if space != 'box' else np.allclose(batch, ref, rtol=0, atol=1e-5)
    a, b = p.periods['valid']
    sim = Simulation(p.data.market, p.data.signals, cfg.costs, cfg.env)
    runs = {}
    for flag in (True, False):
        INFERENCE['fast'] = flag
        try: runs[flag] = run_backtest(sim, AgentPolicy(model, p.data.features, cfg, spec.masked), a, b)
        finally: INFERENCE['fast'] = True
    assert runs[True].equity.equals(runs[False].equity) and runs[True].trades.equals(runs[False].trades)


def test_fast_actor_falls_back_where_it_must():
    "Recurrent, Q-learning and SAC policies keep SB3's predict, and say why."
    from types import SimpleNamespace
    from riskrl_nb.agents.policy import FastActor
    assert 'recurrent' in FastActor.unsupported(SimpleNamespace(policy=None), recurrent=True)
    assert 'not an actor-critic' in FastActor.unsupported(SimpleNamespace(policy=SimpleNamespace()))
