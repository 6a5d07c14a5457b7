"""Typed config: every key has a rule, a value outside it stops the CLI with exit 2 and one line naming the key,
the choices written in core are the modules' own tables, and old configs with a deleted key still load."""
import dataclasses, typing, warnings
import pytest
import yaml
from riskrl_nb.core.config import RunConfig, ConfigError, FIELD_RULES, DEPRECATED_KEYS, load_config, load_typed, config_from_dict


def leaves(cfg, prefix=''):
    for f in dataclasses.fields(cfg):
        v = getattr(cfg, f.name)
        if dataclasses.is_dataclass(v): yield from leaves(v, f"{prefix}{f.name}.")
        else: yield prefix + f.name


def test_every_key_has_a_rule():
    keys = set(leaves(RunConfig()))
    assert sorted(keys - set(FIELD_RULES)) == [], 'keys without a rule in FIELD_RULES'
    assert sorted(set(FIELD_RULES) - keys) == [], 'rules for keys that do not exist'


BAD = {   # one value outside each kind of rule -> the key the error must name and a word of the reason
    'costs.fee_rate': (-0.5, 'greater than or equal to 0'),
    'costs.maker_fee_rate': (0.7, 'less than 0.5'),
    'costs.funding_rate_8h': (0.5, 'less than 0.1'),
    'env.action_space': ('discreet3', "'discrete3'"),
    'env.reference': ('fixed', "'fixed_tp_sl'"),
    'env.max_leverage': (0.0, 'greater than 0'),
    'env.initial_equity': (float('inf'), 'finite'),
    'sizing.rule': ('kely', "'kelly'"),
    'train.select_metric': ('profit', "'sharpe'"),
    'train.curriculum': ('hard', "'volatility'"),
    'train.device': ('gpu', 'pattern'),
    'train.batch_size': (1, 'greater than or equal to 2'),
    'train.augment.methods': (['noise', 'jitter'], "'bootstrap'"),
    'features.normalize': ('zscore', "'rolling'"),
    'features.extra_lag': ('soon', 'not a duration'),
    'features.vwap_anchor': ('fortnightly', 'not a pandas period'),
    'features.corr_windows': ([168, 1], 'greater than or equal to 2'),
    'reward.shaping': ('potential', "'drawdown'"),
    'reward.w_trade': (float('nan'), 'finite'),
    'baselines.tune_metric': ('return', "'total_return'"),
    'regimes.train_regime': (-2, 'greater than or equal to -1'),
    'evaluation.stress_windows': ([['crash', '2022-05-01', '2022-13-40']], 'not a date'),
    'entry.rule': ('ema cross', 'pattern'),
}


def nested(key, value):
    d = value
    for part in reversed(key.split('.')): d = {part: d}
    return d


@pytest.mark.parametrize('key', list(BAD))
def test_a_value_outside_its_rule_names_the_key(key):
    value, why = BAD[key]
    with pytest.raises(ConfigError) as e: load_config(overrides=nested(key, value))
    assert f"'{key}'" in str(e.value) and why in str(e.value), str(e.value)


def test_cross_checks_name_both_keys():
    with pytest.raises(ConfigError, match="'features.psar_af', 'features.psar_max_af'"):
        load_config(overrides={'features': {'psar_af': 0.5, 'psar_max_af': 0.2}})


def test_choices_are_the_modules_tables():
    "A Literal in core lists exactly what the module that uses the key accepts."
    from riskrl_nb.data.features import NORMALIZATIONS
    from riskrl_nb.sim.sizing import SIZING_RULES
    from riskrl_nb.agents.training import CURRICULA, AUGMENTATIONS
    from riskrl_nb.core.metrics import SELECT_METRICS
    from riskrl_nb.agents.training import VEC_ENVS
    from riskrl_nb.sim.rules import TUNE_METRICS, RULES
    from riskrl_nb.sim.rewards import POTENTIALS
    from riskrl_nb.sim.env import ACTION_SPACES as ENV_SPACES
    choices = lambda key: set(typing.get_args(FIELD_RULES[key]))
    assert choices('features.normalize') == set(NORMALIZATIONS)
    assert choices('sizing.rule') == set(SIZING_RULES)
    assert choices('train.curriculum') == set(CURRICULA)
    assert set(typing.get_args(typing.get_args(FIELD_RULES['train.augment.methods'])[0])) == set(AUGMENTATIONS)
    assert choices('train.select_metric') == set(SELECT_METRICS)
    assert choices('train.vec_env') == set(VEC_ENVS)
    assert choices('baselines.tune_metric') == set(TUNE_METRICS)
    assert choices('env.reference') == set(RULES) | {'best', 'book'}
    assert choices('reward.shaping') == set(POTENTIALS) | {'none'}
    assert set(ENV_SPACES) <= choices('env.action_space')


