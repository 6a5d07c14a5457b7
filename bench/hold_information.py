"""The other side of ablation 11's question (issue 13): when a tuned rule exits, would holding on have paid, and do the
features know it before the exit?

    python bench/hold_information.py MODELS [MODELS ...] --windows 2022H1 2022H2 2023H1 2023H2 --out DIR [--horizons 24 168]

Ablation 11 (`bench/cut_information.py`) asks whether the features say when to exit *earlier* than the book. An exit policy
can also differ from the rules by exiting *later*. Here: every exit of the three tuned rules (the window's `baselines.json`,
run through `run_backtest` on the coin's bars, the same entries and costs as the benchmark), and for each horizon H the
hindsight label "holding H more bars pays": the open H bars after the exit bar against the exit's own fill price, in the
position's direction (no second round trip: the position is already open and pays one exit fee either way). Features: the
scaled observation features of the last closed bar before the exit bar (what was known before the exit filled), plus the
trade's return and bars held at the exit. A classifier (`CLASSIFIER_MAKERS`: boosting with 25 iterations and leaves of at
least 50 exits, logistic regression with C = 0.01) is fitted on the exits of the window's training period (candles cut at `valid_end`), pooled over
coins and rules, and scored on the exits of the test half-year: ROC-AUC with a 95 % CI from a bootstrap over trades.
Writes DIR/hold_information.csv.
"""
import argparse, sys, time
from pathlib import Path
import numpy as np
import pandas as pd
from sklearn.metrics import roc_auc_score
from riskrl_nb.agents.bundle import load_bundle
from riskrl_nb.agents.cuts import one_thread, CLASSIFIER_MAKERS
from riskrl_nb.data.entries import make_entries
from riskrl_nb.data.features import compute_features, feature_warmup
from riskrl_nb.eval import benchmark as B
from riskrl_nb.sim.execution import Simulation, Market, run_backtest
from riskrl_nb.sim.residual import tuned_rule
from riskrl_nb.sim.rules import RULES
sys.path.insert(0, str(Path(__file__).resolve().parent))
from cut_information import trade_auc, window_models

FIXED = {'hgb': dict(max_iter=25, min_samples_leaf=50), 'logit': dict(C=0.01)}   # regularised for ~1,000 exits per window


def exit_samples(df:pd.DataFrame, cfg, baselines:dict, scaler, start, end, horizons) -> pd.DataFrame:
    "One row per (exit of a tuned rule in [start, end], horizon): features before the exit, `gain` of holding H more bars, `label`."
    s = B.period_slice(df, start, end)
    a = max(s.start, feature_warmup(cfg.features) + 1)
    sim = Simulation(Market.from_candles(df), make_entries(df, cfg.entry), cfg.costs, cfg.env)
    X, opens = scaler.transform(compute_features(df, cfg.features)), df.open.to_numpy(float)
    rows = []
    for rule in RULES:
        res = run_backtest(sim, tuned_rule(rule, baselines, sim.market), a, s.stop)
        for t in res.trades.to_dict('records'):
            e, side = int(t['exit_bar']), 1 if t['side'] == 'long' else -1
            for h in horizons:
                if e + h >= len(df): continue   # no bar H after the exit in these candles
                gain = side * (opens[e + h] / t['exit_price'] - 1)
                rows.append(dict(rule=rule, entry_bar=int(t['entry_bar']), exit_bar=e, horizon=h, gain=gain, label=int(gain > 0),
                                 trade_return=float(t['return']), bars_held=int(t['bars_held']), x=X[e - 1]))
    return pd.DataFrame(rows)


def design(f:pd.DataFrame) -> np.ndarray:
    return np.hstack([np.stack(f.x.to_numpy()), f[['trade_return', 'bars_held']].to_numpy(float)]).astype(np.float64)


def run_window(mdir:Path, name:str, horizons) -> list:
    bundle = load_bundle(mdir)
    cfg, d = bundle.cfg, bundle.cfg.data
    frames = B.load_coins(cfg.data.paths)
    cut = {c: df.iloc[:B.period_slice(df, None, d.valid_end).stop] for c, df in frames.items()}   # nothing after validation for fitting
    train = pd.concat([exit_samples(df, cfg, bundle.baselines, bundle.scaler, d.train_start, d.train_end, horizons).assign(coin=c)
                       for c, df in cut.items()], ignore_index=True)
    test = pd.concat([exit_samples(df, cfg, bundle.baselines, bundle.scaler, d.test_start, d.test_end, horizons).assign(coin=c)
                      for c, df in frames.items()], ignore_index=True)
    out = []
    for h in horizons:
        tr, te = train[train.horizon == h], test[test.horizon == h]
        if tr.label.nunique() < 2 or te.label.nunique() < 2: continue
        trades = (te.coin + ':' + te.rule + ':' + te.entry_bar.astype(str)).to_numpy()
        for kind, settings in FIXED.items():
            with one_thread():
                clf = CLASSIFIER_MAKERS[kind](**settings).fit(design(tr), tr.label.to_numpy())
                p, p_train = clf.predict_proba(design(te))[:, 1], clf.predict_proba(design(tr))[:, 1]
            auc, lo, hi = trade_auc(te.label.to_numpy(), p, trades)
            out.append(dict(window=name, horizon=h, model=kind, n_train=len(tr), n_test=len(te), train_base_rate=float(tr.label.mean()),
                            test_base_rate=float(te.label.mean()), mean_test_gain=float(te.gain.mean()),
                            train_auc=float(roc_auc_score(tr.label, p_train)), test_auc=auc, lo=lo, hi=hi))
    return out


def main(argv):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('models', type=Path, nargs='+')
    p.add_argument('--windows', nargs='+', required=True)
    p.add_argument('--out', type=Path, required=True)
    p.add_argument('--horizons', type=int, nargs='+', default=[24, 168])
    a = p.parse_args(argv)
    a.out.mkdir(parents=True, exist_ok=True)
    t0, c0, rows = time.time(), time.process_time(), []
    for w, mdir in window_models(a.models, a.windows).items():
        rows += run_window(mdir, w, a.horizons)
        print(f"window {w}: {time.time() - t0:.0f} s", flush=True)
    t = pd.DataFrame(rows)
    t.to_csv(a.out/'hold_information.csv', index=False)
    print(t.round(3).to_string())
    print(f"wall {time.time() - t0:.0f} s, cpu {time.process_time() - c0:.0f} s")


if __name__ == '__main__': main(sys.argv[1:])
