"""Which features carry the out-of-sample information about cutting the book (issue 13, ablation 11's diagnostic, continued).

    python bench/cut_information.py MODELS [MODELS ...] --windows 2022H1 ... --out DIR [--feature-set rich|portable|basic] [--context]

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

--context adds cross-asset columns at each decision bar, from closes up to that bar only (`context_features`): the anchor's
(--anchor, BTC) log return over 1, 24 and 168 bars and its realised volatility over 24 and 168, the mean 24- and 168-bar log return of the
window's coins (the market), and the coin's own 24- and 168-bar return minus that mean (relative strength); groups
`context` alone and `all+context`.
"""
import argparse, sys, time
from dataclasses import replace
from pathlib import Path
import numpy as np
import pandas as pd
from sklearn.metrics import roc_auc_score
from riskrl_nb.agents.bundle import load_bundle
from riskrl_nb.data.features import compute_features, FeatureScaler, feature_warmup
from riskrl_nb.agents.cuts import coin_labels, pooled, one_thread, CLASSIFIER_MAKERS
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


CONTEXT = ['btc_ret_1', 'btc_ret_24', 'btc_ret_168', 'btc_vol_24', 'btc_vol_168', 'market_ret_24', 'market_ret_168', 'rel_ret_24', 'rel_ret_168']

def context_features(frames:dict, anchor:str='BTC') -> dict:
    "{coin: frame of the `CONTEXT` columns on the coin's bars}; each row from closes up to that bar (causal)."
    logc = {c: np.log(df.close.astype(float)) for c, df in frames.items()}
    ret = lambda lc, n: lc - lc.shift(n)
    idx = pd.DatetimeIndex(sorted(set().union(*[df.index for df in frames.values()])))
    r24 = pd.DataFrame({c: ret(lc, 24) for c, lc in logc.items()}).reindex(idx)
    r168 = pd.DataFrame({c: ret(lc, 168) for c, lc in logc.items()}).reindex(idx)
    m24, m168 = r24.mean(axis=1), r168.mean(axis=1)   # the coins that have the bar
    a = logc[anchor] if anchor in logc else np.log(B.load_coin(anchor).close.astype(float))
    a = a[a.index <= max(df.index[-1] for df in frames.values())]   # no anchor bar after the coins' last (cut frames stay cut)
    r1 = a.diff()
    btc = pd.DataFrame(dict(btc_ret_1=r1, btc_ret_24=ret(a, 24), btc_ret_168=ret(a, 168), btc_vol_24=r1.rolling(24).std(),
                            btc_vol_168=r1.rolling(168).std()))
    out = {}
    for c, df in frames.items():
        f = btc.reindex(df.index, method='ffill')   # the anchor's last closed bar at or before each bar
        f['market_ret_24'], f['market_ret_168'] = m24.reindex(df.index).to_numpy(), m168.reindex(df.index).to_numpy()
        f['rel_ret_24'] = ret(logc[c], 24).to_numpy() - f.market_ret_24.to_numpy()
        f['rel_ret_168'] = ret(logc[c], 168).to_numpy() - f.market_ret_168.to_numpy()
        out[c] = f[CONTEXT]
    return out

def with_context(labels:dict, context:dict) -> dict:
    "`labels` ({coin: coin_labels result}) with the context columns of each decision bar appended to `X` (NaN as 0)."
    return {c: dict(l, X=np.hstack([l['X'], np.nan_to_num(context[c].to_numpy()[l['frame'].bar.to_numpy()], nan=0.0).astype(np.float32)]))
            for c, l in labels.items()}


