# riskrl: the two commands of the README, and a few helpers.
#   make demo   installs into .venv (first run only) and runs `riskrl demo` on the bundled data
#   make test   installs into .venv (first run only) and runs the tests (notebooks + pytest; CI runs this)
#   make test-slow  the tests marked slow (pytest -m slow, notebook cells flagged `#| slow`), not in CI's run
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.12 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cat settings.ini setup.py Makefile | sha1sum | cut -c1-12)
WORKERS ?= 2
# SB3 models trained without an explicit logger (tests, notebook examples) would each leave an empty
# /tmp/SB3-<time> folder; give them one folder inside the checkout instead
export SB3_LOGDIR ?= $(CURDIR)/.cache/sb3-logs

.PHONY: install demo demo-quick test test-slow test-notebooks test-py export docs bench clean

$(STAMP): settings.ini setup.py Makefile
	@$(PYTHON) -c 'import sys; assert sys.version_info[:2] == (3, 12), f"riskrl needs Python 3.12, found {sys.version.split()[0]}: set PYTHON=/path/to/python3.12"'
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --disable-pip-version-check uv
	$(BIN)/uv pip install --python $(BIN)/python -q -e ".[dev]"
	# freqtrade for tests/test_freqtrade.py, without its dependencies: ft-pandas-ta would overwrite pandas_ta (the .[dev] extra has what it imports)
	$(BIN)/uv pip install --python $(BIN)/python -q --no-deps "freqtrade==2026.8" "ccxt==4.5.64"
	# bytecode now: where PYTHONDONTWRITEBYTECODE=1 is set, every process would otherwise recompile torch (~6 s)
	$(BIN)/python -m compileall -q -j 0 $(VENV)/lib/python3.12/site-packages > /dev/null || true
	rm -f $(VENV)/.installed-*; touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(BIN)/riskrl demo $(ARGS)

demo-quick: $(STAMP)
	$(BIN)/riskrl demo --quick $(ARGS)

# the notebooks' output also goes to a log; on a failure the last lines name each failed notebook's cell and error
test: $(STAMP)
	@mkdir -p .cache
	set -o pipefail; $(BIN)/nbdev_test --n_workers $(WORKERS) 2>&1 | tee .cache/nbdev_test.log \
		|| { $(BIN)/python scripts/nbtest_summary.py .cache/nbdev_test.log; exit 1; }
	$(BIN)/pytest -n $(WORKERS) tests

# pytest.ini deselects the slow tests (addopts -m "not slow"); a later -m replaces that
test-slow: $(STAMP)
	$(BIN)/pytest -n $(WORKERS) -m slow tests
	for nb in $$(grep -l '"#| slow' nbs/*.ipynb); do $(BIN)/nbdev_test --flags slow --path $$nb || exit 1; done

test-notebooks: $(STAMP)
	@mkdir -p .cache
	set -o pipefail; $(BIN)/nbdev_test --n_workers $(WORKERS) 2>&1 | tee .cache/nbdev_test.log \
		|| { $(BIN)/python scripts/nbtest_summary.py .cache/nbdev_test.log; exit 1; }

test-py: $(STAMP)
	$(BIN)/pytest -n $(WORKERS) tests

export: $(STAMP)
	$(BIN)/nbdev_export && $(BIN)/nbdev_clean

docs: $(STAMP)
	$(BIN)/python scripts/build_docs.py --out _html

# the speed benches that need no arguments; the others (a model folder, runs of an experiment) print their usage with -h
BENCH ?= env_throughput env_parts evaluate inference load_test features training_throughput fast_ppo
bench: $(STAMP)
	for b in $(BENCH); do $(BIN)/python bench/$$b.py || exit 1; done

clean:
	rm -rf _html _proc _docs build dist *.egg-info riskrl-demo
