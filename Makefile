# Every target sets up what it needs: a fresh clone runs `make demo` and `make test` directly.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
TOOLS  := .venv-tools
UV     := $(TOOLS)/bin/uv
export SODA_CORE_TELEMETRY_ENABLED := false
# uv uses the machine's Python (3.11+) and never downloads one.
export UV_PYTHON_DOWNLOADS := never
export UV_PROJECT_ENVIRONMENT := $(VENV)

.PHONY: install lock demo test lint bench clean

install: $(STAMP)

# The installer, pinned in requirements-tools.txt, in a venv of its own.
$(UV): requirements-tools.txt
	@$(PYTHON) -m venv $(TOOLS)
	@$(TOOLS)/bin/python -m pip install -q -r requirements-tools.txt
	@touch $(UV)

# Exactly the versions in uv.lock (fails if pyproject.toml changed without `make lock`). Bytecode is
# compiled at install: with PYTHONDONTWRITEBYTECODE set, each process would compile Soda, polars... again.
$(STAMP): pyproject.toml uv.lock $(UV)
	@$(UV) sync -q --locked --extra dev --compile-bytecode --python $(PYTHON)
	@touch $(STAMP)

# The one command that refreshes the lock: newest versions allowed by pyproject.toml.
lock: $(UV)
	$(UV) lock --upgrade --python $(PYTHON)

demo: install
	$(BIN)/nova demo

test: install
	$(BIN)/ruff check .
	$(BIN)/python -m pytest -n 2 --dist loadfile

lint: install
	$(BIN)/ruff check .
	$(BIN)/nova contracts lint

bench: install
	$(BIN)/python benchmarks/run_all.py

clean:
	rm -rf .nova data/landing data/demo
