"""The documentation and the files a newcomer is pointed to: configs/, CONTRACT.md, the Conventions, and a docs build
(a subset, executed) that works offline: no external script or stylesheet, every local link and image resolves."""
import json, re, sys
from html.parser import HTMLParser
from pathlib import Path
import pytest, yaml

ROOT = Path(__file__).resolve().parents[1]
SHARED_CONTRACT = ROOT.parent/'shared'/'CONTRACT.md'


class Refs(HTMLParser):
    "Every src/href of a page, and the external resources it would load."
    def __init__(self):
        super().__init__(); self.refs, self.external, self.in_script, self.script_urls = [], [], False, []
    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        for k in ('src', 'href'):
            if a.get(k): self.refs.append((tag, a[k]))
        if tag == 'script':
            self.in_script = True
            if re.match(r'https?://', a.get('src') or ''): self.external.append(a['src'])
        if tag == 'link' and re.match(r'https?://', a.get('href') or ''): self.external.append(a['href'])
        if tag in ('img', 'iframe', 'source') and re.match(r'https?://', a.get('src') or ''): self.external.append(a['src'])
    def handle_endtag(self, tag):
        if tag == 'script': self.in_script = False
    def handle_data(self, data):
        if self.in_script: self.script_urls += re.findall(r'https?://[^\s"\'`)]+', data)


def check_site(out: Path) -> dict:
    "Assert every page of `out` loads nothing from the network and every local link/image resolves; images per page."
    images = {}
    for page in sorted(out.glob('*.html')):
        p = Refs(); p.feed(page.read_text())
        assert not p.external, f"{page.name} loads from the network: {p.external[:3]}"
        assert not p.script_urls, f"{page.name}: a script refers to {p.script_urls[:3]}"
        for tag, ref in p.refs:
            if re.match(r'(https?:|data:|mailto:|#|javascript:)', ref): continue
            target = (page.parent/ref.split('#')[0].split('?')[0]).resolve()
            assert target.exists(), f"{page.name}: <{tag}> {ref} does not resolve"
        images[page.name] = sum(1 for t, r in p.refs if t == 'img')
    return images


def test_check_site_catches_what_it_should(tmp_path):
    (tmp_path/'a.html').write_text('<html><head><script src="https://cdn.example/x.js"></script></head><body></body></html>')
    with pytest.raises(AssertionError, match='network'): check_site(tmp_path)
    (tmp_path/'a.html').write_text('<html><body><a href="DEVELOPING.md">x</a></body></html>')
    with pytest.raises(AssertionError, match='does not resolve'): check_site(tmp_path)
    (tmp_path/'a.html').write_text('<html><body><script type="module">await import("https://cdn.example/m.mjs")</script></body></html>')
    with pytest.raises(AssertionError, match='script refers'): check_site(tmp_path)


def test_docs_subset_builds_offline_with_figures_and_resolving_links(tmp_path):
    sys.path.insert(0, str(ROOT/'scripts'))
    import build_docs
    out = tmp_path/'site'
    pages = build_docs.build(out, execute=True, only=['40_report'], jobs=1, cache=False)
    assert [p.name for p in pages] == ['40_report.html']
    images = check_site(out)
    assert images['40_report.html'] >= 2, images            # the equity and trades figures, displayed inline
    assert 'data:image/png;base64' in (out/'40_report.html').read_text()
    home = (out/'index.html').read_text()
    for name in ('DEVELOPING.html', 'CONTRACT.html', '40_report.html', 'docs/demo_equity.png'): assert f'"{name}"' in home, name


def test_quarto_configs_list_every_notebook():
    import importlib.util
    spec = importlib.util.spec_from_file_location('make_sidebar', ROOT/'scripts'/'make_sidebar.py')
    make_sidebar = importlib.util.module_from_spec(spec); spec.loader.exec_module(make_sidebar)
    written = yaml.safe_load((ROOT/'nbs'/'sidebar.yml').read_text())
    assert written == make_sidebar.sidebar(), 'nbs/sidebar.yml is out of date: python scripts/make_sidebar.py'
    side = make_sidebar.flatten(written['website']['sidebar']['contents'])
    nbs = sorted(p.name for p in (ROOT/'nbs').glob('*.ipynb') if not p.name.startswith('_'))
    assert sorted(side) == nbs
    sections = [c['section'].split(':')[0] for c in written['website']['sidebar']['contents'] if isinstance(c, dict)]
    assert sections == ['core', 'data', 'sim', 'agents', 'eval', 'ops', 'serve', 'cli']   # by layer, bottom up
    q = yaml.safe_load((ROOT/'_quarto.yml').read_text())
    assert 'nbs/[0-9]*.ipynb' in q['project']['render']
    nq = yaml.safe_load((ROOT/'nbs'/'_quarto.yml').read_text())
    assert nq['metadata-files'] == ['nbdev.yml', 'sidebar.yml']


def test_conventions_are_in_the_readme_and_the_report():
    from riskrl_nb.eval.report import CONVENTIONS
    readme = (ROOT/'README.md').read_text()
    for c in CONVENTIONS: assert f'- {c}' in readme, c


def test_contract_copy_only_adds():
    text = (ROOT/'CONTRACT.md').read_text()
    assert "# riskrl's additions to the contract" in text
    if SHARED_CONTRACT.exists(): assert SHARED_CONTRACT.read_text() in text


def test_configs_are_valid():
    from riskrl_nb.core.config import load_config
    from riskrl_nb.serve.limits import load_limits, RiskLimits
    from riskrl_nb.serve.schema import DecideRequest
    from riskrl_nb.ops.experiments import load_grid
    test_start = load_config(ROOT/'configs'/'realistic.yaml')
    assert test_start.costs.spread_bps == 2.0 and test_start.costs.impact_coef == 1.0 and test_start.env.initial_equity == 1e6
    assert load_config(ROOT/'configs'/'rich.yaml').features.set == 'rich'
    paths = load_config(ROOT/'configs'/'multi_coin.yaml').data.paths
    assert len(paths) == 3 and all((ROOT/p).exists() for p in paths)
    assert load_limits(ROOT/'configs'/'limits.yaml') == RiskLimits()
    req = DecideRequest.model_validate(json.loads((ROOT/'configs'/'request.json').read_text()))
    assert len(req.bars.close) >= 684 and req.position.symbol == 'BTC'
    grid = load_grid(ROOT/'configs'/'grid.yaml')
    assert len(grid.runs) == 4 and grid.notebook.name == 'train_evaluate.ipynb'
