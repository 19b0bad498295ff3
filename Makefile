# The README's two commands: `make app` (start the app) and `make test` (run every check).
# Both create .venv from scratch when it is missing or pyproject.toml changed. `make test-fast` is
# the inner loop: lint, then the unit and app tests without the real clips, the browser or the
# end-to-end accuracy gate (about a minute on a 2-core machine).
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.formcheck-installed
PORT   ?= 8501

.PHONY: app test test-fast setup lint bench clean

setup: $(STAMP)

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	@touch $(STAMP)

app: $(STAMP)
	$(BIN)/streamlit run app.py --server.port $(PORT) --server.headless true \
		--browser.gatherUsageStats false

lint: $(STAMP)
	$(BIN)/ruff check src tests benchmarks tools app.py
	$(BIN)/ruff format --check src tests benchmarks tools app.py
	$(BIN)/mypy

test: lint
	$(BIN)/python -m pytest -q -ra

test-fast: lint
	$(BIN)/python -m pytest -q -ra -m "not slow and not clips and not browser"

bench: $(STAMP)
	$(BIN)/python benchmarks/speed.py
	$(BIN)/python benchmarks/accuracy.py

clean:
	rm -rf $(VENV) formcheck-out .pytest_cache .mypy_cache .ruff_cache
