"""Ray's start on a small, loaded machine. Every Ray process (raylet agents, workers, actors) imports jsonschema, which
imports its optional `rfc3987_syntax`, which builds a Lark grammar at import: 4.5 s of CPU per process measured here
(`python -X importtime -c 'import ray'`: 4.5 of its 5.7 s). Ray's raylet waits a fixed 15 s for its agents, so under a
load average of about 6 or more it aborts at start. With a module of that name on PYTHONPATH that raises ImportError,
jsonschema skips it (it only checks the 'iri' string format, which Ray's processes and riskrl's jobs do not use) and a
local Ray instance starts in about 12 s even at a load average of 12. Used by the Ray tests and bench/scaling.py only."""
import os
from pathlib import Path

STUB = 'raise ImportError("rfc3987_syntax skipped in Ray processes: its grammar takes seconds of CPU to build at import")\n'


def fast_ray_pythonpath(folder) -> str:
    "PYTHONPATH with a folder holding the stub first (folder is created); give it to the environment Ray starts from."
    folder = Path(folder); folder.mkdir(parents=True, exist_ok=True)
    (folder/'rfc3987_syntax.py').write_text(STUB)
    return os.pathsep.join([str(folder)] + [p for p in [os.environ.get('PYTHONPATH')] if p])
