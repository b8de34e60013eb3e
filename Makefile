# kubelite: a Kubernetes cluster in one binary.
SHELL := /bin/bash
GO ?= go
BIN := bin
KUBELITE := $(BIN)/kubelite
DATA_DIR ?=
VERSION_PKG := k8s.io/component-base/version
GIT_COMMIT := $(shell git rev-parse HEAD 2>/dev/null)
LDFLAGS := -X $(VERSION_PKG).gitCommit=$(GIT_COMMIT) \
	-X $(VERSION_PKG).buildDate=$(shell date -u +%Y-%m-%dT%H:%M:%SZ)
GOFLAGS_BUILD := -trimpath -ldflags "$(LDFLAGS)"

.PHONY: all build run test unit e2e reliability bench bench-report scale conformance conformance-report conformance-check images containerd cni generate clean

all: build

build: $(KUBELITE)

$(KUBELITE): $(shell find . -name '*.go' -not -path './conformance/*' 2>/dev/null) go.mod go.sum
	$(GO) build $(GOFLAGS_BUILD) -o $@ ./cmd/kubelite

# run: build and start a one-node cluster in the foreground on the default data dir.
# As root with containerd and runc (which `make containerd` installs) the server runs
# a node agent for this machine on real containers (--local-node=containerd, its
# default there), with the images of `make images` imported first, and pods on the
# CNI bridge network with the plugins `make cni` builds.
IMAGES_DIR := $(or $(KUBELITE_IMAGES),.cache/images)
run: build containerd images cni
	./$(KUBELITE) images import $(if $(DATA_DIR),--data-dir=$(DATA_DIR)) $(IMAGES_DIR)/*.tar
	./$(KUBELITE) server --cni-bin-dir=$(CURDIR)/.cache/cni/bin $(if $(DATA_DIR),--data-dir=$(DATA_DIR))

# test: unit and integration tests, then the kubectl and Helm end-to-end scenarios
# (Helm 3 and 4 are built once into .cache/bin) and the one on real containers.
test: unit e2e

# unit needs containerd and runc, and the busybox image from `make images`, for the tests
# of nodeagent/runtime/containerd on real containers (4 s when the images are built),
# and the CNI plugins and nft from `make cni` for their pod network tests.
# The test binaries are linked without symbol table and DWARF (-s -w): linking some
# hundred binaries of the Kubernetes libraries is most of the suite's CPU time
# otherwise (4.2 min of linking alone on the 2-core machine, 1.9 min without them).
unit: containerd images cni
	$(GO) test -count=1 -ldflags='-s -w' ./...

# reliability: the whole reliability suite (reliability/): KUBELITE_TRIALS (20)
# SIGKILLs of the server under writers and an informer, the loss of one of three
# servers (root: network namespaces), bad bodies against every kind, the overload
# flood, and the fuzz target for FUZZTIME (5m). `make unit` runs its fast part (without KUBELITE_RELIABILITY=full).
FUZZTIME ?= 5m
reliability: build
	KUBELITE_RELIABILITY=full KUBELITE_BIN=$(CURDIR)/$(KUBELITE) $(GO) test -count=1 -timeout 40m -v -run 'Test' ./reliability/ | grep -E '^(FIGURE|---|ok|FAIL|PASS)'
	$(GO) test -run '^$$' -fuzz FuzzDecode -fuzztime $(FUZZTIME) ./reliability/

# containers.sh runs real containers on the local node (needs containerd and the
# images: about a minute); services.sh runs Services and cluster DNS on them, on the
# pod network (the CNI plugins of `make cni`, nft: about 30 s); nodes.sh runs a server
# and a `kubelite agent` on two hosts (network namespaces it makes and removes) and
# shows pods, Services, cluster DNS and NetworkPolicy across them (about 60 s).
e2e: build containerd images cni
	./conformance/e2e/kubectl.sh $(KUBELITE)
	./conformance/e2e/helm.sh $(KUBELITE)
	./conformance/e2e/containers.sh $(KUBELITE)
	./conformance/e2e/services.sh $(KUBELITE)
	./conformance/e2e/nodes.sh $(KUBELITE)

# bench: kubelite beside upstream etcd + kube-apiserver (built once from Go modules
# into .cache/bin), each kubelite figure also as a ratio to upstream's; then the
# node agent hosting KUBELITE_SIM_NODES (default 5000) simulated nodes; then a
# Deployment of KUBELITE_DEPLOY_REPLICAS (5000) on KUBELITE_DEPLOY_NODES (100)
# simulated nodes, reconciled by kubelite's controllers and scheduler and by
# upstream's kube-controller-manager and kube-scheduler; then the node agent's
# benchmarks, among them BenchmarkPodStartupLatency (100 pods on the real
# containerd node, created to Running and Ready seen through a watch: p50, p99;
# the node agent beside upstream's kubelet, built into .cache/bin, on the same
# containerd binary);
# then BenchmarkProxySync (an EndpointSlice change to the service proxy's nftables rules
# applied, 1,000 Services: p50, p99) and BenchmarkProxySyncVsUpstream (the same change
# seen through nft monitor, kubelite's proxy beside upstream's kube-proxy in nftables
# mode, built into .cache/bin, against one kubelite API server: ratios); then the scheduler alone beside kube-scheduler (KUBELITE_SCHED_NODES, _PODS, _QPS, ...).
# BenchmarkStartup measures the server alone (--local-node=, no containerd).
bench: build containerd images cni
	conformance/tools/build.sh etcd >/dev/null
	conformance/tools/build.sh kube-apiserver >/dev/null
	$(GO) test -run '^$$' -bench Startup -benchtime 3x ./cmd/kubelite/
	$(GO) test -run '^$$' -bench API -benchtime 5000x ./cmd/kubelite/
	$(GO) test -run '^$$' -bench SimulatedNodes -benchtime 1x -timeout 30m ./cmd/kubelite/
	conformance/tools/build.sh kube-controller-manager >/dev/null
	conformance/tools/build.sh kube-scheduler >/dev/null
	$(GO) test -run '^$$' -bench DeploymentReady -benchtime 1x -timeout 30m ./cmd/kubelite/
	conformance/tools/build.sh kubelet >/dev/null
	$(GO) test -run '^$$' -bench . -skip ProxySync -benchmem ./nodeagent/...
	$(GO) test -run '^$$' -bench ProxySync -benchtime 200x ./nodeagent/proxy/
	conformance/tools/build.sh kube-proxy >/dev/null
	$(GO) test -run '^$$' -bench ProxySyncVsUpstream -benchtime 200x ./cmd/kubelite/
	$(GO) test -run '^$$' -bench Cycle -benchtime 10000x ./controllers/scheduler/
	$(GO) test -run '^$$' -bench '^BenchmarkScheduler$$' -benchtime 1x -timeout 300m ./cmd/kubelite/

# bench-report: the side-by-side benchmarks (bench/report.sh: BenchmarkStartup,
# BenchmarkControlPlane, BenchmarkAPILatency, BenchmarkDeploymentReady and
# BenchmarkScheduler at small sizes, BenchmarkPodStartupLatency at two rates)
# against upstream v1.37.2, under nice,
# then bench/RESULTS.md from their output (in bench/out): both columns and
# the ratios, dated, with the commit, the machine and the load average.
# KUBELITE_BENCH_ONLY="controlplane api" runs some of them; `bench/report.sh
# bench/out/*.txt` rewrites the file from saved output. About 30 minutes.
bench-report: build containerd images cni
	for t in etcd kube-apiserver kube-controller-manager kube-scheduler kubelet; do conformance/tools/build.sh $$t >/dev/null || exit 1; done
	bench/report.sh

# scale: the envelope on this machine (BenchmarkScale, cmd/kubelite/scale_test.go): a
# server without a local node and `kubelite nodeagent` with KUBELITE_SCALE_NODES (5000)
# simulated nodes; Deployments created at KUBELITE_SCALE_RATE (50) pods/s until
# KUBELITE_SCALE_PODS (150000) pods are Running. Reports API call latency p99 per verb
# against upstream's SLOs, pod startup p99, each process's memory and etcd's size into
# bin/scale/report.md, with the processes' logs and pprof profiles beside it. Small:
# make scale KUBELITE_SCALE_NODES=500 KUBELITE_SCALE_PODS=15000. See bench/SCALE.md.
SCALE_DIR := $(CURDIR)/$(BIN)/scale
scale: build
	mkdir -p $(SCALE_DIR)
	KUBELITE_SCALE_PPROF=$(SCALE_DIR) KUBELITE_SCALE_REPORT=$(SCALE_DIR)/report.md \
		nice $(GO) test -v -run '^$$' -bench '^BenchmarkScale$$' -benchtime 1x -timeout 180m ./cmd/kubelite/
	@echo "report: $(SCALE_DIR)/report.md"

# conformance: upstream's conformance suite (e2e.test, built once into .cache/bin)
# against a fresh kubelite: TIER=T0a|T0b|T1|T2|T3|T4|T5|T0|all, and/or FOCUS=<regex>.
# conformance-report: every tier (or TIER=... only), then rewrite conformance/RESULTS.md.
# conformance-check: see below.
# See conformance/README.md.
TIER ?=
conformance: build
	@if [ -z "$(TIER)" ] && [ -z "$(FOCUS)" ]; then echo "usage: make conformance TIER=<T0a|T0b|T1|T2|T3|T4|T5|T0|all> [FOCUS=<regex>]" >&2; exit 2; fi
	KUBELITE_BIN=$(KUBELITE) FOCUS='$(FOCUS)' ./conformance/run.sh $(TIER)

conformance-report: build
	KUBELITE_BIN=$(KUBELITE) ./conformance/report.sh $(TIER)

# conformance-check: run TIER (default T0a) and fail if a test that RESULTS.md lists
# as passing fails now (after one retry on a fresh server). CI runs it.
conformance-check: build
	KUBELITE_BIN=$(KUBELITE) ./conformance/check-regressions.sh $(or $(TIER),T0a)

# images: the container images upstream's conformance tests run, under their
# upstream names, as OCI archives in .cache/images (KUBELITE_IMAGES overrides it),
# built from Go modules and Debian packages without a registry or daemon; for
# `ctr images import`. `cd conformance && go test ./images` checks them.
# See conformance/README.md ("Images").
images:
	./conformance/images/build.sh

# containerd: install containerd and runc (Debian's packages) when missing. The node
# agent and the tests of nodeagent/runtime/containerd start a containerd of kubelite's
# own (socket, root and state under the data dir) and stop it on exit; its tests run
# the runtime conformance suite on real containers from `make images`' busybox.
# It also installs nftables (nft), which nodeagent/netpol and its tests drive.
containerd:
	./conformance/tools/containerd.sh
	./hack/install-nftables.sh

# cni: build the CNI reference plugins the node agent's pod network runs (bridge,
# host-local, portmap) into .cache/cni/bin, and install nftables when nft is missing.
cni:
	./hack/cni.sh

# generate: regenerate the OpenAPI definitions. The inputs are the API versions
# kubelite serves or will serve (GA), plus what they refer to; apis/openapi's test
# fails if a referenced schema is missing.
OPENAPI_GEN := k8s.io/kube-openapi/cmd/openapi-gen@v0.0.0-20260721132016-d427ff9ee9ad
OPENAPI_INPUTS := $(addprefix k8s.io/api/,admissionregistration/v1 apps/v1 authentication/v1 \
	authorization/v1 autoscaling/v1 autoscaling/v2 batch/v1 certificates/v1 coordination/v1 core/v1 \
	discovery/v1 events/v1 flowcontrol/v1 networking/v1 node/v1 policy/v1 rbac/v1 resource/v1 \
	scheduling/v1 scheduling/v1alpha3 storage/v1 storagemigration/v1) \
	k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1 \
	k8s.io/kube-aggregator/pkg/apis/apiregistration/v1 \
	$(addprefix k8s.io/apimachinery/pkg/,apis/meta/v1 runtime version api/resource util/intstr)
generate:
	$(GO) run $(OPENAPI_GEN) --output-dir ./apis/openapi --output-pkg github.com/kubelite/kubelite/apis/openapi \
		--output-file zz_generated.openapi.go --go-header-file hack/boilerplate.go.txt \
		--report-filename /dev/null $(OPENAPI_INPUTS)
	$(GO) test ./apis/openapi/

clean:
	rm -rf $(BIN)
