"""A CPU profile of the batched env's step (or the single env's) with numba's compiled functions named: writes
/tmp/perf-PID.map (the map `perf report` reads for JIT code), then steps for SECONDS of CPU time.

numba loads the kernel from its disk cache as object code that `perf` cannot name, so this script keeps each object
blob numba loads (a hook on `CPUCodeLibrary._set_compiled_object`), reads its symbols with `nm`, and finds where its
`.text` was placed in this process by matching byte runs of each function against the executable anonymous mappings
(votes over many 32-byte runs; relocated bytes do not match and are outvoted).

    python bench/env_profile.py [--lookback 32] [--seconds 20] [--single] &
    perf record -F 4000 -p $! -o env.data -- sleep 12       # once "perf map written" is printed
    perf report -i env.data --no-children --sort symbol

In numba's NRT, `NRT_incref`/`NRT_decref` are tiny jumps into JIT-compiled `lock inc`/`lock dec` code that this map does
not name: samples at a nameless JIT address just after such an instruction are reference counting.
"""
import argparse, ctypes, os, subprocess, sys, tempfile, time
import numba.core.codegen as _codegen

BLOBS = []
_orig_set = _codegen.CPUCodeLibrary._set_compiled_object
def _keep(self, value):
    BLOBS.append(bytes(value)); return _orig_set(self, value)
_codegen.CPUCodeLibrary._set_compiled_object = _keep   # before any kernel is loaded

import numpy as np
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from env_throughput import prepare, rate_single
from riskrl_nb.core.config import RunConfig
from riskrl_nb.sim import vec_env as V


def _exec_regions():
    for line in open('/proc/self/maps'):
        p = line.split()
        if 'x' in p[1] and (len(p) == 5 or p[5].startswith('[anon')):
            a, b = (int(x, 16) for x in p[0].split('-'))
            yield a, ctypes.string_at(a, b - a)


def write_perf_map() -> int:
    "Name every function of the object blobs numba loaded, at its address in this process; returns how many."
    mem, rows = list(_exec_regions()), []
    with tempfile.TemporaryDirectory() as tmp:
        for i, blob in enumerate(BLOBS):
            obj, text = os.path.join(tmp, f'{i}.o'), os.path.join(tmp, f'{i}.text')
            open(obj, 'wb').write(blob)
            subprocess.run(['objcopy', '-O', 'binary', '--only-section=.text', obj, text], check=True)
            code = open(text, 'rb').read()
            syms = [q.split() for q in subprocess.run(['nm', '-S', '--defined-only', obj], capture_output=True, text=True).stdout.splitlines()]
            syms = [(int(q[0], 16), int(q[1], 16), q[3]) for q in syms if len(q) == 4 and q[2] in 'tTW']
            votes = {}
            for off, size, _ in syms:
                for d in range(8, max(size - 40, 9), 97):
                    key = code[off + d:off + d + 32]
                    hits = [a + m.find(key) for a, m in mem if len(key) == 32 and m.find(key) >= 0]
                    if len(hits) == 1: votes[hits[0] - off - d] = votes.get(hits[0] - off - d, 0) + 1
            if votes:
                base = max(votes, key=votes.get)
                rows += [(base + off, size, name) for off, size, name in syms]
    with open(f'/tmp/perf-{os.getpid()}.map', 'w') as f:
        for a, s, n in sorted(set(rows)): f.write(f'{a:x} {s:x} {n}\n')
    return len(rows)


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('--lookback', type=int, default=32); p.add_argument('--seconds', type=float, default=20.0)
    p.add_argument('--single', action='store_true', help='FastPositionEnv instead of BatchedPositionEnv N=1024')
    a = p.parse_args()
    _, data, period = prepare()
    cfg = RunConfig(); cfg.env.lookback = a.lookback
    rng = np.random.default_rng(0)
    if a.single:
        env = V.FastPositionEnv(data, period, cfg); rate_single(env, rng.integers(0, 2, 100), 0.01, True)
    else:
        b = V.BatchedPositionEnv(data, period, cfg, n_envs=1024); b.seed(0); b.reset(); b.step(np.zeros(1024, np.int64))
        u = [rng.integers(0, 2, 1024) for _ in range(50)]
    print(f'pid {os.getpid()}: perf map written ({write_perf_map()} functions)', flush=True)
    c0, n = time.process_time(), 0
    if a.single:
        cpu = [0.0, 0]; rate_single(env, rng.integers(0, 2, 2000), a.seconds, True, cpu)
        print(f'{cpu[0] / cpu[1] * 1e6:.2f} CPU-us per masked step')
    else:
        while time.process_time() - c0 < a.seconds:
            for k in range(50):
                m = b.action_masks(); b.step(np.where(u[k] == 0, 0, np.where(m[:, 1], 1, 2))); n += 1
        print(f'{(time.process_time() - c0) / n * 1e6:.0f} CPU-us per N=1024 call')


if __name__ == '__main__':
    main()
