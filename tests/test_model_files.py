"""Model folders as untrusted input: no pickle on load, one consistent model per folder, resumable after faults."""
import base64, io, json, os, pickle, shutil, sys, zipfile
from pathlib import Path
import pytest
import torch
from conftest import run_cli, run_main
from riskrl_nb.core.config import load_config, bundled_path
from riskrl_nb.agents.training import train
from riskrl_nb.agents.bundle import load_bundle, write_manifest, staging_dir, WEIGHTS_FILE, MANIFEST_FILE, TRUST_PICKLE_ENV
from riskrl_nb.agents.training import checkpoints

TINY = dict(data=dict(train_start='2022-01-01', train_end='2022-06-30', valid_start='2022-07-01', valid_end='2022-08-31'),
            train=dict(total_timesteps=1024, n_steps=128, batch_size=64, n_epochs=2, n_envs=2, eval_freq=256, checkpoint_freq=256),
            baselines=dict(take_profit_grid=[0.03], stop_loss_grid=[0.02], atr_mult_grid=[3.0], horizon_grid=[24]))


class MakeDir:
    "Unpickling this creates a folder: proof that a file's code ran."
    def __init__(self, path): self.path = str(path)
    def __reduce__(self): return (os.mkdir, (self.path,))


def crafted_sb3_zip(path, marker):
    "A model.zip in SB3's format whose `data` holds a cloudpickled object that runs code when SB3 loads it."
    payload = base64.b64encode(pickle.dumps(MakeDir(marker))).decode()
    with zipfile.ZipFile(path, 'w') as z:
        z.writestr('data', json.dumps({'policy_class': {':serialized:': payload}}))
        z.writestr('_stable_baselines3_version', '2.7.0')


@pytest.fixture
def crafted_model(tiny_model, tmp_path):
    "The tiny model with a booby-trapped model.zip (and a booby-trapped SB3 checkpoint), re-sealed as an attacker would."
    m = tmp_path/'m'; shutil.copytree(tiny_model, m)
    crafted_sb3_zip(m/'model.zip', tmp_path/'pwned')
    (m/'checkpoints').mkdir(exist_ok=True)
    crafted_sb3_zip(m/'checkpoints'/'ckpt_999999_steps.zip', tmp_path/'pwned')
    write_manifest(m)
    return m


def test_crafted_model_zip_does_not_run_on_evaluate_export_init_from(crafted_model, tmp_path, tiny_config):
    marker = tmp_path/'pwned'
    # in this process (no process start each); the --trust-pickle runs below stay subprocesses (it sets os.environ)
    r = run_main('evaluate', '--model', crafted_model, '--out', tmp_path/'ev', '--start', '2023-01-01', '--end', '2023-02-28')
    assert r.returncode == 0 and not marker.exists(), r.stderr[-2000:]
    r = run_main('export', '--model', crafted_model)
    assert r.returncode == 0 and not marker.exists(), r.stderr[-2000:]
    r = run_main('train', '--config', tiny_config, '--steps', 512, '--init-from', crafted_model, '--out', tmp_path/'ft', '--no-progress')
    assert r.returncode == 0 and not marker.exists(), r.stderr[-2000:]
    # the crafted file is live: loaded through SB3 (the trusted legacy path), it runs
    (crafted_model/WEIGHTS_FILE).unlink(); (crafted_model/MANIFEST_FILE).unlink()
    r = run_cli('evaluate', '--model', crafted_model, '--out', tmp_path/'ev2')
    assert r.returncode == 2 and 'RISKRL_TRUST_PICKLE' in r.stderr and not marker.exists(), r.stderr
    r = run_cli('evaluate', '--model', crafted_model, '--out', tmp_path/'ev2', '--trust-pickle', '--start', '2023-01-01', '--end', '2023-01-31')
    assert marker.exists() and 'runs any code' in r.stderr


