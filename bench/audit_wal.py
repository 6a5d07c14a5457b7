"""The audit log's group commits under a saturated service's write pattern, with each way of checkpointing its WAL.

    python bench/audit_wal.py [--seconds 6] [--synchronous FULL]

No HTTP and no model: groups of 16 decision-sized records (~860 bytes of JSON) appended and committed, then ~1.9 ms of busy
CPU (a group's decisions at 16 connections), repeated for --seconds, the next group's transaction opening right after the
previous commit as in `riskrl serve`. Modes, one after the other in this process:
  thread   : `AuditLog.background_checkpoints(restart_frames=None)`, PASSIVE checkpoints from a thread (rounds 9-10);
  auto     : no thread, SQLite's automatic checkpoint (1000 pages, inside the commit that crosses it; before round 9);
  restart  : `background_checkpoints()` as `riskrl serve` runs it (round 11: the WAL restarted past 4000 pages).
Prints per mode the wall time of a group (appends + commit) at p50 / p99 / max, the share of groups over 1 ms, restarts and the
`-wal` file's size at the end (it never shrinks by itself: the high-water mark).
"""
import argparse, os, tempfile, time
from pathlib import Path
import numpy as np
from riskrl_nb.serve.audit import AuditLog


def run(mode:str, seconds:float, synchronous:str) -> dict:
    log = AuditLog(Path(tempfile.mkdtemp(prefix='riskrl-wal-')) / 'audit.db', synchronous=synchronous)
    if mode == 'thread': log.background_checkpoints(restart_frames=None)
    elif mode == 'restart': log.background_checkpoints()
    log.defer_commit = True   # group commit, as the HTTP layer sets it
    pay, ts, end = {'decision': 'x' * 800}, [], time.perf_counter() + seconds
    while time.perf_counter() < end:
        t = time.perf_counter()
        for _ in range(16): log.append('decision', pay)
        log.commit()
        ts.append(time.perf_counter() - t)
        busy = time.perf_counter() + 0.0019
        while time.perf_counter() < busy: pass
    ms = np.array(ts[50:]) * 1e3
    wal = Path(log.where + '-wal')
    out = dict(mode=mode, groups=len(ms), p50=np.percentile(ms, 50), p99=np.percentile(ms, 99), max=ms.max(), over_1ms=np.mean(ms > 1),
               restarts=log.restarts, wal_mb=wal.stat().st_size / 1e6 if wal.exists() else 0.0)
    log.close()
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--seconds', type=float, default=6)
    ap.add_argument('--synchronous', default='FULL', choices=['FULL', 'NORMAL'])
    a = ap.parse_args()
    for mode in ('thread', 'auto', 'restart'):
        r = run(mode, a.seconds, a.synchronous)
        print(f"{mode:8s} {r['groups']} groups; group ms p50 {r['p50']:.3f} p99 {r['p99']:.3f} max {r['max']:.2f}; "
              f"> 1 ms {r['over_1ms']:.1%}; restarts {r['restarts']}; WAL {r['wal_mb']:.1f} MB", flush=True)


if __name__ == '__main__': main()
