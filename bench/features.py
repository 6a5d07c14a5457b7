"""Feature speed: the full `rich` set for 10 coins x 3 years of hourly bars, cold vs from the parquet cache, in one process.

    .venv/bin/python bench/features.py [--years 3] [--coins BTC ETH ...] [--cross-assets BTC ETH]

The bundled hourly candles of each coin are cut to their last `--years` years (about 26 280 bars each),
then the rich set (with cross-asset correlation against `--cross-assets`) is computed three ways:
the basic set (reference), the rich set with an empty cache (computed and written), and the rich set
again (read back from the cache). pandas-ta/numba compilation is done first on a small frame and timed
apart. Ratios are against the rich cold time of the same run. Results also go to bench/out/features.json.
Target (issue 5): the rich set for 10 coins x 3 years in seconds; the cached read much faster.
"""
import argparse, json, tempfile, time
from pathlib import Path
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]


CPU = {}

def timed(fn, name=None):
    "Run fn; return (result, wall seconds); the process CPU seconds go to CPU[name]."
    t, c = time.perf_counter(), time.process_time()
    out = fn()
    if name: CPU[name] = time.process_time() - c
    return out, time.perf_counter() - t


def main():
    from riskrl_nb.core.config import FeatureConfig, bundled_symbols
    from riskrl_nb.data.candles import load_bundled
    from riskrl_nb.data.features import compute_features, feature_cache_dir
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--years', type=float, default=3.0, help='years of hourly bars per coin (the most recent ones)')
    ap.add_argument('--coins', nargs='+', default=bundled_symbols(), help='bundled symbols (default: all 10)')
    ap.add_argument('--cross-assets', nargs='*', default=['BTC', 'ETH'], help='peer basket for the correlation features')
    args = ap.parse_args()

    frames, load_s = timed(lambda: [load_bundled(c, '1h') for c in args.coins])
    frames = [f.iloc[-int(args.years * 8760):] for f in frames]
    bars = sum(len(f) for f in frames)
    print(f"{len(frames)} coins, {bars} hourly bars in all ({bars / len(frames):.0f} per coin); loading took {load_s:.2f}s")

    with tempfile.TemporaryDirectory() as cache:
        rich = FeatureConfig(set='rich', cross_assets=list(args.cross_assets), cache_dir=cache)
        basic = FeatureConfig(set='basic')
        _, compile_s = timed(lambda: compute_features(frames[0].iloc[-3000:], FeatureConfig(set='rich', cache=False)))
        print(f"first call (pandas-ta import, numba compilation, peers loaded): {compile_s:.2f}s")
        [compute_features(f.iloc[-3000:], rich) for f in frames[:1]]        # the peer files are read once per process
        for p in Path(cache).glob('*.parquet'): p.unlink()

        basic_out, basic_s = timed(lambda: [compute_features(f, basic) for f in frames], 'basic')
        cold, cold_s = timed(lambda: [compute_features(f, rich) for f in frames], 'cold')
        warm, warm_s = timed(lambda: [compute_features(f, rich) for f in frames], 'cached')
        for a, b in zip(cold, warm): pd.testing.assert_frame_equal(a, b)
        size = sum(p.stat().st_size for p in Path(cache).glob('*.parquet'))

    n_feat = cold[0].shape[1]
    rows = [('basic set (reference)', basic_s, 'basic', basic_out[0].shape[1]),
            ('rich set, cold (computed + cached)', cold_s, 'cold', n_feat),
            ('rich set, from the parquet cache', warm_s, 'cached', n_feat)]
    print(f"\n{'':36s} {'wall s':>7s} {'CPU s':>7s} {'features':>9s} {'bars/s':>9s} {'wall vs cold':>13s}")
    for name, s, key, k in rows:
        print(f"{name:36s} {s:7.2f} {CPU[key]:7.2f} {k:9d} {bars / s:9.0f} {s / cold_s:12.2f}x")
    print(f"\ncache: {size / 1e6:.1f} MB of parquet for {len(frames)} tables; the cached read is {cold_s / warm_s:.1f}x faster "
          f"than computing (wall; {CPU['cold'] / CPU['cached']:.1f}x in CPU time)")
    out = ROOT/'bench'/'out'; out.mkdir(parents=True, exist_ok=True)
    (out/'features.json').write_text(json.dumps(dict(
        coins=args.coins, bars=bars, features=n_feat, cross_assets=args.cross_assets, compile_seconds=round(compile_s, 3),
        basic_seconds=round(basic_s, 3), rich_cold_seconds=round(cold_s, 3), rich_cached_seconds=round(warm_s, 3),
        cpu_seconds={k: round(v, 3) for k, v in CPU.items()},
        cold_over_cached=round(cold_s / warm_s, 2), cache_mb=round(size / 1e6, 2)), indent=1))


if __name__ == '__main__':
    main()