def test_registry_names_are_checked_where_looked_up_naming_the_key():
    from riskrl_nb.core.config import RewardConfig, EntryConfig, FeatureConfig
    from riskrl_nb.sim.rewards import make_reward
    from riskrl_nb.data.entries import make_entries
    from riskrl_nb.agents.algos import get_algo
    from riskrl_nb.data.candles import load_bundled
    with pytest.raises(Exception, match="'reward.name': unknown reward 'sharp'"): make_reward(RewardConfig(name='sharp'))
    with pytest.raises(Exception, match="'train.algo'"): get_algo('ppo2')
    df = load_bundled('BTC', '1h').iloc[:300]
    with pytest.raises(Exception, match="'entry.rule': unknown entry rule 'macd'"): make_entries(df, EntryConfig(rule='macd'))


def test_deleted_reward_fee_rate_still_loads_with_a_warning(tmp_path):
    assert 'reward.fee_rate' in DEPRECATED_KEYS
    p = tmp_path/'old.yaml'; p.write_text("reward:\n  fee_rate: 0.001\n  scale: 50.0\n")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter('always')
        cfg = load_config(p)
    assert cfg.reward.scale == 50.0 and not hasattr(cfg.reward, 'fee_rate')
    assert any("'reward.fee_rate' is ignored" in str(w.message) for w in caught)


def test_one_loader_for_any_settings_dataclass(tmp_path):
    "`load_typed` reads, merges and checks any dataclass with its own rules and prefix (the service's limits use it)."
    @dataclasses.dataclass
    class Knobs:
        rate: float = 0.1
        mode: str = 'a'
    rules = {'rate': typing.Annotated[float, __import__('pydantic').Field(gt=0, lt=1)], 'mode': typing.Literal['a', 'b']}
    p = tmp_path/'k.yaml'; p.write_text("rate: 0.5\n")
    assert load_typed(Knobs, p, {'mode': 'b'}, 'knobs', rules) == Knobs(0.5, 'b')
    p.write_text("rate: 1.5\n")
    with pytest.raises(ConfigError, match=r"k.yaml: config key 'knobs.rate': input should be less than 1"): load_typed(Knobs, p, None, 'knobs', rules)
    with pytest.raises(ConfigError, match="unknown config key 'knobs.rat'"): load_typed(Knobs, None, {'rat': 1}, 'knobs', rules)
    with pytest.raises(ConfigError, match="knobs file not found"): load_typed(Knobs, tmp_path/'no.yaml', None, 'knobs', rules, what='knobs')


@pytest.mark.parametrize('section, key, value', [('costs', 'fee_rate', -0.5), ('env', 'action_space', 'discreet3')])
def test_cli_exits_2_naming_the_key(tmp_path, capsys, section, key, value):
    "`riskrl train --config bad.yaml` (in this process: the config fails before any work)."
    from riskrl_nb.cli import main
    p = tmp_path/'bad.yaml'; p.write_text(yaml.safe_dump({section: {key: value}}))
    capsys.readouterr()
    rc = main(['train', '--config', str(p), '--out', str(tmp_path/'run')])
    err = capsys.readouterr().err
    assert rc == 2 and err.count('\n') == 1 and 'Traceback' not in err, err
    assert f"'{section}.{key}'" in err and 'bad.yaml' in err, err
    assert not (tmp_path/'run').exists()


def test_limits_and_requests_use_the_config_rules(tmp_path):
    "The service's limits file goes through the same loader and types; a request's account is checked as env.initial_equity is."
    from pydantic import ValidationError
    from riskrl_nb.serve.limits import load_limits, RiskLimits
    from riskrl_nb.serve.schema import Account, Position
    p = tmp_path/'limits.yaml'
    p.write_text('max_drawdown: 0\n')
    with pytest.raises(ConfigError, match=r"limits.yaml: config key 'limits.max_drawdown': input should be greater than 0"): load_limits(p)
    p.write_text('max_position_exposure: .inf\n')
    with pytest.raises(ConfigError, match="'limits.max_position_exposure'.*finite"): load_limits(p)
    p.write_text('max_position_loss: 1.0\nmax_bar_age_bars: null\n')
    assert load_limits(p) == RiskLimits(max_position_loss=1.0, max_bar_age_bars=None)
    for bad in (0.0, -5.0, float('inf')):
        with pytest.raises(ConfigError): load_config(overrides={'env': {'initial_equity': bad}})
        with pytest.raises(ValidationError): Account(initial_equity=bad)
    assert Account(initial_equity=1e6).initial_equity == 1e6
    with pytest.raises(ValidationError, match='quantity'):
        Position(position_id='p', symbol='BTC', side='long', quantity=0.0, entry_price=1.0, entry_time='2023-01-01T00:00:00Z')
