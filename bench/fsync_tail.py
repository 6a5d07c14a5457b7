"""The disk's part of the service's tail: how long one audit group commit (`AuditLog`, SQLite WAL, synchronous FULL) takes here.

    python bench/fsync_tail.py [--seconds 5] [--group 13] [--gap-ms 2.5] [--period 0.2]

Appends `--group` records and commits them, `--gap-ms` apart (what `riskrl serve` does for each decision group: about 13
decisions per group and ~400 groups per second at 16 connections), for `--seconds`, with the WAL checkpointed by the service's
own thread (`background_checkpoints`); then the same with synchronous NORMAL (no fsync per commit). Prints the commit time's
p50 / p99 / p99.9 / max and the share of commits over 2 ms. A closed loop's p99 at 16 connections holds every request that waits
behind a slow commit: with ~400 commits per second, a disk whose slowest 1 % of fsyncs take ~4 ms puts ~1 % of the answers
~4 ms later.
"""
import argparse, tempfile, time
from pathlib import Path
import numpy as np
from riskrl_nb.serve.audit import AuditLog


def commits(sync:str, seconds:float, group:int, gap:float, period:float=0.2) -> np.ndarray:
    "Seconds per group commit (appends + commit), `gap` s apart, for `seconds`."
    with tempfile.TemporaryDirectory(prefix='riskrl-fsync-') as d:
        a = AuditLog(Path(d)/'audit.db', synchronous=sync).background_checkpoints(period=period)
        a.defer_commit = True
        out, t_end, k = [], time.perf_counter() + seconds, 0
        while time.perf_counter() < t_end:
            t = time.perf_counter()
            for _ in range(group): a.append('decision', {'k': k, 'action': 'hold', 'size': 1.0}); k += 1
            a.commit(); out.append(time.perf_counter() - t)
            if gap: time.sleep(gap)
        a.close()
    return np.array(out)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--seconds', type=float, default=5)
    ap.add_argument('--group', type=int, default=13)
    ap.add_argument('--gap-ms', type=float, default=2.5)
    ap.add_argument('--period', type=float, default=0.2, help="the checkpoint thread's period, s (the service's: 0.2)")
    a = ap.parse_args()
    print(f'{a.group} records per commit, a commit every ~{a.gap_ms} ms plus its own time, {a.seconds:.0f} s per mode')
    print('synchronous  commits   p50 ms   p99 ms  p99.9 ms   max ms  over 2 ms')
    for sync in ('FULL', 'NORMAL', 'FULL', 'NORMAL'):
        t = commits(sync, a.seconds, a.group, a.gap_ms / 1e3, a.period) * 1e3
        p50, p99, p999 = np.percentile(t, [50, 99, 99.9])
        print(f'{sync:11s} {len(t):8d} {p50:8.3f} {p99:8.3f} {p999:9.3f} {t.max():8.2f} {np.mean(t > 2):9.2%}')


if __name__ == '__main__': main()
