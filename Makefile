# User-facing entry points (see README.md). Every target works on a fresh machine.
SHELL := bash
.SHELLFLAGS := -euo pipefail -c
.DEFAULT_GOAL := help

include hack/versions.env
CACHE ?= $(or $(MICROAPP_CACHE),$(HOME)/.cache/microapp-operator)
BIN := $(CACHE)/$(KUBE_VERSION)/bin
VENV := .venv
KUBECONFIG_LOCAL := $(CURDIR)/.cluster/kubeconfig
# The control plane's own kubectl (same release as the server) and the venv's tools come first.
export PATH := $(BIN):$(CURDIR)/$(VENV)/bin:$(PATH)
export MICROAPP_CACHE := $(CACHE)
PYTEST_ARGS ?=

.PHONY: help venv lint manifests tools image delivery bench-scale bench-api-cost control-plane cluster-up cluster-down crds install run demo down test unit integration chaos bench

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-14s %s\n", $$1, $$2}'

$(VENV)/.installed: pyproject.toml
	@echo "[venv] creating $(VENV) and installing the project with its test dependencies ..."
	python3 -m venv $(VENV)
	$(VENV)/bin/python -m pip install -q --upgrade pip
	$(VENV)/bin/python -m pip install -q -e '.[test]'
	@touch $@

venv: $(VENV)/.installed ## create .venv with the project installed

control-plane: ## build the control plane binaries into $(CACHE) (once)
	hack/build-control-plane.sh

cluster-up: ## start the local control plane; kubeconfig at .cluster/kubeconfig
	hack/cluster.sh up

cluster-down: ## stop and delete the local control plane
	hack/cluster.sh down

crds: venv ## regenerate crds/, the chart's CRDs and values.schema.json from the pydantic types (and the dashboards)
	microapp crds -o crds -o charts/microapp-operator/files/crds \
	  --dashboards charts/microapp-operator/files/dashboards --dashboards manifests/dashboards \
	  --values-schema charts/microapp-operator/values.schema.json
	cp manifests/policy/platformpolicy-default.yaml charts/microapp-operator/files/policy/
	$(VENV)/bin/python hack/argocd_cm.py

manifests: ## regenerate manifests/install/ (kustomize) from the Helm chart
	hack/manifests.sh

tools: ## build Helm, kind, the argocd CLI, actionlint and the OpenTelemetry Collector from the Go module proxy into $(CACHE) (once; tests use them)
	@for t in helm kind argocd actionlint; do hack/build-tool.sh $$t >/dev/null; done
	@hack/build-otelcol.sh >/dev/null

image: ## build the operator image with podman (no registry; base from Debian packages); prints its size
	hack/image.sh

install: venv ## CRDs, the default PlatformPolicy and the built-in templates into the cluster of $$KUBECONFIG
	kubectl apply --server-side --field-manager=microapp-install -f crds/
	kubectl wait --for=condition=Established --timeout=60s -f crds/
	kubectl apply --server-side --field-manager=microapp-install -f manifests/policy/
	kubectl apply --server-side --field-manager=microapp-install -f operator/microapp_operator/templates/

run: venv ## the operator in the foreground against $$KUBECONFIG
	microapp run

demo: venv cluster-up ## control plane, CRDs, operator and portal in the background, samples applied; leaves it running
	@export KUBECONFIG=$(KUBECONFIG_LOCAL); \
	$(MAKE) --no-print-directory install; \
	kubectl apply --server-side -f hack/crds/; \
	hack/operator.sh start; \
	kubectl create namespace team-finance --dry-run=client -o yaml | kubectl apply -f -; \
	kubectl apply -f samples/; \
	echo "[demo] waiting for the operator to report on the samples ..."; \
	kubectl wait --for=condition=Ready --timeout=90s -f samples/; \
	kubectl get microapps -A; \
	kubectl apply -f hack/demo-rbac.yaml >/dev/null; \
	hack/portal.sh start; \
	echo; echo "[demo] running. export KUBECONFIG=$(KUBECONFIG_LOCAL); 'make down' stops it all."

down: ## stop everything make demo / make cluster-up started
	hack/portal.sh stop
	hack/operator.sh stop
	hack/cluster.sh down

lint: venv ## ruff: lint and format check of the whole tree (configured in pyproject.toml)
	@echo "[lint] ruff check and ruff format --check ..."
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

test: venv ## everything: venv, control plane (built once), Prometheus and Chromium (Debian packages), then all tests
	@$(MAKE) --no-print-directory lint
	@hack/operator.sh stop >/dev/null
	hack/cluster.sh up
	hack/prometheus.sh
	hack/browser.sh
	@$(MAKE) --no-print-directory tools
	@echo "[test] running unit and integration tests ..."
	KUBECONFIG=$(KUBECONFIG_LOCAL) $(VENV)/bin/python -m pytest --ignore=tests/chaos --ignore=tests/delivery $(PYTEST_ARGS)
	@$(MAKE) --no-print-directory delivery

