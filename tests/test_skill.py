"""Issue 13 options end to end through the CLI: the configs/skill.yaml candidate (portable features, residual actions on
the best tuned rule, relative reward, action prior) trains and evaluates; two seeds become one ensemble folder that
`riskrl evaluate` accepts like any model (averaged, and stacked by a meta-policy); an ensemble of identical members reports the
member's figures."""
import json
from pathlib import Path
import yaml
from conftest import run_main as run_cli, TINY_CONFIG, ROOT   # in-process: 7 commands, no process start each
from contract import check_metrics


def _config(tmp_path) -> Path:
    cfg = yaml.safe_load(TINY_CONFIG)
    skill = yaml.safe_load((ROOT/'configs'/'skill.yaml').read_text())
    for k, v in skill.items(): cfg[k] = {**cfg.get(k, {}), **v}
    cfg['data']['test_start'], cfg['data']['test_end'] = '2023-01-01', '2023-03-31'
    p = tmp_path/'skill.yaml'; p.write_text(yaml.safe_dump(cfg)); return p


def test_skill_config_trains_evaluates_and_ensembles(tmp_path):
    cfg = _config(tmp_path)
    for seed in (0, 1):
        r = run_cli('train', '--config', cfg, '--out', tmp_path/f's{seed}', '--no-progress', '--seed', seed)
        assert r.returncode == 0, r.stderr
    saved = yaml.safe_load((tmp_path/'s0'/'config.yaml').read_text())
    assert saved['env']['action_space'] == 'residual' and saved['env']['reference'] in ('fixed_tp_sl', 'atr_trailing', 'hold_to_horizon')
    ev = {}
    for name, args in {'s0': ['--model', tmp_path/'s0'],
                       'same': None, 'ens': None, 'stack': None}.items():
        if name == 'same':
            assert run_cli('ensemble', '--members', tmp_path/'s0', tmp_path/'s0', '--out', tmp_path/'same').returncode == 0
            args = ['--model', tmp_path/'same']
        if name == 'ens':
            r = run_cli('ensemble', '--members', tmp_path/'s0', tmp_path/'s1', '--out', tmp_path/'ens', '--weights', 'validation')
            assert r.returncode == 0 and 'ensemble of 2 members' in r.stdout, r.stderr
            args = ['--model', tmp_path/'ens']
        if name == 'stack':   # residual actions: the meta-policy fitted on oracle labels of the validation period
            r = run_cli('ensemble', '--members', tmp_path/'s0', tmp_path/'s1', '--out', tmp_path/'stack', '--method', 'stacking',
                        '--stacking', 'samples=1000')
            assert r.returncode == 0 and '(stacking' in r.stdout, r.stderr
            args = ['--model', tmp_path/'stack']
        r = run_cli('evaluate', *args, '--out', tmp_path/f'ev_{name}', '--no-report')   # metrics only: the report is tested elsewhere
        assert r.returncode == 0, r.stderr
        ev[name] = json.loads((tmp_path/f'ev_{name}'/'metrics.json').read_text())
        check_metrics(ev[name])
    agent = lambda m: m['policies']['agent']
    assert agent(ev['same']) == agent(ev['s0'])                  # identical members = the member, figure for figure
    assert agent(ev['ens'])['n_trades'] > 0 and agent(ev['stack'])['n_trades'] > 0
