"""Which features carry the out-of-sample information about cutting the book (issue 13, ablation 11's diagnostic, continued).

    python bench/cut_information.py MODELS [MODELS ...] --windows 2022H1 ... --out DIR [--feature-set rich|portable|basic]

Same labels as `bench/supervised_cuts.py` (nb 33d: the book in parts' decisions on the window's training period, hindsight
"cutting now beats letting the book run by more than one round trip"; the test half-year's labels only to score), but each
classifier is fitted on a **group** of the observation's columns with fixed settings (no selection): all columns, the market
features only (the `lookback` bars of the feature set) and the position features only (unrealised return, bars held, drawdown
from the trade's best, ...: what the book's own state says). Test ROC-AUC with a 95 % CI from a bootstrap over **trades**
(labels of one trade share its future, so decisions are not independent), plus one-feature rankings (bars held, unrealised
return) as the simplest controls. Writes DIR/information.csv.

--feature-set NAME asks the same question of another feature set: the model folder's config with `features.set` replaced and
the scaler fitted again on the pooled training-period rows of the window's coins (as `riskrl train` fits it); the labels are
the same book's (they do not depend on the features), over the bars after the set's own warm-up.
"""
import argparse, sys, time
from dataclasses import replace
from pathlib import Path
import numpy as np
import pandas as pd
from sklearn.metrics import roc_auc_score
from riskrl_nb.agents.bundle import load_bundle
from riskrl_nb.data.features import compute_features, FeatureScaler
from riskrl_nb.agents.cuts import coin_labels, pooled, one_thread, CLASSIFIER_MAKERS, feature_warmup
from riskrl_nb.eval import benchmark as B
from riskrl_nb.sim.env import POSITION_FEATURES

FIXED = {'hgb': dict(max_iter=25, min_samples_leaf=2000), 'logit': dict(C=0.01)}   # the most regularised candidates


def trade_auc(y, p, trades, n_boot:int=300, seed:int=0) -> tuple:
    "ROC-AUC of `p` for `y` and its 95 % percentile CI resampling whole trades."
    auc = float(roc_auc_score(y, p))
    codes, uniq = pd.factorize(trades)
    members = [np.flatnonzero(codes == k) for k in range(len(uniq))]
    rng, boots = np.random.default_rng(seed), []
    for _ in range(n_boot):
        idx = np.concatenate([members[k] for k in rng.integers(0, len(members), len(members))])
        if 0 < y[idx].sum() < len(idx): boots.append(roc_auc_score(y[idx], p[idx]))
    return auc, float(np.quantile(boots, 0.025)), float(np.quantile(boots, 0.975))


def refit_features(cfg, frames:dict, feature_set:str):
    "(config with `features.set` = `feature_set`, scaler fitted on the pooled training-period rows of `frames`, as `riskrl train` fits it)."
    cfg = replace(cfg, features=replace(cfg.features, set=feature_set))
    rows = [compute_features(df, cfg.features).iloc[B.period_slice(df, cfg.data.train_start, cfg.data.train_end)] for df in frames.values()]
    return cfg, FeatureScaler.fit(pd.concat(rows), cfg.features.clip)


def run_window(mdir:Path, name:str, feature_set:str|None=None) -> list:
    bundle = load_bundle(mdir)
    cfg, baselines, d = bundle.cfg, bundle.baselines, bundle.cfg.data
    frames = {}
    for p in cfg.data.paths:
        df = B.load_coin(p); frames[B.coin_name(df)] = df
    train_frames = {c: df.iloc[:B.period_slice(df, None, d.valid_end).stop] for c, df in frames.items()}
    scaler = bundle.scaler
    if feature_set: cfg, scaler = refit_features(cfg, train_frames, feature_set)
    def usable(df, start, end):   # bars left after the feature set's warm-up (a longer set can leave a young coin none)
        s = B.period_slice(df, start, end)
        return s.stop - max(s.start, feature_warmup(cfg.features)) >= 2
    short = sorted(c for c, df in train_frames.items() if not usable(df, d.train_start, d.train_end) or not usable(frames[c], d.test_start, d.test_end))
    if short: print(f"window {name}: {', '.join(short)} left out (no bars after the {cfg.features.set} set's warm-up)", flush=True)
    train = pooled({c: coin_labels(df, cfg, baselines, scaler, d.train_start, d.train_end) for c, df in train_frames.items() if c not in short})
    test = pooled({c: coin_labels(df, cfg, baselines, scaler, d.test_start, d.test_end) for c, df in frames.items() if c not in short})
    (Xt, ft), (Xs, fs) = train, test
    n_pos = len(POSITION_FEATURES)
    groups = {'all': slice(None), 'market': slice(0, Xt.shape[1] - n_pos), 'position': slice(Xt.shape[1] - n_pos, None)}
    y, trades = fs.label.to_numpy(), (fs.coin + ':' + fs.entry_bar.astype(str)).to_numpy()
    rows = []
    for kind, settings in FIXED.items():
        for g, cols in groups.items():
            with one_thread():
                clf = CLASSIFIER_MAKERS[kind](**settings).fit(Xt[:, cols].astype(np.float64), ft.label.to_numpy())
                p = clf.predict_proba(Xs[:, cols].astype(np.float64))[:, 1]
                p_train = clf.predict_proba(Xt[:, cols].astype(np.float64))[:, 1]
            auc, lo, hi = trade_auc(y, p, trades)
            rows.append(dict(window=name, feature_set=cfg.features.set, columns=int(Xt[:, cols].shape[1]), model=kind, features=g, train_auc=float(roc_auc_score(ft.label, p_train)), test_auc=auc,
                             lo=lo, hi=hi, n=len(y), trades=len(set(trades))))
    for i, feat in enumerate(POSITION_FEATURES):   # one column as the score, oriented on the training period
        col = Xt.shape[1] - n_pos + i
        sign = 1.0 if roc_auc_score(ft.label, Xt[:, col]) >= 0.5 else -1.0
        if np.ptp(Xs[:, col]) == 0: continue
        auc, lo, hi = trade_auc(y, sign * Xs[:, col].astype(np.float64), trades)
        rows.append(dict(window=name, feature_set=cfg.features.set, columns=1, model=f'one feature ({"+" if sign > 0 else "-"})', features=feat,
                         train_auc=float(roc_auc_score(ft.label, sign * Xt[:, col])), test_auc=auc, lo=lo, hi=hi, n=len(y),
                         trades=len(set(trades))))
    return rows


def main(argv):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('models', type=Path, nargs='+')
    p.add_argument('--windows', nargs='+', required=True)
    p.add_argument('--out', type=Path, required=True)
    p.add_argument('--feature-set', default=None, help="another feature set than the model folders' (rich, portable, basic): scaler refitted on training")
    args = p.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    t0, c0, rows = time.time(), time.process_time(), []
    for w in args.windows:
        found = [m/w/'seed0' for m in args.models if (m/w/'seed0').is_dir()]
        if not found: raise SystemExit(f"no model folder <window>/seed0 for window {w} in {', '.join(map(str, args.models))}")
        rows += run_window(found[0], w, args.feature_set)
        print(f"window {w}: {time.time() - t0:.0f} s", flush=True)
    t = pd.DataFrame(rows)
    t.to_csv(args.out/'information.csv', index=False)
    print(t.round(3).to_string())
    print(f"wall {time.time() - t0:.0f} s, cpu {time.process_time() - c0:.0f} s")


if __name__ == '__main__': main(sys.argv[1:])
