"""The example freqtrade strategy's exits against riskrl's own backtest of the same trades (issue 22), on any period.

    python scripts/freqtrade_exits.py --model riskrl-demo/model [--data FILE] [--start 2023-01-01] [--end 2023-12-31]

The model folder must be exported (`riskrl export`). Limits riskrl's backtest does not have are switched off.
Prints whether the strategy's entries are riskrl's, the trades and how many exits (bar or reason) differ."""
import argparse, sys, tempfile, time
from pathlib import Path
from freqtrade.data.dataprovider import DataProvider
from freqtrade.enums import CandleType, RunMode
from riskrl_nb.agents.bundle import load_bundle
from riskrl_nb.agents.policy import AgentPolicy
from riskrl_nb.core.config import bundled_path
from riskrl_nb.data.candles import load_candles, period_slice
from riskrl_nb.data.entries import make_entries
from riskrl_nb.data.features import compute_features
from riskrl_nb.sim.execution import Market, Simulation, run_backtest
from riskrl_nb.serve.freqtrade import exits_through_strategy, load_strategy_class, strategy_source

p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
p.add_argument('--model', required=True); p.add_argument('--data', default=str(bundled_path('BTC', '1h')))
p.add_argument('--start', default='2023-01-01'); p.add_argument('--end', default='2023-12-31')
args = p.parse_args()
if not (Path(args.model)/'serving.json').exists():   # the strategy serves the exported model: say so instead of a traceback
    print(f"{args.model}: no serving.json: run `riskrl export --model {args.model}` first (the freqtrade strategy serves the exported model)", file=sys.stderr)
    sys.exit(2)
path = Path(tempfile.mkdtemp())/'RiskrlEmaCross.py'; path.write_text(strategy_source(args.model))
cfg = {'timeframe': '1h', 'stake_currency': 'USDT', 'dry_run_wallet': 10_000, 'runmode': RunMode.BACKTEST,
       'candle_type_def': CandleType.SPOT, 'riskrl': {'model': args.model, 'limits': {'max_position_loss': 1.0, 'max_drawdown': 1.0}}}
strategy = load_strategy_class(path)(cfg); strategy.dp = DataProvider(cfg, None)
df = load_candles(args.data)
pair = f"{df.attrs.get('symbol', 'BTC')}/USDT"
frame = df.reset_index().rename(columns={'timestamp': 'date'})
frame = strategy.advise_entry(strategy.advise_indicators(frame, {'pair': pair}), {'pair': pair})
b = load_bundle(args.model)
same_entries = bool((frame.enter_long.to_numpy() == (make_entries(df, b.cfg.entry) > 0)).all())
s = period_slice(df, args.start, args.end)
x = b.scaler.transform(compute_features(df, b.cfg.features))
sim = Simulation(Market.from_candles(df), make_entries(df, b.cfg.entry), b.cfg.costs, b.cfg.env)
ours = run_backtest(sim, AgentPolicy(b.model, x, b.cfg, b.masked), s.start, s.stop).trades
t0 = time.perf_counter()
theirs = exits_through_strategy(strategy, pair, frame, ours, s.stop)
dt = time.perf_counter() - t0
diff = (theirs.exit_bar.to_numpy() != ours.exit_bar.to_numpy()) | (theirs.exit_reason.to_numpy() != ours.exit_reason.to_numpy())
print(f"{pair} {args.start}..{args.end}: entries equal to riskrl's: {same_entries}; trades: {len(ours)}; exits different: "
      f"{int(diff.sum())}; exit reasons: {ours.exit_reason.value_counts().to_dict()}; custom_exit calls {dt:.0f} s")
sys.exit(0 if same_entries and not diff.any() else 1)
