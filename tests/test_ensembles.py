"""Stacking ensembles (issue 13, area 7) end to end: the folder `riskrl ensemble --method stacking` writes is accepted by
`riskrl evaluate`, and `riskrl export` turns it into one ONNX graph whose actions equal the Python ensemble's on the
observations of a real backtest. Members are untrained agents (random initial weights, two seeds): seconds, no training."""
import json, re
import numpy as np
import pytest
from conftest import run_main

QUICK = {'data': {'train_start': '2022-01-01', 'train_end': '2022-06-30', 'valid_start': '2022-07-01', 'valid_end': '2022-09-30',
                  'test_start': '2023-01-01', 'test_end': '2023-02-28'},
         'train': {'n_envs': 1}}


@pytest.fixture(scope='module')
def members(tmp_path_factory):
    "Two sealed model folders of untrained agents (seeds 0 and 1) on the bundled BTC data."
    from riskrl_nb.core.config import load_config, save_config
    from riskrl_nb.sim.prepare import prepare_data, load_frames
    from riskrl_nb.agents.training import make_train_env
    from riskrl_nb.agents.algos import get_algo
    from riskrl_nb.agents.bundle import save_policy, write_manifest
    tmp = tmp_path_factory.mktemp('members')
    over = QUICK
    cfg = load_config(overrides=over)
    prepared, scaler = prepare_data(load_frames(cfg), cfg)
    out = []
    for seed in (0, 1):
        c = load_config(overrides={**over, 'train': {'n_envs': 1, 'seed': seed}})
        m = get_algo(c.train.algo).make(c, make_train_env(c, prepared, {}))
        d = tmp/f'seed{seed}'; d.mkdir()
        save_policy(m, d); save_config(c, d/'config.yaml'); scaler.save(d/'scaler.json')
        (d/'features.json').write_text(json.dumps(dict(columns=scaler.columns)))
        (d/'baselines.json').write_text(json.dumps(dict(params={})))
        write_manifest(d); out.append(d)
    return out


def test_stacking_cli_evaluate_and_export_one_graph(members, tmp_path):
    from riskrl_nb.agents.bundle import load_bundle
    from riskrl_nb.serve.inference import OnnxPolicy, collect_observations
    ens = tmp_path/'stack'
    r = run_main('ensemble', '--members', *members, '--out', ens, '--method', 'stacking', '--stacking', 'balance=1', 'samples=2000')
    assert r.returncode == 0 and 'stacking' in r.stdout, r.stderr
    spec = json.loads((ens/'ensemble.json').read_text())
    assert spec['method'] == 'stacking' and np.shape(spec['stacker']['coef']) == (3, 6)
    assert 'validation period only' in spec['stacker']['target']

    r = run_main('evaluate', '--model', ens, '--out', tmp_path/'ev')
    assert r.returncode == 0, r.stderr
    agent = json.loads((tmp_path/'ev'/'metrics.json').read_text())['policies']['agent']
    assert agent['n_trades'] > 0

    r = run_main('export', '--model', ens)
    assert r.returncode == 0, r.stderr
    assert not list(ens.glob('members/*/policy.onnx')) and (ens/'policy.onnx').exists()   # one graph, in the ensemble folder
    report = json.loads((ens/'export_report.json').read_text())
    assert report['variants']['fp32']['agreement'] == 1.0
    # independently of export's own check: the graph's actions equal the Python ensemble's on a real backtest's observations
    bundle = load_bundle(ens)
    held = [collect_observations(bundle, split) for split in ('valid', 'test')]
    obs, masks = np.concatenate([h['obs'] for h in held]), np.concatenate([h['masks'] for h in held])
    actions = np.concatenate([h['actions'] for h in held])
    assert len(obs) > 50 and len(set(actions)) > 1   # the meta-policy holds and closes: agreement is not trivial
    onnx_a, onnx_p = OnnxPolicy(ens/'policy.onnx').act(obs, masks)
    py = np.array([int(bundle.model.predict(o, action_masks=m)[0]) for o, m in zip(obs, masks)])
    assert (onnx_a == py).all() and (onnx_a == actions).all()
    py_p = np.stack([bundle.model.combine(bundle.model.probs(o, m), m) for o, m in zip(obs, masks)])
    np.testing.assert_allclose(onnx_p, py_p, atol=1e-5)
    assert masks[np.arange(len(onnx_a)), onnx_a].all()                           # every chosen action is an allowed one

    # the service takes it like any exported model: replayed bars through the decision service decide as the backtest does
    limits = tmp_path/'wide.yaml'
    limits.write_text('max_position_loss: 1.0\nmax_drawdown: 1.0\nmax_position_exposure: 1000\nmax_portfolio_exposure: 1000\n')
    r = run_main('replay', '--model', ens, '--start', '2023-01-15', '--end', '2023-02-28', '--audit', tmp_path/'a.db', '--limits', limits)
    assert r.returncode == 0, r.stderr[-2000:]
    m = re.search(r'(\d+) decisions by the service .*\(model: (\d+)\); model decisions equal to the backtest\'s: (\d+)/(\d+)', r.stdout)
    assert m, r.stdout[-2000:]
    total, model, agree, n = map(int, m.groups())
    assert total == model == agree == n >= 3

