# The two commands of the contract: `make run` and `make test`. Both set up from nothing.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
HOST   ?= 127.0.0.1
PORT   ?= 8080
STAMP  := $(VENV)/.installed

.PHONY: install run test browser bench accuracy speed clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

# reinstall only when the dependency list changes
$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[test,browser,models,llm]'
	touch $(STAMP)

install: $(STAMP)

## Style Dictionary v5 (npm) to check that our DTCG output builds; skipped without npm
JS_TOOLS := tests/js/node_modules/.package-lock.json
$(JS_TOOLS): tests/js/package.json tests/js/package-lock.json
	@if command -v npm >/dev/null 2>&1; then \
	  cd tests/js && npm ci --no-audit --no-fund --loglevel=error; \
	else echo "npm not found: the Style Dictionary check will be skipped"; fi

## Debian's Chromium and fonts, for rendered-page tests and the accuracy harness
browser:
	@command -v chromium >/dev/null 2>&1 || { \
	  echo "installing chromium (Debian) for rendered-page tests"; \
	  if [ "$$(id -u)" = 0 ]; then SUDO=; else SUDO=sudo; fi; \
	  $$SUDO apt-get update -q >/dev/null && \
	  $$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
	    chromium fonts-dejavu-core fonts-liberation >/dev/null; }

run: install
	$(BIN)/stylestream serve --host $(HOST) --port $(PORT)

test: install browser $(JS_TOOLS)
	$(BIN)/python -m pytest

bench: install
	$(BIN)/python bench/ttfr.py

accuracy: install browser
	$(BIN)/python bench/accuracy/run.py

# per-extractor speed on the harness's 1x renders (make accuracy renders them), else on
# the synthetic page
speed: install
	$(BIN)/python bench/speed.py --runs 5 $(wildcard .accuracy/*@1x.png)

clean:
	rm -rf $(VENV) .pytest_cache .accuracy build *.egg-info tests/js/node_modules
