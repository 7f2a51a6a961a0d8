# xdockerfile — a BuildKit Dockerfile frontend with IF/ELSE and variables in
# stage references.
#
#   make demo   installs what it needs, starts a local buildkitd and registry,
#               publishes the frontend image and builds an example with it
#   make test   everything: unit, golden, corpus and end-to-end tests
#   make bench  POETRY INSTALL, conversion and the image against their baselines

SHELL    := /bin/bash
GO       ?= go
CACHE    ?= /var/cache/xdockerfile
VERSION  ?= v1.0.0-dev
LDFLAGS  := -s -w -X github.com/xdockerfile/xdockerfile/version.Version=$(VERSION)

.PHONY: all build deps python-rootfs test unit e2e demo bench fuzz clean release

all: build

build:
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags "$(LDFLAGS)" -o bin/ ./cmd/...

deps:
	@bash hack/deps.sh >/dev/null
	@bash hack/deps.sh compat >/dev/null
	@bash hack/deps.sh buildx >/dev/null

python-rootfs:
	@bash hack/python-rootfs.sh >/dev/null
	@bash hack/python-rootfs.sh git >/dev/null

unit:
	$(GO) vet ./...
	$(GO) test ./...

# The end-to-end tests need the real parts; hack/deps.sh installs them and
# builds the pinned buildkitd once, and the older ones users run
# (e2e/compat_test.go, `hack/deps.sh compat`), `hack/deps.sh buildx` the buildx
# client (all cached under $(CACHE)).
e2e: deps python-rootfs
	XDOCKERFILE_BUILDKIT_BIN=$$(bash hack/deps.sh) \
	XDOCKERFILE_PYTHON_ROOTFS=$$(bash hack/python-rootfs.sh) \
	XDOCKERFILE_PYTHON_GIT_ROOTFS=$$(bash hack/python-rootfs.sh git) \
	XDOCKERFILE_BUILDX=$$(bash hack/deps.sh buildx) \
	XDOCKERFILE_BUILDKIT_COMPAT=$$(bash hack/deps.sh compat) \
	$(GO) test -count=1 -timeout 40m -v ./e2e/ 2>&1 | tee .e2e.log | grep -E '^(=== RUN|--- |PASS|FAIL|ok|e2e:)|_test.go:' ; \
	exit $${PIPESTATUS[0]}

test: deps python-rootfs
	$(GO) vet ./...
	XDOCKERFILE_BUILDKIT_BIN=$$(bash hack/deps.sh) \
	XDOCKERFILE_PYTHON_ROOTFS=$$(bash hack/python-rootfs.sh) \
	XDOCKERFILE_PYTHON_GIT_ROOTFS=$$(bash hack/python-rootfs.sh git) \
	XDOCKERFILE_BUILDX=$$(bash hack/deps.sh buildx) \
	XDOCKERFILE_BUILDKIT_COMPAT=$$(bash hack/deps.sh compat) \
	$(GO) test -count=1 -timeout 60m ./...
	@$(MAKE) --no-print-directory fuzz FUZZTIME=5000x

demo: deps python-rootfs
	XDOCKERFILE_BUILDKIT_BIN=$$(bash hack/deps.sh) \
	XDOCKERFILE_PYTHON_ROOTFS=$$(bash hack/python-rootfs.sh) \
	$(GO) run ./hack/demo

# The release image for linux/amd64 and linux/arm64 under a name of your
# choosing, built with a buildkitd of its own and this machine's Go
# (hack/release; README.md): IMAGE=registry.example.com/xdockerfile
# VERSION=v1.2.3, PUSH=1 to push the tags 1.2.3, 1.2 and 1, otherwise an OCI
# archive in bin/; SBOM=default|<image>, LICENSES=<SPDX expression>.
release: deps
	@test -n "$(IMAGE)" || { echo "usage: make release IMAGE=registry.example.com/xdockerfile [VERSION=v1.2.3] [PUSH=1]" >&2; exit 2; }
	XDOCKERFILE_BUILDKIT_BIN=$$(bash hack/deps.sh) $(GO) run ./hack/release -image '$(IMAGE)' -version '$(VERSION)' \
		$(if $(filter 1 true yes,$(PUSH)),-push) $(if $(SBOM),-sbom '$(SBOM)') $(if $(LICENSES),-licenses '$(LICENSES)')

# Every figure of docs/performance.md beside its baseline: POETRY INSTALL
# against poetry install, pip and a bare unzip under a real buildkitd;
# conversion, IF/ELSE and the frontend image against upstream. Prints one
# table, writes bench/results.json and docs/performance.md's figures (about
# 30 minutes; BENCHFLAGS=-quick for a smoke run).
bench: deps
	XDOCKERFILE_BUILDKIT_BIN=$$(bash hack/deps.sh) $(GO) run ./hack/bench $(BENCHFLAGS)

# Every fuzz target for FUZZTIME each. make test runs their seeds and the
# crashers kept under testdata/fuzz as regression tests, then every target
# for 5,000 executions: a count, not a duration, since Go 1.26's fuzzing
# coordinator can report its own deadline as a failure at the end of a
# timed run (golang/go#75804, "context deadline exceeded" with no input).
FUZZTIME ?= 30s
FUZZ_TARGETS := syntax:FuzzParse syntax:FuzzCondition syntax:FuzzBlockHead syntax:FuzzLexer \
	syntax:FuzzDirective pep508:FuzzParseMarker poetry:FuzzTOML poetry:FuzzExport \
	poetry:FuzzProject conversion:FuzzLower
fuzz:
	@set -e; for t in $(FUZZ_TARGETS); do \
		echo "fuzz: $${t#*:} ($(FUZZTIME))"; \
		$(GO) test ./$${t%%:*} -run '^$$' -fuzz "^$${t#*:}$$" -fuzztime $(FUZZTIME); \
	done

clean:
	rm -rf bin .e2e.log
