"""Build the documentation site without Quarto.

Executes every notebook in nbs/ (fresh kernel each, `--jobs` at a time), applies nbdev's own
documentation processors (exported cells become `show_doc` API entries, `#| hide` cells disappear,
directives are stripped), and renders each to HTML with nbconvert, plus an index page (README.md's
content, from nbs/index.ipynb, with the list of notebooks) and DEVELOPING.html / CONTRACT.html.
Each page is cached in .cache/docs/ under a hash of the notebook, the package's sources and this
script, so an unchanged notebook is neither executed nor rendered again. The pages load nothing from
the network: nbconvert's CDN scripts (require.js, MathJax, mermaid) are removed and figures are
embedded. Where Quarto is installed, `nbdev_docs` builds the full site from the same notebooks and
`nbs/_quarto.yml` instead.

    python scripts/build_docs.py [--out _html] [--no-execute] [--jobs 2] [--no-cache] [--only 10_candles ...]
"""
import argparse, hashlib, html, json, multiprocessing, os, re, shutil, sys, time
from concurrent.futures import ProcessPoolExecutor, as_completed
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CACHE = ROOT/'.cache'/'docs'
ROOT_PAGES = ['DEVELOPING.md', 'CONTRACT.md']   # Markdown files at the root that the home page links to


def notebook_title(nb) -> tuple[str, str]:
    "Title (first '# ' heading) and description (first '> ' line) of a notebook."
    for cell in nb.cells:
        if cell.cell_type != 'markdown': continue
        src = cell.source
        title = next((l[2:].strip() for l in src.splitlines() if l.startswith('# ')), None)
        if title:
            desc = next((l[2:].strip() for l in src.splitlines() if l.startswith('> ')), '')
            return title, desc
    return '', ''


def offline(page: str) -> str:
    "Remove every script that loads from the network (an http(s) `src`, or a URL in its code: mermaid's import) and external stylesheets."
    drop = lambda m: '' if re.search(r'https?://', m.group(1) + m.group(2)) else m.group(0)
    page = re.sub(r'(<script\b[^>]*>)(.*?)</script>\n?', drop, page, flags=re.S)
    return re.sub(r'<link\b[^>]*\bhref="https?://[^"]*"[^>]*>\n?', '', page)


def source_hash(path: Path, execute: bool) -> str:
    "What a page depends on: the notebook, the package's sources, the bundled data's list, this script."
    h = hashlib.sha256(path.read_bytes())
    for p in sorted((ROOT/'riskrl_nb').rglob('*.py')) + [ROOT/'settings.ini', Path(__file__).resolve()]:   # every layer's modules
        h.update(str(p.relative_to(ROOT) if p.is_relative_to(ROOT) else p.name).encode()); h.update(p.read_bytes())
    h.update(b'exec' if execute else b'noexec')
    return h.hexdigest()[:20]


def render_one(path: str, out: str, execute: bool = True, timeout: int = 600, cache: bool = True) -> dict:
    "Execute (unless cached), process and render one notebook to OUT/<stem>.html; runs in a worker process."
    import nbformat
    from nbconvert import HTMLExporter
    path, out = Path(path), Path(out)
    t0 = time.time()
    key = source_hash(path, execute)
    cached = CACHE/f'{path.stem}-{key}.html'
    nb = nbformat.read(path, as_version=4)
    title, desc = notebook_title(nb)
    target = out/(path.stem + '.html')
    if cache and cached.exists():
        shutil.copyfile(cached, target)
        return dict(name=path.name, target=str(target), title=title, desc=desc, seconds=time.time() - t0, cached=True)
    os.environ.setdefault('MPLBACKEND', 'Agg')
    if execute:
        from nbclient import NotebookClient
        NotebookClient(nb, timeout=timeout, kernel_name='python3', resources={'metadata': {'path': str(path.parent)}}).execute()
    from nbdev.processors import FilterDefaults
    from nbdev.process import NBProcessor
    from execnb.nbio import dict2nb, nb2dict
    cwd = os.getcwd()
    os.chdir(ROOT)
    try:   # nbdev's doc processors work on execnb's notebook objects
        enb = dict2nb(json.loads(nbformat.writes(nb)))
        enb.path_ = str(path)
        NBProcessor(nb=enb, procs=FilterDefaults().procs()).process()
    finally: os.chdir(cwd)
    enb.cells = [c for c in enb.cells if 'source' in c]
    for c in enb.cells:
        if c.cell_type == 'code':
            c.source = re.sub(r'^#\|.*\n?', '', c.source, flags=re.MULTILINE)
            c.setdefault('outputs', []); c.setdefault('execution_count', None)
    doc = nbformat.reads(json.dumps(nb2dict(enb)), as_version=4)
    front = lambda c: c.cell_type == 'raw' and c.source.lstrip().startswith('---')   # nbdev's front matter, for Quarto: shown as a title here
    doc.cells = [nbformat.v4.new_markdown_cell(f'# {title}' + (f'\n\n> {desc}' if desc else '')) if front(c) else c for c in doc.cells]
    body, _ = HTMLExporter(template_name='lab').from_notebook_node(doc)
    body = body.replace('<title>Notebook</title>', f'<title>{html.escape(title or path.stem)}</title>')
    body = offline(body)
    target.write_text(body)
    if cache:
        CACHE.mkdir(parents=True, exist_ok=True)
        for old in CACHE.glob(f'{path.stem}-*.html'): old.unlink()
        shutil.copyfile(target, cached)
    return dict(name=path.name, target=str(target), title=title, desc=desc, seconds=time.time() - t0, cached=False)


