"""The learner chosen by its track record on one coin: walk-forwards of each coin with the clone-only default, with PPO
alone (no oracle pre-training) and with today's default (the better-validated of the two), paired window by window.

    for c in BTC ETH ...; do   # as bench/rival_single_coin.py, plus PPO alone:
      papermill nbs/experiments/walk_forward.ipynb R/wf_${c}_noclone/executed.ipynb -p out_dir R/wf_${c}_noclone \\
          -p data_path riskrl_nb/candles/hourly/$c.csv.gz -p steps 50000 \\
          -y "{seeds: [0, 1, 2], overrides: {train: {fresh_rival: false, pretrain_oracle: false, validate_first: false}}}"
    done
    python bench/track_record_single_coin.py R/wf_{coin}_rival R/wf_{coin}_clone R/wf_{coin}_noclone BTC ETH ... [--csv FILE]

Per (coin, window): PPO alone if its mean test-window return minus the clone's, over the earlier windows (all seeds), is
above 0, else the clone; the first window takes the clone. Two histories: the coin's own windows, and every coin's
(the windows are the same calendar quarters, so both are known when the window starts). Per run: the chosen learner's
test-window return minus the clone-only run's, beside today's rule (the validated choice), with 95 % CIs resampling
coins (`rival_single_coin.coin_ci`). Checks first that PPO alone's returns equal today's runs wherever validation kept
the rival (the same training), and exits 1 if not.
"""
import argparse, json, sys
from pathlib import Path
import pandas as pd

sys.path.insert(0, str(Path(__file__).parent))
from rival_single_coin import window_return, coin_ci


def returns(folder: Path) -> pd.DataFrame:
    "Per window and seed: the test-window return of every agent_seed column."
    rows = []
    for w in sorted(p for p in folder.glob('w[0-9][0-9]') if p.is_dir()):
        r = pd.read_csv(w/'returns.csv', index_col=0)
        rows += [dict(window=w.name, seed=int(c[len('agent_seed'):]), ret=window_return(r, c)) for c in r if c.startswith('agent_seed')]
    if not rows: raise SystemExit(f"{folder}: no walk-forward windows (w00, w01, ...)")
    return pd.DataFrame(rows).set_index(['window', 'seed']).ret


def coin_runs(rival: Path, clone: Path, alone: Path, coin: str) -> pd.DataFrame:
    t = pd.concat({'rival': returns(rival), 'clone': returns(clone), 'alone': returns(alone)}, axis=1, join='inner')
    t['chosen'] = [json.loads((rival/w/f'seed{s}'/'meta.json').read_text())['fresh_rival']['chosen'] for w, s in t.index]
    dates = pd.read_csv(rival/'windows.csv').groupby('window')[['test_start', 'test_end']].first()
    t['test_start'] = [dates.at[int(w[1:]), 'test_start'] for w, _ in t.index]
    t['test_end'] = [dates.at[int(w[1:]), 'test_end'] for w, _ in t.index]
    bad = t[(t.chosen == 'fresh') & ((t.rival - t.alone).abs() > 1e-12)]
    if len(bad): raise SystemExit(f"{coin}: today's run kept the rival in {list(bad.index)}, yet PPO alone's test return differs")
    return t.reset_index().assign(coin=coin)


def track(t: pd.DataFrame, by_coin: bool) -> pd.Series:
    "Per run: 'alone' or 'clone', chosen on the mean (alone - clone) test-window return of the earlier windows."
    pick = pd.Series('clone', index=t.index)
    for i, r in t.iterrows():
        seen = t[(t.test_end < r.test_start) & ((t.coin == r.coin) if by_coin else True)]   # traded before the window starts
        if len(seen) and (seen.alone - seen.clone).mean() > 0: pick[i] = 'alone'
    return pick


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    ap.add_argument('rival_pattern', help="folder of today's default's walk-forward, with {coin}")
    ap.add_argument('clone_pattern', help="folder of the clone-only walk-forward (fresh_rival: false), with {coin}")
    ap.add_argument('alone_pattern', help='folder of the walk-forward of PPO alone, with {coin}')
    ap.add_argument('coins', nargs='+')
    ap.add_argument('--csv')
    a = ap.parse_args(argv)
    t = pd.concat([coin_runs(*(Path(p.format(coin=c)) for p in (a.rival_pattern, a.clone_pattern, a.alone_pattern)), c)
                   for c in a.coins], ignore_index=True)
    for name, by_coin in (('own', True), ('pooled', False)):
        t[f'track_{name}'] = track(t, by_coin)
        t[f'd_track_{name}'] = t.apply(lambda r: r[r[f'track_{name}']], axis=1) - t.clone
    t['d_today'], t['d_alone'] = t.rival - t.clone, t.alone - t.clone
    print(f"{len(t)} runs over {t.coin.nunique()} coins and {t.window.nunique()} windows; PPO alone equals today's run "
          f"wherever validation kept the rival ({(t.chosen == 'fresh').sum()} runs)")
    for name in ('own', 'pooled'):
        per = t.groupby(['coin', 'window'])[f'track_{name}'].first()
        print(f"track record ({name} history): PPO alone chosen in {(per == 'alone').sum()} of {len(per)} coin-windows")
    for col, label in (('d_today', "today's rule (validation)"), ('d_track_own', 'track record, own coin'),
                       ('d_track_pooled', 'track record, all coins'), ('d_alone', 'PPO alone')):
        m, lo, hi = coin_ci(t, col)
        print(f"{label} minus clone only, test-window return per run: {m:+.4f} (95 % CI resampling coins {lo:+.4f}..{hi:+.4f})")
    if a.csv: t.to_csv(a.csv, index=False)
    return 0


if __name__ == '__main__': sys.exit(main())
