"""Write nbs/sidebar.yml: the notebooks grouped by layer, in the order of their numbers (00-09 core, 10-19 data,
20-29 sim, 30-39 agents, 40-49 eval, 50-59 ops, 60-69 serve, 70-79 cli); index and the architecture page first."""
from pathlib import Path
import yaml

ROOT = Path(__file__).resolve().parents[1]
LAYERS = {'0': 'core: config and metrics', '1': 'data: candles, features, regimes, entries', '2': 'sim: execution, sizing, rewards, environments',
          '3': 'agents: networks, algorithms, training, model folders', '4': 'eval: evaluation, walk-forward, overfitting, benchmark',
          '5': 'ops: HPO and experiment grids', '6': 'serve: inference, the decision service, audit, rollout', '7': 'cli'}
OVERVIEW = ['index.ipynb', '99_architecture.ipynb']

def sidebar() -> dict:
    nbs = sorted(p.name for p in (ROOT/'nbs').glob('*.ipynb') if not p.name.startswith('_') and p.name not in OVERVIEW)
    contents = [n for n in OVERVIEW if (ROOT/'nbs'/n).exists()]
    for digit, title in LAYERS.items():
        group = [n for n in nbs if n[0] == digit]
        if group: contents.append({'section': title, 'contents': group})
    rest = [n for n in nbs if n[0] not in LAYERS]
    return {'website': {'sidebar': {'contents': contents + rest}}}

def flatten(contents) -> list:
    out = []
    for c in contents: out += flatten(c['contents']) if isinstance(c, dict) else [c]
    return out

if __name__ == '__main__':
    (ROOT/'nbs'/'sidebar.yml').write_text(yaml.safe_dump(sidebar(), sort_keys=False, width=120))
    print((ROOT/'nbs'/'sidebar.yml').read_text())
