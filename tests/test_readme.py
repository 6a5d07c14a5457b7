"""The README as a test: every shell block of README.md runs, in order, in a fresh copy of the repository.

Each ```bash block is one bash script (`set -euo pipefail`), run in the copy's root with the test
venv's bin first on the PATH and `.venv` linked to that venv; the blocks share the folder, so the
first block's quick model serves the later ones. An HTML comment right before a block adjusts it:

    <!-- readme-test: skip REASON -->                  the block is not run (REASON is required)
    <!-- readme-test: substitute 'OLD' => 'NEW' -->    run the block with OLD replaced by NEW (quick flags);
                                                       `{port}` in NEW is a free TCP port

A block that exits non-zero fails the test with its output. Set README_TEST_KEEP=DIR to keep the folder.
"""
import os, re, shutil, socket, subprocess, sys, time
from pathlib import Path
import pytest
from test_demo import check_quick_demo

ROOT = Path(__file__).resolve().parents[1]
MARKER = re.compile(r'<!--\s*readme-test:\s*(.*?)\s*-->', re.S)
BLOCK = re.compile(r'^```(bash|sh|shell)\n(.*?)^```', re.S | re.M)
QUICK_DEMO = re.compile(r'^riskrl demo --quick --steps (\d+) --no-progress(?: --out (\S+))?\s*$', re.M)
SUBST = re.compile(r"substitute\s+'(.*?)'\s*=>\s*'(.*?)'\s*$", re.S)


def readme_blocks(text: str) -> list:
    "(line, script, skip reason or None) for every shell block, with the markers above it applied."
    out, pos = [], 0
    for m in BLOCK.finditer(text):
        between, pos = text[pos:m.start()].rstrip(), m.end()
        markers = []
        while (last := list(MARKER.finditer(between))) and last[-1].end() == len(between):   # markers right above the block
            markers.insert(0, last[-1]); between = between[:last[-1].start()].rstrip()
        script, skip = m.group(2), None
        for mk in markers:
            body = mk.group(1)
            if body.startswith('skip'):
                skip = body[4:].strip()
                if not skip: raise ValueError(f"README line {text[:m.start()].count(chr(10)) + 1}: 'readme-test: skip' needs a reason")
            elif (s := SUBST.match(body)):
                if s.group(1) not in script:
                    raise ValueError(f"README line {text[:m.start()].count(chr(10)) + 1}: substitute '{s.group(1)}' not found in the block")
                script = script.replace(s.group(1), s.group(2))
            else: raise ValueError(f"unknown readme-test marker: {body!r}")
        out.append((text[:m.start()].count('\n') + 1, script, skip))
    return out


def test_marker_parsing():
    text = ("x\n```bash\necho a\n```\n<!-- readme-test: skip needs a GPU -->\n```bash\nrm -rf /\n```\n"
            "<!-- readme-test: substitute '--steps 150000' => '--steps 10' -->\n```bash\nriskrl demo --steps 150000\n```\n"
            "<!-- readme-test: skip unrelated -->\nprose in between\n```bash\necho b\n```\n```python\nprint(1)\n```\n")
    got = readme_blocks(text)
    assert [(s, r) for _, s, r in got] == [('echo a\n', None), ('rm -rf /\n', 'needs a GPU'),
                                           ('riskrl demo --steps 10\n', None), ('echo b\n', None)]
    with pytest.raises(ValueError, match='needs a reason'): readme_blocks("<!-- readme-test: skip -->\n```bash\nls\n```\n")
    with pytest.raises(ValueError, match='not found'): readme_blocks("<!-- readme-test: substitute 'a b' => 'c' -->\n```bash\nls\n```\n")


def test_every_readme_block_is_run_or_skipped_with_a_reason():
    blocks = readme_blocks((ROOT/'README.md').read_text())
    assert len(blocks) >= 5
    run = [s for _, s, r in blocks if r is None]
    assert sum(len([l for l in s.splitlines() if l.strip() and not l.lstrip().startswith('#')]) for s in run) >= 10
    assert all(r for _, _, r in blocks if r is not None)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0)); return s.getsockname()[1]


def _copy_checkout(dst: Path):
    "The tracked and untracked-but-not-ignored files of this checkout, as a fresh clone would have them (plus .venv)."
    files = subprocess.run(['git', 'ls-files', '-z', '-co', '--exclude-standard'], cwd=ROOT, capture_output=True, check=True).stdout
    for rel in filter(None, files.decode().split('\0')):
        src = ROOT/rel
        if not src.is_file(): continue
        (dst/rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(src, dst/rel)
    (dst/'.venv').symlink_to(Path(sys.prefix))


def test_readme_commands_run(tmp_path):
    keep = os.environ.get('README_TEST_KEEP')
    work = Path(keep) if keep else tmp_path/'checkout'
    if keep and work.exists(): shutil.rmtree(work)
    work.mkdir(parents=True)
    _copy_checkout(work)
    env = dict(os.environ, PATH=f"{Path(sys.executable).parent}:{os.environ.get('PATH', '')}", PYTHONPATH=str(work),
               SB3_LOGDIR=str(work/'.cache'/'sb3-logs'), MPLBACKEND='Agg')
    env.pop('RISKRL_API_KEYS', None)
    timings, checked_demo = [], False
    for line, script, skip in readme_blocks((work/'README.md').read_text()):
        if skip: continue
        script = script.replace('{port}', str(_free_port()))
        t0 = time.time()
        r = subprocess.run(['bash', '-c', 'set -euo pipefail\n' + script], cwd=work, env=env, capture_output=True, text=True, timeout=900)
        timings.append((line, round(time.time() - t0, 1)))
        assert r.returncode == 0, (f"README block at line {line} failed (exit {r.returncode}):\n{script}\n"
                                   f"--- stdout\n{r.stdout[-3000:]}\n--- stderr\n{r.stderr[-3000:]}")
        if (demo := QUICK_DEMO.search(script)):   # the quick demo the README starts with: checked as test_demo checks it
            check_quick_demo(work/(demo.group(2) or 'riskrl-demo'), r.stdout, int(demo.group(1)))
            checked_demo = True
    assert checked_demo, 'the README no longer runs `riskrl demo --quick --steps N --no-progress`: update QUICK_DEMO (and test_demo.py)'
    print('README blocks (line, seconds):', timings)
