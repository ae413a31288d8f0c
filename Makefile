# `make demo` and `make test` each create .venv (Python 3.11+) and install the project when missing.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: demo test bench install clean

$(BIN)/.installed: pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $@

install: $(BIN)/.installed

demo: install
	$(BIN)/dl classify digits

test: install
	$(BIN)/python -m pytest -q -n auto --dist loadscope  # one worker per core; a module's fixtures stay in one worker

bench: install
	$(BIN)/python bench/bench_foundation.py ../shared/datasets

clean:
	rm -rf $(VENV) runs .pytest_cache
