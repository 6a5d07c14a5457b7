"""Issue 13, third round: the default config is the second ablation's best row (oracle pre-training with the cost margin,
balanced labels, cloning steps during PPO, the clone validated first); `pretrain_oracle: false` turns it off wherever it
is merged; configs saved before the change still train as they did. Issue 14: the default trains on the batched env, 64
accounts x 128 steps (the `b64s` row of docs/results/batched_training_periods.md), and falls back to the readable env,
said, where the batched one cannot train the config."""
import json
import pandas as pd
import pytest
import yaml
from conftest import ROOT, run_main as run_cli   # in-process: no process start (and torch import) per command
from riskrl_nb.core.config import RunConfig, RiskrlError, load_config, merge_dicts, config_to_dict, save_config, load_saved_config
from riskrl_nb.eval.benchmark import load_variants, bench_config, bench_window
from riskrl_nb.ops.hpo import trial_config

OFF = {'train': {'pretrain_oracle': False, 'validate_first': False}}
TINY_DATA = "{train_start: '2022-01-01', train_end: '2022-06-30', valid_start: '2022-07-01', valid_end: '2022-08-31', test_start: '2023-01-01', test_end: '2023-12-31'}"


def _trained_as(cfg):
    "What decides how a config trains: env and train sections, the oracle settings with their defaults filled in."
    from riskrl_nb.agents.oracle import oracle_settings
    return cfg.env, {**config_to_dict(cfg)['train'], 'pretrain_oracle': oracle_settings(cfg)}


def test_default_is_the_measured_best_row():
    """The default trains as the `oracle_margin_first_bc_batched64s` row that docs/results/batched_training_periods.md
    benchmarked (env.batched auto resolves to true for it); configs/readable_default.yaml is the default before issue 14,
    the `oracle_margin_first_bc` row of benchmark_ablation2.md, whose `default` row is the one before that."""
    b64s = load_config(overrides=load_variants(ROOT/'configs'/'skill_batched.yaml')['oracle_margin_first_bc_batched64s'])
    now = load_config()
    assert now.env.batched == 'auto' and b64s.env.batched is True
    assert _trained_as(load_config(overrides={'env': {'batched': True}, 'train': {'fresh_rival': False}})) == _trained_as(b64s)
    # since the positive control (2026-12-05) the default adds the fresh rival: configs/skill_fresh_rival.yaml's row
    assert now.train.fresh_rival is True and b64s.train.fresh_rival is False
    assert _trained_as(now) == _trained_as(load_config(overrides=load_variants(ROOT/'configs'/'skill_fresh_rival.yaml')['fresh_rival']))
    rows = load_variants(ROOT/'configs'/'skill_ablation2.yaml')
    before = load_config(ROOT/'configs'/'readable_default.yaml')
    asked = load_config(overrides=merge_dicts(rows['oracle_margin_first_bc'], {'env': {'batched': False}, 'train': {'n_envs': 4, 'n_steps': 512}}))
    assert _trained_as(before) == _trained_as(asked)
    assert (before.env.batched, before.train.n_envs, before.train.n_steps, before.train.pretrain_oracle['bc_steps']) == (False, 4, 512, 4)
    old = load_config(overrides=rows['default']).train
    assert (old.pretrain_oracle, old.validate_first) == ({}, False)
    assert load_config(ROOT/'configs'/'old_default.yaml').train == load_config(overrides=merge_dicts(rows['default'], {'train': {'n_envs': 4, 'n_steps': 512}})).train
    assert load_config(ROOT/'configs'/'old_default.yaml').env.batched is False


def test_committed_ablation_rows_keep_their_meaning():
    "Every row of the committed ablation/variant files without its own oracle settings trains without pre-training, as measured."
    for name in ('skill_ablation.yaml', 'skill_ablation2.yaml', 'skill_variants.yaml'):
        for row, over in load_variants(ROOT/'configs'/name).items():
            t = load_config(overrides=over).train
            if 'pretrain_oracle' not in str(over).replace("'pretrain_oracle': False", ''):
                assert t.pretrain_oracle == {} and not t.validate_first, (name, row)
            elif not over['train'].get('validate_first'):
                assert t.validate_first is False, (name, row)
    assert load_config(ROOT/'configs'/'skill.yaml').train.pretrain_oracle == {}


def test_committed_rows_train_without_the_fresh_rival():
    "Every committed variants file measured before `train.fresh_rival` became the default pins it off in every row (`_base`); so do the old defaults."
    files = sorted((ROOT/'configs').glob('skill_*.yaml'))
    assert len(files) > 15
    for f in files:
        rows = load_variants(f)
        for row, over in rows.items():
            assert load_config(overrides=over).train.fresh_rival is (f.name in ('skill_fresh_rival.yaml', 'skill_rival_evidence.yaml')), (f.name, row)
    for name in ('readable_default.yaml', 'batched.yaml', 'old_default.yaml'):
        assert load_config(ROOT/'configs'/name).train.fresh_rival is False, name


