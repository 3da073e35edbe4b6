# netpatrol — the two commands of the quick start are `make demo` and `make test`.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp

.PHONY: install demo test unit es es-stop typecheck bench clean

install: $(STAMP)

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	@touch $(STAMP)

## demo: serve the bundled demo site, patrol it, print the decline report (no Java, browser or Elasticsearch needed)
demo: install
	$(BIN)/netpatrol demo

## test: the whole suite, with every service it needs started by scripts/test
test: install
	bash scripts/test

## unit: only the tests that need no service
unit: install
	$(BIN)/python -m pytest -m "not elasticsearch and not browser" -q

es:
	bash scripts/elasticsearch start

es-stop:
	bash scripts/elasticsearch stop

## bench: every benchmark under bench/, each side by side with its baseline (takes several minutes)
bench: install
	bash scripts/bench

typecheck: install
	$(BIN)/python -m mypy

clean:
	rm -rf $(VENV) data .cache .pytest_cache .mypy_cache *.egg-info
