"""The package's layers: imports only point downward, no module imports itself through a cycle, and the registries'
'module:attribute' entries name modules of the same layer or a lower one (see DEVELOPING.md, "Where things go")."""
import importlib, importlib.util, re, shutil, subprocess, sys
from pathlib import Path
import grimp
import pytest

ROOT = Path(__file__).resolve().parents[1]
LAYERS = ['core', 'data', 'sim', 'agents', 'eval', 'ops', 'serve', 'cli']   # bottom to top; ops and serve are independent
LINT = Path(sys.executable).with_name('lint-imports')

def layer(module:str) -> int | None:
    parts = module.split('.')
    return LAYERS.index(parts[1]) if len(parts) > 1 and parts[1] in LAYERS else None

def lint(root:Path) -> subprocess.CompletedProcess:
    return subprocess.run([str(LINT), '--no-cache', '--config', str(root/'.importlinter')], cwd=root, capture_output=True, text=True,
                          env={'PYTHONPATH': str(root), 'PATH': '/usr/bin:/bin'})

def cycles(graph) -> list:
    "Strongly connected components with more than one module (Tarjan), or a module importing itself."
    index, low, stack, on, out, n = {}, {}, [], set(), [], [0]
    def visit(v):
        index[v] = low[v] = n[0]; n[0] += 1; stack.append(v); on.add(v)
        for w in graph.find_modules_directly_imported_by(v):
            if w not in index: visit(w); low[v] = min(low[v], low[w])
            elif w in on: low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop(); on.discard(w); comp.append(w)
                if w == v: break
            if len(comp) > 1 or v in graph.find_modules_directly_imported_by(v): out.append(sorted(comp))
    sys.setrecursionlimit(10_000)
    for v in sorted(graph.modules):
        if v not in index: visit(v)
    return out

def test_import_contract_is_kept():
    r = lint(ROOT)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-2000:]
    assert 'KEPT' in r.stdout and 'BROKEN' not in r.stdout

def test_import_contract_catches_an_upward_import(tmp_path):
    "The contract can fail: a copy of the package where the metrics import the CLI breaks it."
    shutil.copytree(ROOT/'riskrl_nb', tmp_path/'riskrl_nb', ignore=shutil.ignore_patterns('candles', '__pycache__'))
    shutil.copy(ROOT/'.importlinter', tmp_path/'.importlinter')
    m = tmp_path/'riskrl_nb'/'core'/'metrics.py'
    m.write_text(m.read_text() + '\n\ndef _upward():\n    from ..cli import main   # a lazy import is still an import\n')
    r = lint(tmp_path)
    assert r.returncode != 0 and 'BROKEN' in r.stdout
    assert 'riskrl_nb.core.metrics -> riskrl_nb.cli' in r.stdout

def test_no_import_cycles():
    g = grimp.build_graph('riskrl_nb', include_external_packages=False, cache_dir=None)
    assert cycles(g) == []
    g.add_import(importer='riskrl_nb.sim.env', imported='riskrl_nb.agents.training')   # the check itself finds a planted cycle
    assert any('riskrl_nb.sim.env' in c for c in cycles(g))

REF = re.compile(r"""['"](riskrl_nb(?:\.\w+)+):(\w+)['"]""")

def registry_refs() -> list:
    refs = []
    for path in sorted((ROOT/'riskrl_nb').rglob('*.py')):
        if path.name == '_modidx.py' or 'candles' in path.parts: continue
        module = '.'.join(path.relative_to(ROOT).with_suffix('').parts)
        refs += [(module, mod, attr) for mod, attr in REF.findall(path.read_text())]
    return refs

def test_registry_entries_resolve_and_point_down_or_sideways():
    refs = registry_refs()
    assert len(refs) >= 10   # sections, report sections, rows, algorithms, folder kinds, training wrappers, commands
    for owner, mod, attr in refs:
        assert hasattr(importlib.import_module(mod), attr), f"{owner}: {mod}:{attr} does not exist"
        if owner != 'riskrl_nb.cli':
            assert layer(mod) <= layer(owner), f"{owner} names {mod}:{attr}, a higher layer"

def test_cli_commands_resolve():
    from riskrl_nb.cli import COMMAND_MODULES
    for name, (mod, fn, _) in COMMAND_MODULES.items():
        f = getattr(importlib.import_module(mod), fn)
        assert callable(f) and callable(f.add_args), name

def library_imports() -> list:
    "(file, line, module, name) for every `from riskrl_nb... import name` in the package, lazy ones inside functions included."
    import ast
    out = []
    for p in sorted((ROOT/'riskrl_nb').rglob('*.py')):
        if p.name == '_modidx.py' or 'candles' in p.parts: continue
        parts = list(p.relative_to(ROOT).with_suffix('').parts)
        pkg = parts[:-1] if p.name != '__init__.py' else parts[:-1]
        for n in ast.walk(ast.parse(p.read_text())):
            if not isinstance(n, ast.ImportFrom): continue
            mod = '.'.join(pkg[:len(pkg) - (n.level - 1)] + ([n.module] if n.module else [])) if n.level else n.module
            if mod and mod.startswith('riskrl_nb'): out += [(p.name, n.lineno, mod, a.name) for a in n.names]
    return out

def test_every_import_in_the_package_resolves():
    "A moved function leaves no stale import behind, not even in a function that only runs for one command."
    found = library_imports()
    assert len(found) > 300
    missing = []
    for f, line, mod, name in found:
        m = importlib.import_module(mod)
        if name != '*' and not hasattr(m, name) and importlib.util.find_spec(f'{mod}.{name}') is None: missing.append((f, line, mod, name))
    assert missing == []

def test_module_graph_script_draws_every_module(tmp_path):
    "The docs' figure comes from the code: every layered module is on it and no arrow points upward."
    import importlib.util
    spec = importlib.util.spec_from_file_location('module_graph', ROOT/'scripts'/'module_graph.py')
    mg = importlib.util.module_from_spec(spec); spec.loader.exec_module(mg)
    n, edges, up = mg.draw(tmp_path/'graph.png')
    modules = [p for p in (ROOT/'riskrl_nb').rglob('*.py') if p.parent.name in LAYERS and p.name != '__init__.py']
    assert n == len(modules) + 1 and edges > 200 and up == 0   # + the cli module
    assert (tmp_path/'graph.png').stat().st_size > 50_000 and (tmp_path/'graph.dot').exists()
