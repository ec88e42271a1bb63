# The two commands of the README: `make demo` and `make test`. Everything else is a helper.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test install system-deps lint typecheck translations test-sqlite test-postgresql coverage clean

demo: install
	$(BIN)/stemme demo

test: install system-deps lint typecheck translations
	rm -f .coverage .coverage.*
	$(MAKE) test-sqlite test-postgresql coverage

install: $(STAMP)

$(STAMP): pyproject.toml
	@$(PYTHON) -m venv $(VENV) 2>/dev/null || { apt-get update -qq && apt-get install -y -qq python3-venv && $(PYTHON) -m venv $(VENV); }
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[dev]'
	touch $(STAMP)

system-deps:
	@command -v chromium >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium; }

lint:
	$(BIN)/ruff check src tests benchmarks scripts
	$(BIN)/ruff format --check src tests benchmarks scripts

typecheck:
	$(BIN)/mypy

translations:
	$(BIN)/python scripts/i18n.py check

test-sqlite:
	STEMME_TEST_ENGINE=sqlite $(BIN)/python -m pytest --cov --cov-report= -q

test-postgresql:
	STEMME_TEST_ENGINE=postgresql $(BIN)/python -m pytest --cov --cov-append --cov-report= -q

coverage:
	$(BIN)/coverage report --fail-under=90

clean:
	rm -rf $(VENV) .coverage .coverage.* .pytest_cache .mypy_cache .ruff_cache