def test_false_turns_pretraining_off_wherever_it_is_merged(tmp_path):
    "`false` survives each way overrides are applied (a file, a benchmark variant on a base config, an HPO trial on a full config)."
    on = tmp_path/'on.yaml'
    on.write_text("train: {pretrain_oracle: {epochs: 1, samples: 500}}\n")
    assert load_config(on, {'train': {'pretrain_oracle': False}}).train.pretrain_oracle == {}
    assert load_config(on, {'train': {'pretrain_oracle': {}}}).train.pretrain_oracle == {'epochs': 1, 'samples': 500}  # {} merges: not an off switch here
    w = bench_window('2023H2', train_months=12)
    assert bench_config(w, ['x.csv'], 0, OFF, 512, on).train.pretrain_oracle == {}
    assert trial_config(RunConfig(), {'train.pretrain_oracle': False}).train.pretrain_oracle == {}
    full = merge_dicts(config_to_dict(RunConfig()), OFF)
    assert load_config(overrides=full).train == load_config(overrides=OFF).train


def test_default_training_pretrains_and_validates_the_clone(tiny_model):
    "The shared tiny model (tests' tiny config, default train settings): oracle.json with the default settings, the clone validated at step 0."
    s = json.loads((tiny_model/'oracle.json').read_text())['settings']
    assert (s['samples'], s['bc_steps'], s['balance'], round(s['margin'], 12)) == (20000, 16, 0.5, 0.003)
    assert pd.read_csv(tiny_model/'train_log.csv').timesteps.iloc[0] == 0
    assert load_saved_config(tiny_model/'config.yaml').train.pretrain_oracle['margin'] == 'cost'


def test_a_config_saved_with_the_old_default_trains_as_before(tmp_path, tiny_config):
    "A full config.yaml written before the change ({} = off, validate_first false) and one that predates both keys: no clone, no step-0 candidate."
    old = load_config(tiny_config, OFF)
    save_config(old, tmp_path/'saved.yaml')
    assert yaml.safe_load((tmp_path/'saved.yaml').read_text())['train']['pretrain_oracle'] == {}
    d = yaml.safe_load((tmp_path/'saved.yaml').read_text())
    del d['train']['pretrain_oracle'], d['train']['validate_first']
    (tmp_path/'older.yaml').write_text(yaml.safe_dump(d))
    assert load_saved_config(tmp_path/'older.yaml').train == load_saved_config(tmp_path/'saved.yaml').train == old.train
    r = run_cli('train', '--config', tmp_path/'saved.yaml', '--out', tmp_path/'m', '--no-progress', '--steps', 1024)
    assert r.returncode == 0, r.stderr[-2000:]
    assert not (tmp_path/'m'/'oracle.json').exists()
    assert pd.read_csv(tmp_path/'m'/'train_log.csv').timesteps.iloc[0] > 0
    assert yaml.safe_load((tmp_path/'m'/'config.yaml').read_text())['train']['pretrain_oracle'] == {}


def test_default_is_skipped_and_said_where_it_cannot_run(tmp_path, tiny_config):
    "DQN cannot clone a policy distribution: the default pre-training is dropped, the run says so and saves it off; asked-for settings fail (exit 2)."
    r = run_cli('train', '--config', tiny_config, '--algo', 'dqn', '--steps', 256, '--out', tmp_path/'m', '--no-progress')
    assert r.returncode == 0, r.stderr[-2000:]
    assert "oracle pre-training (a default) skipped: train.algo 'dqn'" in r.stdout
    assert yaml.safe_load((tmp_path/'m'/'config.yaml').read_text())['train']['pretrain_oracle'] == {}
    asked = tmp_path/'asked.yaml'
    asked.write_text(tiny_config.read_text().replace("batch_size: 128}", "batch_size: 128, pretrain_oracle: {epochs: 1}}"))
    r = run_cli('train', '--config', asked, '--algo', 'dqn', '--out', tmp_path/'m2', '--no-progress')
    assert r.returncode == 2 and 'train.pretrain_oracle: false' in r.stderr, r.stderr[-500:]


