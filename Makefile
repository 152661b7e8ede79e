# Two commands do all set-up: `make run` (the main job on the embedded default) and
# `make test` (the whole test suite). Both create .venv and install what they need.

PYTHON ?= python3
VENV   ?= .venv
BIN     = $(VENV)/bin
# Test processes: most tests wait on servers and child processes, so more than the cores.
TEST_PROCESSES ?= 4

.PHONY: run test lint typecheck check perf perf-million pictures clean

$(BIN)/.installed: pyproject.toml
	@echo "Setting up $(VENV): breachledger and its dependencies (about a minute, once)..."
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $@
	@echo "$(VENV) is ready."

run: $(BIN)/.installed
	$(BIN)/breach serve

test: $(BIN)/.installed
	$(BIN)/ruff check events services tests
	$(BIN)/mypy
	$(BIN)/pytest -n $(TEST_PROCESSES) --dist loadfile

perf: $(BIN)/.installed
	$(BIN)/pytest tests/perf -s -p no:cacheprovider --override-ini addopts= -m "not million"

# One breach of a million people end to end (BENCH_MILLION_PEOPLE=100000 for a trial run).
perf-million: $(BIN)/.installed
	$(BIN)/pytest tests/perf/test_million.py -s -p no:cacheprovider --override-ini addopts= \
		--timeout 3600

# The README's pictures of the dashboard, drawn by the browser tests over a told story.
pictures: $(BIN)/.installed
	$(BIN)/pytest tests/browser/test_pictures.py -p no:cacheprovider -q
	cp test-artifacts/screenshots/time-axis-story.png docs/time-axis.png
	cp test-artifacts/screenshots/metrics-story.png docs/metrics.png

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache
