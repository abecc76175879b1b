# One command sets up and runs the offline demo; another runs the tests (see README.md).
VENV ?= .venv
PY := $(VENV)/bin/python
# Material for MkDocs prints a banner about its successor on every build; not a build warning
export NO_MKDOCS_2_WARNING = 1

.PHONY: setup services demo test test-slow lint docs ui
setup: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml scripts/install-data.sh scripts/install-system.sh
	scripts/install-system.sh
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[dev]'
	scripts/install-data.sh $(PY)
	touch $@

demo: setup
	$(VENV)/bin/rnnstudy optimize studies/demo.py

# PostgreSQL for the tests of studies shared between machines (started, or installed, if it can be)
services:
	scripts/services.sh

test: setup services
	$(PY) -m pytest -q

test-slow: setup services
	$(PY) -m pytest -q -m slow

lint: setup
	$(VENV)/bin/ruff check . && $(VENV)/bin/ruff format --check . && $(VENV)/bin/lint-imports && NO_MKDOCS_2_WARNING=1 $(VENV)/bin/mkdocs build --strict -q

# the documentation site, from docs/ into site/ (any warning fails it)
docs: setup
	NO_MKDOCS_2_WARNING=1 $(VENV)/bin/mkdocs build --strict

ui: setup
	$(VENV)/bin/rnnstudy ui
