"""One line per notebook that failed under `nbdev_test`: the cell and the error, printed last.

`make test` pipes `nbdev_test`'s output into a log; when a notebook fails, CI output is often read from its tail,
where nbdev only lists the failing notebooks' names. This prints, at the very end, what failed in each:

    python scripts/nbtest_summary.py .cache/nbdev_test.log
    60a_audit.ipynb, cell #26: AssertionError: ...
"""
import re, sys
from pathlib import Path

HEAD = re.compile(r'^(\S+) in (\S+\.ipynb):$')   # how nbdev's test_nb starts the traceback of a failed notebook

def summarise(text:str) -> list[str]:
    "One line per failed notebook in an `nbdev_test` log: notebook, cell, last line of the traceback."
    out, lines = [], text.splitlines()
    starts = [i for i, l in enumerate(lines) if HEAD.match(l)]
    for k, i in enumerate(starts):
        block = lines[i + 1:starts[k + 1] if k + 1 < len(starts) else len(lines)]
        block = [l for l in block if not l.startswith(('nbdev Tests Failed', '=====', '\t'))]
        cell = next((l.split('#')[-1].rstrip(':') for l in block if l.startswith('While Executing Cell #')), '?')
        tb = next((j for j, l in enumerate(block) if l.startswith('Traceback (most recent call last)')), None)
        # the exception's line: the first non-indented line after the traceback's frames
        j = next((j for j in range(tb + 1, len(block)) if block[j].strip() and not block[j][0].isspace()), None) if tb is not None else None
        last = None
        if j is not None:   # that line and the message's next lines, up to a blank line (fastcore's test_eq spans three)
            msg = []
            for l in block[j:]:
                if not l.strip(): break
                msg.append(l.strip())
            last = ' | '.join(msg)
        last = last or HEAD.match(lines[i]).group(1)
        out.append(f"{Path(HEAD.match(lines[i]).group(2)).name}, cell #{cell}: {last[:400]}")
    return out

if __name__ == '__main__':
    found = summarise(Path(sys.argv[1]).read_text(errors='replace'))
    print('notebook failures (from the log above):')
    for line in found or ['none found in the log (a worker died?): read the log above']: print('  ' + line)
