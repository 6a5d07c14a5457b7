"""The project itself: notebooks and library in sync, docs build, papermill experiment, bundled data."""
import filecmp, json, shutil, subprocess, sys
from pathlib import Path
import pytest
from conftest import ROOT, TINY_CONFIG

BIN = Path(sys.executable).parent


def test_nbdev_export_is_idempotent(tmp_path):
    "Exporting the notebooks reproduces riskrl_nb/ exactly (nobody hand-edited the generated modules)."
    work = tmp_path/'repo'
    shutil.copytree(ROOT/'nbs', work/'nbs', ignore=shutil.ignore_patterns('.ipynb_checkpoints'))
    shutil.copy(ROOT/'settings.ini', work/'settings.ini')
    (work/'riskrl_nb').mkdir()
    shutil.copy(ROOT/'riskrl_nb'/'__init__.py', work/'riskrl_nb'/'__init__.py')
    shutil.copytree(ROOT/'riskrl_nb'/'candles', work/'riskrl_nb'/'candles')   # package data (its verify.py is indexed)
    r = subprocess.run([BIN/'nbdev_export'], cwd=work, capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    made = sorted(p.name for p in (work/'riskrl_nb').glob('*.py'))
    have = sorted(p.name for p in (ROOT/'riskrl_nb').glob('*.py'))
    assert made == have
    for name in made:
        assert (work/'riskrl_nb'/name).read_text() == (ROOT/'riskrl_nb'/name).read_text(), f"{name} is out of sync: run nbdev_export"


def _top_level_names(source: str) -> list:
    "Names of a module's top-level functions and classes, leaving out fastcore `@patch` methods (several may share a name)."
    import ast
    patched = lambda n: any(getattr(d, 'id', None) == 'patch' for d in getattr(n, 'decorator_list', []))
    return [n.name for n in ast.parse(source).body
            if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)) and not patched(n)]


def test_no_module_defines_a_name_twice():
    "A second definition in a later notebook cell silently replaces the first for every importer (it happened to write_candles)."
    import collections
    assert _top_level_names("def f(): pass\n@patch\ndef g(self: A): pass\n@patch\ndef g(self: B): pass\n") == ['f']
    assert _top_level_names("def f(): pass\nclass C: pass\ndef f(): pass\n") == ['f', 'C', 'f']
    twice = {str(f.relative_to(ROOT)): [k for k, v in collections.Counter(_top_level_names(f.read_text())).items() if v > 1]
             for f in sorted((ROOT/'riskrl_nb').rglob('*.py'))}
    assert {f: d for f, d in twice.items() if d} == {}


def test_notebooks_are_clean():
    "Committed notebooks carry no outputs or execution counts."
    for nb in sorted((ROOT/'nbs').rglob('*.ipynb')):
        d = json.loads(nb.read_text())
        for c in d['cells']:
            if c['cell_type'] == 'code':
                assert c.get('execution_count') is None and not c.get('outputs'), nb.name


# Three representative notebooks for the default run: the config module (API entries from show_doc), the biggest
# library notebook (the agent: torch, SB3) and one of the service's (FastAPI, SQLite); every one is in the slow test.
DOCS_SAMPLE = ['00_config', '34_training', '60a_audit', '99_architecture']


def build_docs_cli(out, *args):
    r = subprocess.run([sys.executable, ROOT/'scripts'/'build_docs.py', '--out', out, '--no-cache', *args],
                       capture_output=True, text=True, cwd=ROOT)
    assert r.returncode == 0, r.stderr[-2000:]
    return r


def check_unexecuted_site(out, stems):
    "Every notebook in `stems` became a page, the index links each one, API entries are rendered."
    assert sorted(p.stem for p in out.glob('[0-9]*.html')) == sorted(stems)
    index = (out/'index.html').read_text()
    assert all(f'{n}.html' in index for n in stems) and 'Execution' in index
    page = (out/'00_config.html').read_text()
    assert 'load_config' in page and 'fee_rate' in page
    for n in stems:   # a title, not nbdev's raw front matter; the page's own <title>
        html = (out/f'{n}.html').read_text()
        assert '<h1' in html and '--- description' not in html and '<title>Notebook</title>' not in html, n
    if '99_architecture' in stems:   # the module graph is shown, and its file is beside the page
        assert 'src="architecture.png"' in (out/'99_architecture.html').read_text() and (out/'architecture.png').stat().st_size > 50_000


def test_docs_build_without_quarto(tmp_path):
    "The no-Quarto docs build renders notebooks plus an index without executing them (a sample; the slow test: all)."
    out = tmp_path/'html'
    build_docs_cli(out, '--no-execute', '--only', *DOCS_SAMPLE)
    check_unexecuted_site(out, DOCS_SAMPLE)


@pytest.mark.slow
def test_docs_build_every_notebook_without_quarto(tmp_path):
    "Every notebook renders (~3 min on 2 cores: one process per notebook); one is executed for real."
    out = tmp_path/'html'
    build_docs_cli(out, '--no-execute')
    check_unexecuted_site(out, [p.stem for p in (ROOT/'nbs').glob('[0-9]*.ipynb')])
    build_docs_cli(tmp_path/'exec', '--only', '00_config')
    page = (tmp_path/'exec'/'00_config.html').read_text()
    assert 'load_config' in page and 'fee_rate' in page


def test_quarto_configs_are_valid():
    import yaml
    top = yaml.safe_load((ROOT/'_quarto.yml').read_text())
    nbs = yaml.safe_load((ROOT/'nbs'/'_quarto.yml').read_text())
    assert nbs['project']['type'] == 'website' and 'nbdev.yml' in nbs['metadata-files']
    assert top['project']['type'] == 'website'


@pytest.mark.slow
def test_papermill_experiment(tmp_path):
    """The train-and-evaluate experiment notebook runs headless with papermill and writes its outputs.
    Slow: the same notebook runs under papermill in tests/test_experiments.py (summary and eval checked) and in the
    README test (its papermill command)."""
    import papermill as pm
    import yaml
    over = yaml.safe_load(TINY_CONFIG)
    out = tmp_path/'run'
    pm.execute_notebook(str(ROOT/'nbs'/'experiments'/'train_evaluate.ipynb'), str(tmp_path/'executed.ipynb'),
                        parameters=dict(out_dir=str(out), steps=1024, seed=1, overrides=over), kernel_name='python3',
                        progress_bar=False)
    summary = json.loads((out/'summary.json').read_text())
    assert 'agent.sharpe' in summary and 'oracle.total_return' in summary
    assert (out/'eval'/'metrics.json').exists() and (tmp_path/'executed.ipynb').exists()


def test_bundled_data_matches_shared_sources():
    "The package ships every candle file with its SOURCES.md, and verify.py passes on it."
    from riskrl_nb.core.config import bundled_data_dir
    d = bundled_data_dir()
    assert (d/'SOURCES.md').exists()
    assert len(list((d/'hourly').glob('*.csv.gz'))) == 10 and len(list((d/'daily').glob('*.csv.gz'))) == 10
    r = subprocess.run([sys.executable, d/'verify.py', d], capture_output=True, text=True)
    assert r.returncode == 0, r.stdout[-2000:] + r.stderr[-2000:]


def test_docs_home_page_matches_readme():
    "nbs/index.ipynb (the docs home and nbdev's readme_nb) is generated from README.md and in sync with it."
    r = subprocess.run([sys.executable, ROOT/'scripts'/'readme_to_index.py', '--check'], capture_output=True, text=True)
    assert r.returncode == 0, r.stdout + r.stderr