def test_batched_config_is_the_benchmarked_row(tmp_path):
    """configs/batched.yaml (issue 14, training at batched scale) is the `b64s` row that docs/results/batched_training_periods.md
    judged on three periods: the same env and train settings, over the default config, and it builds the batched env."""
    from riskrl_nb.agents.training import make_train_env
    from riskrl_nb.sim.prepare import prepare_data, load_frames
    from riskrl_nb.sim.vec_env import BatchedPositionEnv
    cfg = load_config(ROOT/'configs'/'batched.yaml')
    row = load_config(overrides=load_variants(ROOT/'configs'/'skill_batched.yaml')['oracle_margin_first_bc_batched64s'])
    assert (cfg.env, cfg.train) == (row.env, row.train)
    assert (cfg.env.batched, cfg.train.n_envs, cfg.train.n_steps, cfg.train.batch_size) == (True, 64, 128, 256)
    assert cfg.train.pretrain_oracle['bc_steps'] == 16 and cfg.features == load_config().features
    prepared, _ = prepare_data(load_frames(cfg), cfg)
    vec = make_train_env(cfg, [p for p in prepared if 'train' in p.periods])
    assert isinstance(vec.venv, BatchedPositionEnv) and vec.num_envs == 64   # under SB3's VecMonitor


def test_default_trains_batched_and_falls_back_to_the_readable_env_where_it_cannot(tmp_path, tiny_config):
    """env.batched auto (the default): the batched env where it trains the config; the readable env, said and saved as
    `batched: false`, for residual actions; `true` with them is refused (exit 2); off-policy algorithms keep 4 accounts
    where train.n_envs is the default, and `auto` gives them the readable env (batched training is benchmarked with PPO only);
    so does a2c (one update every 16 vector steps: 64 accounts would make its batches 16x larger)."""
    from riskrl_nb.agents.algos import get_algo
    from riskrl_nb.agents.training import batched_plan, make_train_env, PER_STEP_N_ENVS
    from riskrl_nb.sim.prepare import prepare_data, load_frames
    from riskrl_nb.sim.vec_env import BatchedPositionEnv
    cfg = load_config(tiny_config)
    sets = [p for p in prepare_data(load_frames(cfg), cfg)[0] if 'train' in p.periods]
    ppo, dqn = get_algo('maskable_ppo'), get_algo('dqn')
    planned, note = batched_plan(cfg, ppo, sets)
    assert (cfg.env.batched, planned.env.batched, note) == ('auto', True, '')
    vec = make_train_env(cfg, sets)
    assert isinstance(vec.venv, BatchedPositionEnv) and vec.num_envs == 2
    residual = load_config(tiny_config, {'env': {'action_space': 'residual'}})
    planned, note = batched_plan(residual, ppo, sets)
    assert planned.env.batched is False and note.startswith("env.batched auto: the readable env") and "'residual'" in note
    with pytest.raises(RiskrlError, match="env.batched: true cannot train with env.action_space 'residual'"):
        batched_plan(load_config(tiny_config, {'env': {'action_space': 'residual', 'batched': True}}), ppo, sets)
    default_dqn = load_config(overrides={'data': yaml.safe_load(TINY_DATA), 'train': {'algo': 'dqn'}})
    planned, note = batched_plan(default_dqn, dqn, sets)
    assert (default_dqn.train.n_envs, planned.train.n_envs, planned.env.batched) == (64, PER_STEP_N_ENVS, False)
    assert 'train.n_envs 64 (a default' in note and "train.algo 'dqn'" in note
    a2c = load_config(overrides={'data': yaml.safe_load(TINY_DATA), 'train': {'algo': 'a2c'}})   # updates every 16 vector steps
    planned, note = batched_plan(a2c, get_algo('a2c'), sets)
    assert (planned.train.n_envs, planned.env.batched) == (PER_STEP_N_ENVS, True) and "per-vector-step 'a2c'" in note
    assert batched_plan(load_config(overrides={'train': {'algo': 'ppo'}}), get_algo('ppo'), sets)[0].train.n_envs == 64
    assert batched_plan(load_config(tiny_config, {'env': {'batched': True}, 'train': {'algo': 'dqn'}}), dqn, sets)[0].env.batched is True   # asked for: it runs
    # through the CLI: the residual run trains on the readable env, says so, and saves what it trained on
    over = tmp_path/'residual.yaml'
    over.write_text(tiny_config.read_text() + "env: {action_space: residual}\n")
    r = run_cli('train', '--config', over, '--out', tmp_path/'m', '--no-progress', '--steps', 512)
    assert r.returncode == 0, r.stderr[-2000:]
    assert "env.batched auto: the readable env, not the batched one (env.action_space 'residual'" in r.stdout
    assert yaml.safe_load((tmp_path/'m'/'config.yaml').read_text())['env']['batched'] is False
    over.write_text(tiny_config.read_text() + "env: {action_space: residual, batched: true}\n")
    r = run_cli('train', '--config', over, '--out', tmp_path/'m2', '--no-progress', '--steps', 512)
    assert r.returncode == 2 and "env.batched: true cannot train with env.action_space 'residual'" in r.stderr, r.stderr[-500:]
    assert len(r.stderr.strip().splitlines()) == 1 and not (tmp_path/'m2').exists()