def markdown_page(md: Path, out: Path) -> Path:
    "A root Markdown file (DEVELOPING.md, CONTRACT.md) as a plain offline HTML page."
    import nbformat
    from nbconvert import HTMLExporter
    nb = nbformat.v4.new_notebook()
    text = md.read_text()
    for name in ROOT_PAGES: text = text.replace(f']({name})', f']({Path(name).stem}.html)')
    nb.cells = [nbformat.v4.new_markdown_cell(text)]
    page, _ = HTMLExporter(template_name='lab').from_notebook_node(nb)
    page = page.replace('<title>Notebook</title>', f'<title>{html.escape(md.stem)}</title>')
    target = out/(md.stem + '.html')
    target.write_text(offline(page))
    return target


def build(out: Path, execute: bool = True, only=None, timeout: int = 600, jobs: int = 2, cache: bool = True) -> list[Path]:
    import nbformat
    from nbconvert import HTMLExporter
    out.mkdir(parents=True, exist_ok=True)
    nbs = sorted(p for p in (ROOT/'nbs').glob('*.ipynb') if not p.name.startswith('_') and p.stem != 'index')
    if only: nbs = [p for p in nbs if any(p.stem.startswith(o) for o in only)]
    timings = CACHE/'timings.json'
    past = json.loads(timings.read_text()) if timings.exists() else {}
    order = sorted(nbs, key=lambda p: -past.get(p.name, 60))   # the longest first: the pool finishes together
    done, t0 = {}, time.time()
    # one fresh process per notebook: nbdev's doc processing runs the notebook's imports in an IPython shell,
    # which replaces sys.modules['__main__'] and would break the next task of a reused worker
    with ProcessPoolExecutor(max_workers=max(1, jobs), mp_context=multiprocessing.get_context('spawn'), max_tasks_per_child=1) as pool:
        futs = {pool.submit(render_one, str(p), str(out), execute, timeout, cache): p for p in order}
        for f in as_completed(futs):
            r = f.result()
            done[r['name']] = r
            if not r['cached']: past[r['name']] = round(r['seconds'], 1)
            print(f"{r['name']}: {r['target']} ({r['seconds']:.1f}s{', cached' if r['cached'] else ''})", flush=True)
    if cache:
        CACHE.mkdir(parents=True, exist_ok=True); timings.write_text(json.dumps(past, indent=1, sort_keys=True))
    pages = [done[p.name] for p in nbs]
    item = lambda r: (f'<li><a href="{Path(r["target"]).name}">{html.escape(r["title"] or r["name"])}</a><br>'
                      f'<small>{html.escape(r["desc"])}</small></li>')
    layers = {'0': 'core', '1': 'data', '2': 'sim', '3': 'agents', '4': 'eval', '5': 'ops', '6': 'serve', '7': 'cli'}
    groups = [(name, [r for r in pages if r['name'][0] == d]) for d, name in layers.items()]
    groups.append(('overview', [r for r in pages if r['name'][0] not in layers]))
    toc = '<h2>Notebooks, by layer (bottom up)</h2>' + ''.join(f'<h3>{name}</h3><ul>{"".join(item(r) for r in rs)}</ul>' for name, rs in groups if rs)
    for png in (ROOT/'nbs').glob('*.png'): shutil.copyfile(png, out/png.name)   # figures the notebooks' markdown shows (the module graph)
    home = ROOT/'nbs'/'index.ipynb'
    for md in ROOT_PAGES:
        if (ROOT/md).exists(): markdown_page(ROOT/md, out)
    if home.exists():   # the home page: README.md's content (nbs/index.ipynb) with the list of notebooks
        page, _ = HTMLExporter(template_name='lab').from_notebook_node(nbformat.read(home, as_version=4))
        page = page.replace('../docs/', 'docs/').replace('</body>', f'<div style="max-width:900px;margin:2em auto">{toc}</div></body>')
        for md in ROOT_PAGES: page = page.replace(f'href="../{md}"', f'href="{Path(md).stem}.html"')
        page = page.replace('<title>Notebook</title>', '<title>riskrl</title>')
        if (ROOT/'docs').exists(): shutil.copytree(ROOT/'docs', out/'docs', dirs_exist_ok=True)
    else:
        page = f'<!doctype html><html><head><meta charset="utf-8"><title>riskrl docs</title></head><body><h1>riskrl</h1>{toc}</body></html>'
    (out/'index.html').write_text(offline(page))
    print(f"built in {time.time() - t0:.0f}s with {jobs} job(s)", flush=True)
    return [Path(r['target']) for r in pages]


if __name__ == '__main__':
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--out', default='_html', help='output folder (default _html)')
    ap.add_argument('--no-execute', action='store_true', help='render without running the notebooks')
    ap.add_argument('--only', nargs='*', help='notebook name prefixes to build')
    ap.add_argument('--jobs', type=int, default=int(os.environ.get('DOCS_JOBS', 2)), help='notebooks built at once (default 2)')
    ap.add_argument('--no-cache', action='store_true', help='execute and render every notebook again')
    ap.add_argument('--timeout', type=int, default=600, help='seconds per cell (default 600)')
    a = ap.parse_args()
    pages = build(ROOT/a.out if not Path(a.out).is_absolute() else Path(a.out), not a.no_execute, a.only, a.timeout, a.jobs, not a.no_cache)
    print(f"{len(pages)} pages + index.html in {a.out}")