def run_window(mdir:Path, name:str, feature_set:str|None=None, context:bool=False, anchor:str='BTC') -> list:
    bundle = load_bundle(mdir)
    cfg, baselines, d = bundle.cfg, bundle.baselines, bundle.cfg.data
    frames = B.load_coins(cfg.data.paths)
    train_frames = {c: df.iloc[:B.period_slice(df, None, d.valid_end).stop] for c, df in frames.items()}
    scaler = bundle.scaler
    if feature_set: cfg, scaler = refit_features(cfg, train_frames, feature_set)
    def usable(df, start, end):   # bars left after the feature set's warm-up (a longer set can leave a young coin none)
        s = B.period_slice(df, start, end)
        return s.stop - max(s.start, feature_warmup(cfg.features)) >= 2
    short = sorted(c for c, df in train_frames.items() if not usable(df, d.train_start, d.train_end) or not usable(frames[c], d.test_start, d.test_end))
    if short: print(f"window {name}: {', '.join(short)} left out (no bars after the {cfg.features.set} set's warm-up)", flush=True)
    train = {c: coin_labels(df, cfg, baselines, scaler, d.train_start, d.train_end) for c, df in train_frames.items() if c not in short}
    test = {c: coin_labels(df, cfg, baselines, scaler, d.test_start, d.test_end) for c, df in frames.items() if c not in short}
    n_pos, n_ctx = len(POSITION_FEATURES), len(CONTEXT) if context else 0
    if context:   # the training labels' context from the candles cut at valid_end, the test's from the whole files
        train, test = with_context(train, context_features(train_frames, anchor)), with_context(test, context_features(frames, anchor))
    (Xt, ft), (Xs, fs) = pooled(train), pooled(test)
    n_obs = Xt.shape[1] - n_ctx
    groups = {'all': slice(0, n_obs), 'market': slice(0, n_obs - n_pos), 'position': slice(n_obs - n_pos, n_obs)}
    if context: groups.update({'context': slice(n_obs, None), 'all+context': slice(None)})
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
        col = n_obs - n_pos + i
        sign = 1.0 if roc_auc_score(ft.label, Xt[:, col]) >= 0.5 else -1.0
        if np.ptp(Xs[:, col]) == 0: continue
        auc, lo, hi = trade_auc(y, sign * Xs[:, col].astype(np.float64), trades)
        rows.append(dict(window=name, feature_set=cfg.features.set, columns=1, model=f'one feature ({"+" if sign > 0 else "-"})', features=feat,
                         train_auc=float(roc_auc_score(ft.label, sign * Xt[:, col])), test_auc=auc, lo=lo, hi=hi, n=len(y),
                         trades=len(set(trades))))
    return rows


def window_models(models:list, windows:list) -> dict:
    "{window: the first MODELS/<window>/seed0 folder}, before any work; exits with one line naming the window that has none."
    where = {}
    for w in windows:
        found = [m/w/'seed0' for m in models if (m/w/'seed0').is_dir()]
        if not found: raise SystemExit(f"no model folder <window>/seed0 for window {w} in {', '.join(map(str, models))}")
        where[w] = found[0]
    return where



def window_benchmark(parts:list, out:Path, meta:dict) -> tuple[pd.DataFrame, dict]:
    """The benchmark of per-window parts (each with `rows` and `returns`, as `riskrl benchmark` makes them): the agent's mix, the
    book of the rules and the summary, written to `out` as table.csv, comparison.csv and summary.json (with `meta`)."""
    import json
    long = pd.DataFrame([r for x in parts for r in x['rows']])
    returns = {k: pd.DataFrame(v) for x in parts for k, v in x['returns'].items()}
    long = B.add_rule_book(B._add_mix(long, returns), returns)
    summary = B.summarize_benchmark(dict(long=long, returns=returns))
    long.to_csv(out/'table.csv', index=False)
    B.comparison(long).to_csv(out/'comparison.csv')
    js = {k: {kk: vv for kk, vv in b.items() if kk != 'excess_agent_mix'} for k, b in summary.items()}
    (out/'summary.json').write_text(json.dumps(B._clean(dict(meta=meta, results=js)), indent=1))
    return long, summary

def main(argv):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('models', type=Path, nargs='+')
    p.add_argument('--windows', nargs='+', required=True)
    p.add_argument('--out', type=Path, required=True)
    p.add_argument('--context', action='store_true', help='add the cross-asset columns (BTC, the market of the coins, relative strength)')
    p.add_argument('--anchor', default='BTC', help="the context's leading coin (BTC; ETH where BTC has no candles, before 2020-08)")
    p.add_argument('--feature-set', default=None, help="another feature set than the model folders' (rich, portable, basic): scaler refitted on training")
    args = p.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    t0, c0, rows = time.time(), time.process_time(), []
    for w, mdir in window_models(args.models, args.windows).items():
        rows += run_window(mdir, w, args.feature_set, args.context, args.anchor)
        print(f"window {w}: {time.time() - t0:.0f} s", flush=True)
    t = pd.DataFrame(rows)
    t.to_csv(args.out/'information.csv', index=False)
    print(t.round(3).to_string())
    print(f"wall {time.time() - t0:.0f} s, cpu {time.process_time() - c0:.0f} s")


if __name__ == '__main__': main(sys.argv[1:])
