"""Build the documentation site without Quarto.

Executes every notebook in nbs/ (fresh kernel each), applies nbdev's own documentation processors
(exported cells become `show_doc` API entries, `#| hide` cells disappear, directives are stripped),
and renders each to HTML with nbconvert, plus an index page built from each notebook's title and
one-line description. Where Quarto is installed, `nbdev_docs` builds the full site from the same
notebooks and `nbs/_quarto.yml` instead.

    python scripts/build_docs.py [--out _html] [--no-execute] [--only 01_data ...]
"""
import argparse, html, json, os, re, shutil, sys, time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


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


def build(out: Path, execute: bool = True, only=None, timeout: int = 600) -> list[Path]:
    import nbformat
    from nbclient import NotebookClient
    from nbconvert import HTMLExporter
    from nbdev.processors import FilterDefaults
    from nbdev.process import NBProcessor
    from execnb.nbio import dict2nb, nb2dict
    os.chdir(ROOT)
    out.mkdir(parents=True, exist_ok=True)
    nbs = sorted(p for p in (ROOT/'nbs').glob('*.ipynb') if not p.name.startswith('_') and p.stem != 'index')
    if only: nbs = [p for p in nbs if any(p.stem.startswith(o) for o in only)]
    exporter = HTMLExporter(template_name='lab')
    pages = []
    for path in nbs:
        t0 = time.time()
        nb = nbformat.read(path, as_version=4)
        if execute:
            NotebookClient(nb, timeout=timeout, kernel_name='python3',
                           resources={'metadata': {'path': str(path.parent)}}).execute()
        # nbdev's doc processors work on execnb's notebook objects
        enb = dict2nb(json.loads(nbformat.writes(nb)))
        enb.path_ = str(path)
        NBProcessor(nb=enb, procs=FilterDefaults().procs()).process()
        enb.cells = [c for c in enb.cells if 'source' in c]
        for c in enb.cells:
            if c.cell_type == 'code':
                c.source = re.sub(r'^#\|.*\n?', '', c.source, flags=re.MULTILINE)
                c.setdefault('outputs', []); c.setdefault('execution_count', None)
        doc = nbformat.reads(json.dumps(nb2dict(enb)), as_version=4)
        body, _ = exporter.from_notebook_node(doc)
        target = out/(path.stem + '.html')
        target.write_text(body)
        title, desc = notebook_title(nb)
        pages.append((target, title or path.stem, desc))
        print(f"{path.name}: {target} ({time.time() - t0:.1f}s)", flush=True)
    items = '\n'.join(f'<li><a href="{p.name}">{html.escape(t)}</a><br><small>{html.escape(d)}</small></li>'
                      for p, t, d in pages)
    toc = f'<h2>Notebooks, in the order of the flow</h2><ol>{items}</ol>'
    home = ROOT/'nbs'/'index.ipynb'
    if home.exists():   # the home page: README.md's content (nbs/index.ipynb) with the list of notebooks
        page, _ = HTMLExporter(template_name='lab').from_notebook_node(nbformat.read(home, as_version=4))
        page = page.replace('../docs/', 'docs/').replace('</body>', f'<div style="max-width:900px;margin:2em auto">{toc}</div></body>')
        if (ROOT/'docs').exists(): shutil.copytree(ROOT/'docs', out/'docs', dirs_exist_ok=True)
    else:
        page = f'<!doctype html><html><head><meta charset="utf-8"><title>riskrl docs</title></head><body><h1>riskrl</h1>{toc}</body></html>'
    (out/'index.html').write_text(page)
    return [p for p, _, _ in pages]


if __name__ == '__main__':
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--out', default='_html', help='output folder (default _html)')
    ap.add_argument('--no-execute', action='store_true', help='render without running the notebooks')
    ap.add_argument('--only', nargs='*', help='notebook name prefixes to build')
    a = ap.parse_args()
    pages = build(ROOT/a.out if not Path(a.out).is_absolute() else Path(a.out), not a.no_execute, a.only)
    print(f"{len(pages)} pages + index.html in {a.out}")