def test_crafted_weights_and_checkpoints_are_refused_without_running(tiny_model, tmp_path, capsys):
    marker = tmp_path/'pwned'
    m = tmp_path/'m'; shutil.copytree(tiny_model, m)
    torch.save({'w': MakeDir(marker)}, m/WEIGHTS_FILE); write_manifest(m)
    r = run_cli('evaluate', '--model', m, '--out', tmp_path/'ev')
    assert r.returncode == 2 and r.stderr.count('\n') == 1 and 'policy.pt: not a readable weights file' in r.stderr, r.stderr
    assert not marker.exists()
    cfg = load_config(overrides=TINY)   # a resumed run skips a crafted checkpoint as unreadable
    run = tmp_path/'run'
    (staging_dir(run)/'checkpoints').mkdir(parents=True)
    torch.save({'params': MakeDir(marker), 'num_timesteps': 512}, staging_dir(run)/'checkpoints'/'ckpt_512_steps.pt')
    train(cfg, run, progress=False, verbose=False, resume=True)
    assert not marker.exists() and 'ckpt_512_steps.pt: unreadable checkpoint' in capsys.readouterr().err


def test_interrupted_retrain_leaves_the_old_model_whole(tiny_model, tmp_path):
    "A run killed while retraining into an existing folder leaves that folder as it was; a mixed folder is refused."
    m = tmp_path/'m'; shutil.copytree(tiny_model, m)
    before = {p.name: p.read_bytes() for p in m.iterdir() if p.is_file()}
    class Killed(Exception): pass
    from stable_baselines3.common.callbacks import BaseCallback
    class Kill(BaseCallback):
        def _on_step(self):
            if (staging_dir(m)/WEIGHTS_FILE).exists(): raise Killed   # new weights written, config not yet
            return True
    with pytest.raises(Killed): train(load_config(overrides=TINY), m, progress=False, verbose=False, callbacks=[Kill()])
    assert {p.name: p.read_bytes() for p in m.iterdir() if p.is_file()} == before
    load_bundle(m)
    shutil.copy(staging_dir(m)/WEIGHTS_FILE, m/WEIGHTS_FILE)   # what writing in place would have left
    r = run_cli('evaluate', '--model', m, '--out', tmp_path/'ev')
    assert r.returncode == 2 and r.stderr.count('\n') == 1 and 'policy.pt changed since training' in r.stderr, r.stderr


def test_resume_falls_back_from_a_truncated_checkpoint(tmp_path, capsys):
    class Crash(Exception): pass
    from stable_baselines3.common.callbacks import BaseCallback
    class At600(BaseCallback):
        def _on_step(self):
            if self.num_timesteps >= 600: raise Crash
            return True
    cfg, run = load_config(overrides=TINY), tmp_path/'run'
    with pytest.raises(Crash): train(cfg, run, progress=False, verbose=False, callbacks=[At600()])
    newest, older = checkpoints(run)
    assert (newest.name, older.name) == ('ckpt_512_steps.pt', 'ckpt_256_steps.pt')
    newest.write_bytes(newest.read_bytes()[:1000])   # a truncated file (disk full, killed copy)
    out = train(cfg, run, progress=False, verbose=False, resume=True)
    err = capsys.readouterr().err
    assert 'ckpt_512_steps.pt: unreadable checkpoint' in err and 'resuming from ckpt_256_steps.pt' in err, err
    meta = json.loads((out/'meta.json').read_text())
    assert (meta['resumed_at'], meta['timesteps']) == (256, 1024)


def test_resume_uses_the_folders_data_unless_data_is_given(tmp_path):
    from riskrl_nb.cli import build_parser, _config_from_args
    m = tmp_path/'m'; m.mkdir()
    eth = str(bundled_path('ETH'))
    (m/'config.yaml').write_text(f"data: {{paths: ['{eth}']}}\n")
    cfg = _config_from_args(build_parser().parse_args(['train', '--out', str(m), '--resume']))
    assert cfg.data.paths == [eth]
    btc = str(bundled_path('BTC'))
    cfg = _config_from_args(build_parser().parse_args(['train', '--out', str(m), '--resume', '--data', btc]))
    assert cfg.data.paths == [btc]
    cfg = _config_from_args(build_parser().parse_args(['train', '--out', str(m)]))
    assert cfg.data.paths == []
