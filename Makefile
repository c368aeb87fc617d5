# The two set-up commands of the README: `make demo` and `make test`.
GO ?= go
TAGS := seccomp
BIN := bin/compose

.PHONY: build demo test deps clean

build:
	$(GO) build -tags $(TAGS) -o $(BIN) ./cmd/compose

# deps installs what the build and the tests need from Debian (root).
deps:
	./scripts/deps.sh

# demo runs examples/hello on the embedded engine, offline.
demo: deps build
	./scripts/demo.sh

# test runs every test; the integration tests need root (CI runs as root).
test: deps
	$(GO) vet -tags $(TAGS) ./...
	$(GO) test -tags $(TAGS) -count=1 -timeout 20m ./...

clean:
	rm -rf bin