def test_average_exports_and_vote_is_refused(members, tmp_path):
    from riskrl_nb.agents.ensembles import make_ensemble
    from riskrl_nb.serve.inference import export_policy
    avg = make_ensemble(members, tmp_path/'avg', 'average', [3.0, 1.0])
    report = export_policy(avg, verbose=False)
    assert report['variants']['fp32']['agreement'] == 1.0 and report['model_version'].startswith('maskable_ppo-')
    vote = make_ensemble(members, tmp_path/'vote', 'vote')
    r = run_main('export', '--model', vote)
    assert r.returncode == 2 and "'vote' ensemble cannot be exported" in r.stderr
    r = run_main('export', '--model', avg, '--prune', '0.5')
    assert r.returncode == 2 and 'not on an ensemble folder' in r.stderr


def test_bench_ensemble_stacking_settings_tag_and_seeds_reach_the_stacker(members, tmp_path, monkeypatch):
    """bench/benchmark_ensemble.py (issue 13 stacker sweep): `--stacking KEY=VALUE` reaches the fitted meta-policy, `--tag`
    names the row's model folder, `--members` reads models from another run folder and `--seeds N` keeps the first N."""
    import pickle, sys
    from conftest import ROOT
    sys.path.insert(0, str(ROOT/'bench'))
    import benchmark_ensemble as be
    src, out = tmp_path/'src', tmp_path/'out'
    (src/'parts').mkdir(parents=True); (src/'parts'/'2022H1-v.pkl').write_bytes(pickle.dumps({}))
    for k, d in enumerate([*members, members[0]]):   # three seeds; --seeds 2 keeps seed0 and seed1
        (src/'models'/'v'/'2022H1').mkdir(parents=True, exist_ok=True); (src/'models'/'v'/'2022H1'/f'seed{k}').symlink_to(d)
    made, real = [], be.make_ensemble
    class Stop(Exception): pass
    def spy(member_dirs, out_dir, *a, **kw):   # the real ensemble, then stop before the benchmark evaluation
        made.append((list(member_dirs), real(member_dirs, out_dir, *a, **kw))); raise Stop
    monkeypatch.setattr(be, 'make_ensemble', spy)
    with pytest.raises(Stop):
        be.main(['--out', str(out), '--members', str(src), '--seeds', '2', '--variant', 'v', '--method', 'stacking',
                 '--stacking', 'samples=600', 'C=0.25', 'balance=1', '--tag', 'x', '--windows', '2022H1'])
    (dirs, ens), = made
    assert [d.name for d in dirs] == ['seed0', 'seed1'] and ens == out/'models'/'v_stacking_x'/'2022H1'/'seed0'
    st = json.loads((ens/'ensemble.json').read_text())['stacker']
    assert (st['rows'], st['C'], st['balance']) == (600, 0.25, 1.0)
    with pytest.raises(SystemExit) as e: be.main(['--out', str(out), '--variant', 'v', '--windows', '2022H1', '--stacking', 'C=1'])
    assert e.value.code == 2   # --stacking without --method stacking: refused, exit 2


def test_stacking_on_probabilities_and_observation_exports_one_graph(members, tmp_path):
    """`--stacking inputs=probs_obs` (the meta-policy also sees the standardised observation): `riskrl export` still makes one
    ONNX graph, and its actions and probabilities equal the Python ensemble's on a real backtest's observations."""
    from riskrl_nb.agents.bundle import load_bundle
    from riskrl_nb.serve.inference import OnnxPolicy, collect_observations
    ens = tmp_path/'stack_obs'
    r = run_main('ensemble', '--members', *members, '--out', ens, '--method', 'stacking', '--stacking', 'inputs=probs_obs', 'samples=1500')
    assert r.returncode == 0, r.stderr
    st = json.loads((ens/'ensemble.json').read_text())['stacker']
    n_obs = len(st['obs_mean'])
    assert st['inputs'] == 'probs_obs' and np.shape(st['coef']) == (3, 6 + n_obs) and np.abs(np.array(st['coef'])[:, 6:]).max() > 0
    r = run_main('export', '--model', ens)
    assert r.returncode == 0, r.stderr
    assert json.loads((ens/'export_report.json').read_text())['variants']['fp32']['agreement'] == 1.0
    bundle = load_bundle(ens)
    held = [collect_observations(bundle, split) for split in ('valid', 'test')]
    obs, masks = np.concatenate([h['obs'] for h in held]), np.concatenate([h['masks'] for h in held])
    onnx_a, onnx_p = OnnxPolicy(ens/'policy.onnx').act(obs, masks)
    py = np.array([int(bundle.model.predict(o, action_masks=m)[0]) for o, m in zip(obs, masks)])
    assert len(obs) > 50 and (onnx_a == py).all()
    py_p = np.stack([bundle.model.combine(bundle.model.probs(o, m), m, o) for o, m in zip(obs, masks)])
    np.testing.assert_allclose(onnx_p, py_p, atol=1e-5)
