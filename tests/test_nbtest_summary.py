"""scripts/nbtest_summary.py: what CI's tail shows when a notebook fails under `make test`."""
import subprocess, sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / 'scripts'))
from nbtest_summary import summarise

LOG = """\
Success-looking output of another notebook
AssertionError in /ci/nbs/60a_audit.ipynb:
===========================================================================

While Executing Cell #26:
Traceback (most recent call last):
  File "/venv/site-packages/nbdev/test.py", line 52, in test_nb
    k.run_all(nb, exc_stop=True, preproc=_no_eval)
  File "<ipython-input-26-abc>", line 3, in <module>
    test_eq(log2.verify().ok, True)
AssertionError: ==:
False
True

OperationalError in /ci/nbs/65_http.ipynb:
===========================================================================

While Executing Cell #4:
Traceback (most recent call last):
  File "<ipython-input-4-def>", line 1, in <module>
    x()
sqlite3.OperationalError: database is locked

nbdev Tests Failed On The Following Notebooks:
==================================================
\t60a_audit.ipynb
\t65_http.ipynb
"""

def test_one_line_per_failed_notebook_with_cell_and_error():
    assert summarise(LOG) == ['60a_audit.ipynb, cell #26: AssertionError: ==: | False | True',
                              '65_http.ipynb, cell #4: sqlite3.OperationalError: database is locked']

def test_the_script_prints_them_last(tmp_path):
    (tmp_path / 'log').write_text(LOG)
    out = subprocess.run([sys.executable, str(ROOT / 'scripts' / 'nbtest_summary.py'), str(tmp_path / 'log')],
                         capture_output=True, text=True, check=True).stdout.splitlines()
    assert out[-1].strip() == '65_http.ipynb, cell #4: sqlite3.OperationalError: database is locked'
    (tmp_path / 'log').write_text('nothing but noise\n')
    out = subprocess.run([sys.executable, str(ROOT / 'scripts' / 'nbtest_summary.py'), str(tmp_path / 'log')],
                         capture_output=True, text=True, check=True).stdout
    assert 'none found' in out
