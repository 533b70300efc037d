# The two set-up commands of the README: `make run` and `make test`. Both create .venv themselves.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: run test bench lint password clean

$(STAMP): requirements.txt
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Python 3.11 or newer is needed")'
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.txt
	touch $(STAMP)

run: $(STAMP)
	$(PY) -m server --config config.toml

test: $(STAMP)
	$(PY) -m ruff check .
	$(PY) -m pytest $(PYTEST_ARGS)

bench: $(STAMP)
	@set -e; for script in benchmarks/*.py; do echo "== $$script"; $(PY) $$script; done

lint: $(STAMP)
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .

password: $(STAMP)
	@$(PY) -c 'import getpass; from werkzeug.security import generate_password_hash as h; print(h(getpass.getpass("password: ")))'

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache .hypothesis
