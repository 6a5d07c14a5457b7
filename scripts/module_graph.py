"""Draw riskrl_nb's module graph by layer: cli on top, core at the bottom, one arrow per import (grimp).
usage: python scripts/module_graph.py [OUT.png]   (default nbs/architecture.png; also writes OUT.dot for Graphviz)"""
import sys
from pathlib import Path
import grimp
import matplotlib
matplotlib.use('Agg')
from matplotlib.figure import Figure

LAYERS = ['core', 'data', 'sim', 'agents', 'eval', 'ops', 'serve', 'cli']
COLORS = ['#8c564b', '#2ca02c', '#1f77b4', '#9467bd', '#ff7f0e', '#7f7f7f', '#d62728', '#17becf']

def layer_of(m): p = m.split('.'); return p[1] if len(p) > 1 and p[1] in LAYERS else None

def graph_edges():
    g = grimp.build_graph('riskrl_nb', include_external_packages=False, cache_dir=None)
    mods = sorted(m for m in g.modules if layer_of(m) and not m.endswith('__init__') and m.count('.') >= 1
                  and (m.count('.') == 2 or m == 'riskrl_nb.cli'))
    edges = sorted({(a, b) for a in mods for b in g.find_modules_directly_imported_by(a) if b in mods})
    return mods, edges

def draw(out:Path):
    mods, edges = graph_edges()
    rows = {}   # ops and serve share a row (independent siblings)
    for m in mods: rows.setdefault(layer_of(m) if layer_of(m) not in ('ops', 'serve') else 'ops|serve', []).append(m)
    order = ['core', 'data', 'sim', 'agents', 'eval', 'ops|serve', 'cli']
    pos = {}
    for y, name in enumerate(order):
        ms = rows.get(name, [])
        for x, m in enumerate(ms): pos[m] = ((x + 0.5) / len(ms), y)
    fig = Figure(figsize=(15, 10)); ax = fig.add_subplot()
    up = 0
    for a, b in edges:
        (x0, y0), (x1, y1) = pos[a], pos[b]
        if y1 > y0: up += 1
        ax.annotate('', xy=(x1, y1 + 0.12), xytext=(x0, y0 - 0.12),
                    arrowprops=dict(arrowstyle='->', color='red' if y1 > y0 else '#999999', lw=0.6, alpha=0.6,
                                    connectionstyle='arc3,rad=0.08' if y0 == y1 else 'arc3,rad=0'))
    for m, (x, y) in pos.items():
        c = COLORS[LAYERS.index(layer_of(m))]
        ax.text(x, y, m.split('.', 1)[1].replace('.', '.\n', 1) if m.count('.') == 2 else m.split('.', 1)[1], ha='center', va='center', fontsize=7.5,
                bbox=dict(boxstyle='round,pad=0.3', fc='white', ec=c, lw=1.5))
    for y, name in enumerate(order): ax.text(-0.06, y, name, ha='right', va='center', fontsize=11, weight='bold')
    ax.set_xlim(-0.15, 1.02); ax.set_ylim(-0.6, len(order) - 0.4); ax.axis('off')
    ax.set_title(f'riskrl_nb: {len(mods)} modules, {len(edges)} imports, {up} pointing upward', fontsize=12)
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=110, bbox_inches='tight')
    dot = ['digraph riskrl_nb {', '  rankdir=BT; node [shape=box, fontsize=10];']
    for name in order: dot.append('  { rank=same; ' + ' '.join(f'"{m}";' for m in rows.get(name, [])) + ' }')
    dot += [f'  "{a}" -> "{b}";' for a, b in edges] + ['}']
    out.with_suffix('.dot').write_text('\n'.join(dot) + '\n')
    return len(mods), len(edges), up

if __name__ == '__main__':
    out = Path(sys.argv[1] if len(sys.argv) > 1 else 'nbs/architecture.png')
    n, e, up = draw(out)
    print(f'{out}: {n} modules, {e} imports, {up} upward')
    sys.exit(1 if up else 0)
