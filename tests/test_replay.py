"""`riskrl replay`: historical bars through the decision service (HTTP), its decisions equal to the backtest's."""
import re
from conftest import run_main as run_cli   # in-process: no process start (and torch import) per command


def test_replay_decides_like_the_backtest_and_audits(exported_model, tmp_path):
    limits = tmp_path/'wide.yaml'
    limits.write_text('max_position_loss: 1.0\nmax_drawdown: 1.0\nmax_position_exposure: 1000\nmax_portfolio_exposure: 1000\n')
    r = run_cli('replay', '--model', exported_model, '--start', '2023-03-01', '--end', '2023-04-30',
                '--audit', tmp_path/'a.db', '--limits', limits)
    assert r.returncode == 0, r.stderr[-2000:]
    m = re.search(r'(\d+) decisions by the service .*\(model: (\d+)\); model decisions equal to the backtest\'s: (\d+)/(\d+)', r.stdout)
    assert m, r.stdout[-2000:]
    total, model, agree, n = map(int, m.groups())
    assert total == model == agree == n >= 3          # the model decided every time (no stale-data fallback), as the backtest did
    assert 'identical' in r.stdout and 'verified' in r.stdout
    v = run_cli('audit', 'verify', '--db', tmp_path/'a.db')
    from riskrl_nb.serve.audit import open_audit
    alerts = len(list(open_audit(tmp_path/'a.db', read_only=True).records(kind='alert')))   # alerts are audited too (nbs/63a_alerts.ipynb)
    assert v.returncode == 0 and f'ok: {total + 1 + alerts} records' in v.stdout, v.stdout + v.stderr


def test_replay_needs_an_exported_model_and_enough_bars(tiny_model, exported_model, tmp_path):
    r = run_cli('replay', '--model', tiny_model, '--audit', tmp_path/'x.db')
    assert r.returncode == 2 and 'riskrl export --model' in r.stderr and 'Traceback' not in r.stderr
    r = run_cli('replay', '--model', exported_model, '--start', '2020-08-03', '--end', '2020-08-10', '--audit', tmp_path/'y.db')
    assert r.returncode == 2 and 'bars before the first decision' in r.stderr, r.stderr
