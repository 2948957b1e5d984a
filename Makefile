# Set-up and everyday commands. `make demo` and `make test` install everything they need into .venv.
PYTHON ?= $(shell for p in python3.12 python3.11 python3; do \
	if command -v $$p >/dev/null 2>&1 && $$p -c 'import sys; sys.exit(not ((3, 11) <= sys.version_info[:2] < (3, 13)))' 2>/dev/null; \
	then command -v $$p; break; fi; done)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install fonts postgres demo test bench bench-hostile bench-documents bench-letters annexes provisions wheel clean

$(STAMP): setup.cfg pyproject.toml
	@if [ -z "$(PYTHON)" ]; then echo "Error: ecocheck needs Python 3.11 or 3.12 (durable-rules does not import on 3.13). Install one, or run: make PYTHON=/path/to/python3.12" >&2; exit 2; fi
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	@touch $(STAMP)

# The PDF writer embeds open CJK fonts from Debian; tests render PDF pages with poppler's pdftoppm.
FONT_FILES := /usr/share/fonts/opentype/noto/NotoSerifCJK-Regular.ttc /usr/share/fonts/truetype/arphic/ukai.ttc
DEBIAN_PACKAGES := fonts-noto-cjk fonts-arphic-ukai poppler-utils

fonts:
	@if ls $(FONT_FILES) >/dev/null 2>&1 && command -v pdftoppm >/dev/null 2>&1; then exit 0; fi; \
	if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
		echo "Installing $(DEBIAN_PACKAGES) from Debian"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $(DEBIAN_PACKAGES) >/dev/null; \
	else \
		echo "Error: the PDF writer needs the Debian packages $(DEBIAN_PACKAGES). Run as root: apt-get install $(DEBIAN_PACKAGES)" >&2; exit 2; \
	fi

# The store tests run on SQLite and on a real PostgreSQL, which they start themselves (initdb, pg_ctl) from Debian's
# server binaries.
postgres:
	@if [ "$${ECOCHECK_TEST_NO_POSTGRES:-}" = 1 ] || ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || \
		command -v initdb >/dev/null 2>&1; then exit 0; fi; \
	if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
		echo "Installing postgresql from Debian"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends postgresql >/dev/null; \
	else \
		echo "Error: the store tests need PostgreSQL's server (initdb, pg_ctl). Run as root: apt-get install postgresql (or set ECOCHECK_TEST_NO_POSTGRES=1 to leave it out)" >&2; exit 2; \
	fi

install: $(STAMP) fonts

demo: $(STAMP) fonts
	$(BIN)/ecocheck demo --out out/demo

# Python for the tests and the benchmarks, writing bytecode even where the environment sets PYTHONDONTWRITEBYTECODE:
# each test worker, CLI child process and the wheel's venv would otherwise compile every module, and pytest rewrite
# every test module, from source; each process a benchmark times would compile ecocheck's modules again (0.1-0.15 s a run).
PYTHON_WRITING_BYTECODE := PYTHONDONTWRITEBYTECODE= $(BIN)/python

test: $(STAMP) fonts postgres
	$(PYTHON_WRITING_BYTECODE) -m pytest

bench: $(STAMP)
	$(PYTHON_WRITING_BYTECODE) benchmarks/bench_check.py $(BENCH_ARGS)

bench-hostile: $(STAMP)
	$(PYTHON_WRITING_BYTECODE) benchmarks/bench_hostile.py $(BENCH_ARGS)

bench-documents: $(STAMP) fonts
	$(PYTHON_WRITING_BYTECODE) benchmarks/bench_documents.py

bench-letters: $(STAMP) fonts
	$(PYTHON_WRITING_BYTECODE) benchmarks/bench_letters.py

# Build-time tools (tools/): regenerate data under rules/ from the source texts; tests check their outputs are current.
annexes: $(STAMP)
	$(BIN)/python tools/annexes.py

provisions: $(STAMP)
	$(BIN)/python tools/provisions.py

# The wheel (rules, schemas, samples and templates inside the package), into dist/.
wheel: $(STAMP)
	rm -rf build  # a file removed from rules/ must not linger in the wheel
	$(BIN)/python -m pip wheel --no-deps --no-build-isolation --wheel-dir dist .

clean:
	rm -rf $(VENV) out .pytest_cache build dist
