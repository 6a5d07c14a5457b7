"""Issue 13, third round: the default config is the second ablation's best row (oracle pre-training with the cost margin,
balanced labels, cloning steps during PPO, the clone validated first); `pretrain_oracle: false` turns it off wherever it
is merged; configs saved before the change still train as they did."""
import json
import pandas as pd
import yaml
from conftest import ROOT, run_cli
from riskrl_nb.core.config import RunConfig, load_config, merge_dicts, config_to_dict, save_config, load_saved_config
from riskrl_nb.eval.benchmark import load_variants, bench_config, bench_window
from riskrl_nb.ops.hpo import trial_config

OFF = {'train': {'pretrain_oracle': False, 'validate_first': False}}


def test_default_is_the_measured_best_row():
    "The default equals the `oracle_margin_first_bc` row that docs/results/benchmark_ablation2.md measured; its `default` row is the old one."
    rows = load_variants(ROOT/'configs'/'skill_ablation2.yaml')
    assert load_config().train == load_config(overrides=rows['oracle_margin_first_bc']).train
    old = load_config(overrides=rows['default']).train
    assert (old.pretrain_oracle, old.validate_first) == ({}, False)
    assert load_config(ROOT/'configs'/'old_default.yaml').train == old


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
    assert (s['samples'], s['bc_steps'], s['balance'], round(s['margin'], 12)) == (20000, 4, 0.5, 0.003)
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