# The fault tests' own control plane: a low request limit without priority and fairness (so the
# operator's ServiceAccount gets 429s), six simulated nodes; deleted afterwards.
CHAOS_ENV := MICROAPP_STATE_DIR=$(CURDIR)/.cluster-chaos MICROAPP_CLUSTER_NAME=microapp-chaos MICROAPP_NODES=6 \
  MICROAPP_APISERVER_ARGS="enable-priority-and-fairness=false max-requests-inflight=20 max-mutating-requests-inflight=2" \
  MICROAPP_TEST_KUBECONFIG=$(CURDIR)/.cluster-chaos/kubeconfig

chaos: venv ## fault tests (throttled API server, SIGKILL mid-rollout, API server restart) on their own control plane
	@hack/build-control-plane.sh >/dev/null
	@start=$$(date +%s); rm -f .cluster-chaos/chaos-results.json; \
	$(CHAOS_ENV) hack/cluster.sh up; \
	echo "[chaos] running the fault tests ..."; \
	$(CHAOS_ENV) $(VENV)/bin/python -m pytest tests/chaos -p no:cacheprovider $(PYTEST_ARGS) && rc=0 || rc=$$?; \
	echo "[chaos] figures:"; cat .cluster-chaos/chaos-results.json 2>/dev/null || true; \
	$(CHAOS_ENV) hack/cluster.sh down; \
	echo "[chaos] finished in $$(( $$(date +%s) - start ))s"; exit $$rc

# The delivery tests' own control plane: the chart installed by Helm, the image run by podman as
# the chart's Pods on two Nodes whose addresses are this machine's (hack/pod-network.sh).
DELIVERY_ENV := MICROAPP_STATE_DIR=$(CURDIR)/.cluster-delivery MICROAPP_CLUSTER_NAME=microapp-delivery \
  MICROAPP_TEST_KUBECONFIG=$(CURDIR)/.cluster-delivery/kubeconfig KUBECONFIG=$(CURDIR)/.cluster-delivery/kubeconfig

delivery: venv ## image, Helm, chart install/upgrade/uninstall and HA failover on their own control plane
	@start=$$(date +%s); rm -f .cluster-delivery/delivery-results.json; \
	hack/image.sh >/dev/null; $(MAKE) --no-print-directory tools; \
	$(DELIVERY_ENV) hack/cluster.sh up; $(DELIVERY_ENV) hack/pod-network.sh up; \
	echo "[delivery] running the delivery tests ..."; \
	$(DELIVERY_ENV) $(VENV)/bin/python -m pytest tests/delivery -p no:cacheprovider $(PYTEST_ARGS) && rc=0 || rc=$$?; \
	echo "[delivery] figures:"; cat .cluster-delivery/delivery-results.json 2>/dev/null || true; \
	$(DELIVERY_ENV) hack/pod-network.sh down; $(DELIVERY_ENV) hack/cluster.sh down; \
	echo "[delivery] finished in $$(( $$(date +%s) - start ))s"; exit $$rc

unit: venv tools ## unit tests only (no cluster)
	$(VENV)/bin/python -m pytest tests/unit $(PYTEST_ARGS)

integration: venv cluster-up tools ## integration tests only
	hack/browser.sh
	KUBECONFIG=$(KUBECONFIG_LOCAL) $(VENV)/bin/python -m pytest tests/integration $(PYTEST_ARGS)

APPS ?= 1000
SHARDS ?= 1
WORKERS ?= 4
RESYNC ?= 60
bench-scale: venv ## N MicroApps on their own control plane (APPS=1000|5000, SHARDS=2, WORKERS=4, RESYNC=60, PROFILE=1, QUIET_EVENTS=1): rollout, writes, footprint
	@hack/build-control-plane.sh >/dev/null
	$(VENV)/bin/python bench/scale.py --apps $(APPS) --shards $(SHARDS) --workers $(WORKERS) --resync $(RESYNC) $(if $(PROFILE),--profile) $(if $(QUIET_EVENTS),--no-routine-events)

bench-api-cost: venv ## API server CPU per request, by kind (GET, apply, Event, MicroApp create and status) on its own control plane
	@hack/build-control-plane.sh >/dev/null
	$(VENV)/bin/python bench/api_cost.py

bench: venv cluster-up ## the benchmark (see BENCHMARKS.md)
	$(VENV)/bin/python bench/render_throughput.py
	$(VENV)/bin/python bench/lifecycle_sweep.py
	KUBECONFIG=$(KUBECONFIG_LOCAL) $(MAKE) --no-print-directory install >/dev/null
	KUBECONFIG=$(KUBECONFIG_LOCAL) $(VENV)/bin/python bench/webhook_latency.py
	KUBECONFIG=$(KUBECONFIG_LOCAL) $(VENV)/bin/python bench/portal_preview.py
	KUBECONFIG=$(KUBECONFIG_LOCAL) $(VENV)/bin/python bench/portal_apps.py
	@echo "[bench] scale (make bench-scale, last recorded runs):"
	@$(VENV)/bin/python -c 'import glob, json; [print("  apps={apps} rollout={rollout_s}s floor={floor_s}s ratio={rollout_over_floor} writes/app={writes_per_app} noop-resync={writes_noop_resync} restart={writes_restart} peak-rss={peak_rss_mb}MB".format(**json.load(open(f)))) for f in sorted(glob.glob("bench/results/scale-*.json"))]'
