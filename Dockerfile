# The xdockerfile frontend image: one static binary, FROM scratch, for every
# platform asked for. The build stage runs on the build platform and
# cross-compiles (GOOS/GOARCH), so no platform needs emulation.
#
#   docker buildx build --platform linux/amd64,linux/arm64 \
#     --build-arg VERSION=v1.2.3 --build-arg REVISION=$(git rev-parse HEAD) \
#     --build-arg SOURCE_DATE_EPOCH=$(git log -1 --format=%ct) \
#     --provenance=mode=max --sbom=true -t <registry>/xdockerfile:1.2.3 --push .
#
# `make release` runs this build with a buildkitd of its own (README.md).
#
# The file is plain Dockerfile on purpose: the first image of a registry can
# only be built by BuildKit's own frontend.
#
# FRONTEND_BINARY=prebuilt packages bin/xdockerfile-frontend from the
# context instead of compiling it (one platform: the one it was built for);
# the `build` stage is then never even resolved.
ARG GO_VERSION=1.26
ARG FRONTEND_BINARY=build

# Go modules come from GOPROXY (proxy.golang.org by default). Without
# network, a module proxy directory (a GOMODCACHE's cache/download) serves
# them: --build-context gomodproxy=DIR --build-arg GOPROXY=file:///gomodproxy
FROM scratch AS gomodproxy

# The Go build cache mount starts from this stage: empty, or a GOCACHE
# directory for a machine whose cache mounts start empty (a fresh CI runner):
# --build-context gocache=DIR
FROM scratch AS gocache

FROM --platform=$BUILDPLATFORM golang:${GO_VERSION} AS build
WORKDIR /src
ARG TARGETOS TARGETARCH VERSION=v1.0.0-dev GOPROXY
RUN --mount=target=. \
    --mount=from=gomodproxy,target=/gomodproxy \
    --mount=type=cache,target=/root/.cache/go-build,from=gocache \
    --mount=type=cache,target=/go/pkg/mod \
    CGO_ENABLED=0 GOOS=$TARGETOS GOARCH=$TARGETARCH \
    GOCACHE=/root/.cache/go-build GOMODCACHE=/go/pkg/mod GOFLAGS=-mod=readonly \
    go build -trimpath -buildvcs=false \
      -ldflags "-s -w -X github.com/xdockerfile/xdockerfile/version.Version=$VERSION" \
      -o /out/xdockerfile-frontend ./cmd/xdockerfile-frontend

FROM scratch AS prebuilt
COPY bin/xdockerfile-frontend /out/xdockerfile-frontend

FROM ${FRONTEND_BINARY} AS binary

FROM scratch AS release
ARG VERSION=v1.0.0-dev REVISION SOURCE=https://github.com/xdockerfile/xdockerfile
LABEL org.opencontainers.image.title="xdockerfile" \
      org.opencontainers.image.description="BuildKit Dockerfile frontend: IF/ELSE, build args in stage references, POETRY INSTALL" \
      org.opencontainers.image.version="$VERSION" \
      org.opencontainers.image.revision="$REVISION" \
      org.opencontainers.image.source="$SOURCE"
LABEL moby.buildkit.frontend.network.none="true"
LABEL moby.buildkit.frontend.caps="moby.buildkit.frontend.inputs,moby.buildkit.frontend.subrequests,moby.buildkit.frontend.contexts,moby.buildkit.frontend.gitquerystring,moby.buildkit.frontend.contexts.zstd"
COPY --from=binary /out/xdockerfile-frontend /bin/xdockerfile-frontend
ENTRYPOINT ["/bin/xdockerfile-frontend"]
