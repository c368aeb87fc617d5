# The two set-up commands of the README: `make demo` and `make test`.
GO ?= go
TAGS := seccomp
BIN := bin/compose

.PHONY: build demo test deps clean

# compose-supervisor (one per running container) is kept small: no cgo, no
# libcontainer; compose finds it beside itself.
# compose-init is the static init that `init: true` runs as PID 1, also
# found beside compose.
# compose-k8s (`compose k8s ...`, found beside compose) is its own Go module,
# k8s/, so that the Kubernetes client stays out of compose and its go.mod.
build:
	$(GO) build -tags $(TAGS) -o $(BIN) ./cmd/compose
	CGO_ENABLED=0 $(GO) build -o $(dir $(BIN))compose-init ./cmd/compose-init
	CGO_ENABLED=0 $(GO) build -ldflags='-s -w' -o $(dir $(BIN))compose-supervisor ./cmd/compose-supervisor
	cd k8s && CGO_ENABLED=0 $(GO) build -o $(abspath $(dir $(BIN)))/compose-k8s ./cmd/compose-k8s

# deps installs what the build and the tests need from Debian (root).
deps:
	./scripts/deps.sh

# demo runs examples/hello on the embedded engine, offline.
demo: deps build
	./scripts/demo.sh

# RACE are the packages whose goroutines the race detector checks (their
# tests run without starting containers, so it stays quick).
RACE := ./watch/ ./logs/... ./internal/store/... ./internal/inotify/ ./progress/ ./graph/ \
	./engine/ ./engine/record/ ./engine/specgen/ ./engine/status/ ./errdefs/ ./project/

# test runs every test; the integration tests need root (CI runs as root).
# The k8s module's tests include a real kube-apiserver on an in-process etcd
# (k8s.io/kubernetes): its first build takes minutes, later ones seconds.
test: deps
	$(GO) vet -tags $(TAGS) ./...
	$(GO) test -tags $(TAGS) -race -count=1 $(RACE)
	$(GO) test -tags $(TAGS) -count=1 -timeout 20m ./...
	cd k8s && $(GO) vet ./... && $(GO) test -count=1 -timeout 30m ./...

clean:
	rm -rf bin
