# The xdockerfile frontend image: one static binary, FROM scratch.
#
#   docker buildx build -t <registry>/xdockerfile:1 --push .
#
# FRONTEND_BINARY=prebuilt packages bin/xdockerfile-frontend from the
# context instead of compiling it (what `make image` does on a machine with
# no Go base image at hand); the `build` stage is then never even resolved.
ARG GO_VERSION=1.26
ARG FRONTEND_BINARY=build

FROM --platform=$BUILDPLATFORM golang:${GO_VERSION} AS build
WORKDIR /src
ARG TARGETOS TARGETARCH VERSION=v1.0.0-dev
RUN --mount=target=. \
    --mount=type=cache,target=/root/.cache/go-build \
    --mount=type=cache,target=/go/pkg/mod \
    CGO_ENABLED=0 GOOS=$TARGETOS GOARCH=$TARGETARCH go build -trimpath \
      -ldflags "-s -w -X github.com/xdockerfile/xdockerfile/version.Version=$VERSION" \
      -o /out/xdockerfile-frontend ./cmd/xdockerfile-frontend

FROM scratch AS prebuilt
COPY bin/xdockerfile-frontend /out/xdockerfile-frontend

FROM ${FRONTEND_BINARY} AS binary

FROM scratch AS release
LABEL moby.buildkit.frontend.network.none="true"
LABEL moby.buildkit.frontend.caps="moby.buildkit.frontend.inputs,moby.buildkit.frontend.subrequests,moby.buildkit.frontend.contexts,moby.buildkit.frontend.gitquerystring,moby.buildkit.frontend.contexts.zstd"
COPY --from=binary /out/xdockerfile-frontend /bin/xdockerfile-frontend
ENTRYPOINT ["/bin/xdockerfile-frontend"]
