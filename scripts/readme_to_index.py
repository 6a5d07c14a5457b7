"""Write nbs/index.ipynb (the docs home page and nbdev's `readme_nb`) from README.md.

README.md is the source: nbdev would otherwise regenerate README.md from index.ipynb with Quarto.
Each `## ` section becomes one markdown cell; image paths are made relative to nbs/.

    python scripts/readme_to_index.py [--check]
"""
import hashlib, re, sys
from pathlib import Path
import nbformat

ROOT = Path(__file__).resolve().parents[1]


def build() -> nbformat.NotebookNode:
    text = (ROOT/'README.md').read_text()
    text = re.sub(r'<!--.*?-->\n?', '', text, flags=re.S)
    text = text.replace('](docs/', '](../docs/')
    text = re.sub(r'\]\(((?:DEVELOPING|CONTRACT)\.md)', r'](../\1', text)   # files at the root, as images under docs/
    parts = re.split(r'(?m)^(?=## )', text)
    title, rest = parts[0].split('\n', 1)
    first = f"{title}\n\n> A reinforcement-learning risk manager for crypto positions: when to cut, trim or hold, judged honestly\n{rest}"
    nb = nbformat.v4.new_notebook()
    nb.metadata = {'kernelspec': {'display_name': 'python3', 'language': 'python', 'name': 'python3'}}
    for k, src in enumerate([first] + parts[1:]):
        cell = nbformat.v4.new_markdown_cell(src.strip())
        cell.id = hashlib.sha1(f'index:{k}'.encode()).hexdigest()[:8]
        nb.cells.append(cell)
    return nb


if __name__ == '__main__':
    target = ROOT/'nbs'/'index.ipynb'
    new = nbformat.writes(build())
    if '--check' in sys.argv:
        ok = target.exists() and target.read_text() == new + '\n'
        print('nbs/index.ipynb is in sync with README.md' if ok else 'nbs/index.ipynb is out of date: run python scripts/readme_to_index.py')
        sys.exit(0 if ok else 1)
    target.write_text(new + '\n')
    print(f'wrote {target}')
