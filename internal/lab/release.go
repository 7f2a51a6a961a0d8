package lab

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// What building the release image with the release Dockerfile needs when
// nothing may come from the network: a Go toolchain image made of this
// machine's Go, and a Go module proxy made of this machine's module cache.

// PublishGo pushes <registry>/golang:<major.minor>: this machine's Go
// toolchain (`go env GOROOT`) at /usr/local/go on the busybox image, set up
// as the golang images are (GOPATH=/go, GOTOOLCHAIN=local). It stands in for
// golang:<GO_VERSION> through a named context.
func (l *Lab) PublishGo(ctx context.Context) (ref, goVersion string, err error) {
	if l.Busybox == "" {
		return "", "", fmt.Errorf("the busybox image is not published")
	}
	env, err := l.Run(ctx, "go", "env", "GOROOT", "GOVERSION")
	if err != nil {
		return "", "", err
	}
	f := strings.Fields(env)
	if len(f) != 2 {
		return "", "", fmt.Errorf("go env GOROOT GOVERSION: %q", env)
	}
	goroot, full := f[0], strings.TrimPrefix(f[1], "go")
	parts := strings.SplitN(full, ".", 3)
	if len(parts) < 2 {
		return "", "", fmt.Errorf("unexpected Go version %q", f[1])
	}
	goVersion = parts[0] + "." + parts[1]
	dir, err := os.MkdirTemp(l.Dir, "go-dockerfile-")
	if err != nil {
		return "", "", err
	}
	defer os.RemoveAll(dir)
	df := "FROM " + l.Busybox + "\n" +
		"COPY . /usr/local/go\n" +
		"RUN mkdir -p -m 1777 /tmp && mkdir -p /go/bin /root\n" +
		"ENV HOME=/root GOPATH=/go GOTOOLCHAIN=local GOLANG_VERSION=" + full + " PATH=/go/bin:/usr/local/go/bin:/bin\n"
	if err := os.WriteFile(filepath.Join(dir, "Dockerfile"), []byte(df), 0o644); err != nil {
		return "", "", err
	}
	ref = l.Registry + "/golang:" + goVersion
	// Uncompressed: the layer only travels over loopback, and gzip of the
	// toolchain would cost more than the transfer.
	if _, err := l.BuildctlBuild(ctx, "--frontend", "dockerfile.v0",
		"--local", "context="+goroot, "--local", "dockerfile="+dir,
		"--output", "type=image,name="+ref+",push=true,compression=uncompressed"); err != nil {
		return "", "", err
	}
	return ref, goVersion, nil
}

// PrepareGoBuild readies what the release build's Go step reads instead
// of the network and a warm cache, for building pkg of the module at root on
// each of platforms ("linux/arm64"…):
//
//   - proxy, which must not exist, becomes a Go module proxy for
//     GOPROXY=file://… holding every module the build asks for, taken from
//     this machine's module cache (only what is missing there from its
//     GOPROXY);
//   - buildCache, a GOCACHE kept between runs, gets every package compiled
//     as the build compiles it (-trimpath, CGO_ENABLED=0), so that a build
//     seeded with it only links. With -trimpath a package's cache key holds
//     neither its directory nor GOROOT's, so what this machine's toolchain
//     compiled here serves the same toolchain in the build.
func (l *Lab) PrepareGoBuild(ctx context.Context, root, pkg string, platforms []string, proxy, buildCache string) error {
	env, err := l.Run(ctx, "go", "env", "GOMODCACHE", "GOPROXY")
	if err != nil {
		return err
	}
	f := strings.Fields(env)
	if len(f) != 2 {
		return fmt.Errorf("go env GOMODCACHE GOPROXY: %q", env)
	}
	from := "file://" + filepath.Join(f[0], "cache", "download") + "," + f[1]
	if err := os.MkdirAll(buildCache, 0o755); err != nil {
		return err
	}
	modcache, err := os.MkdirTemp(filepath.Dir(proxy), "gomodcache-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(modcache)
	for _, p := range platforms {
		goos, goarch, ok := strings.Cut(p, "/")
		if !ok {
			return fmt.Errorf("platform %q is not os/arch", p)
		}
		goarch, _, _ = strings.Cut(goarch, "/")
		// go list loads the module graph and the packages as go build
		// does, so it fetches exactly the modules the build asks for, and
		// -export compiles them as go build does, without linking.
		if _, err := l.RunEnv(ctx, []string{"GOMODCACHE=" + modcache, "GOPROXY=" + from, "GOCACHE=" + buildCache,
			"GOFLAGS=-mod=readonly -modcacherw", "GOOS=" + goos, "GOARCH=" + goarch, "CGO_ENABLED=0"},
			"go", "list", "-C", root, "-trimpath", "-deps", "-export", "-f", "{{.ImportPath}}", pkg); err != nil {
			return err
		}
	}
	return os.Rename(filepath.Join(modcache, "cache", "download"), proxy)
}

// ReleaseGoBuildCache is where PrepareGoBuild's build cache is kept between
// runs: <user cache dir>/xdockerfile/release-go-build. Go trims entries
// unused for five days.
func ReleaseGoBuildCache() (string, error) {
	dir, err := os.UserCacheDir()
	if err != nil {
		return "", err
	}
	return filepath.Join(dir, "xdockerfile", "release-go-build"), nil
}

// Release is a build of the release image with the release Dockerfile.
type Release struct {
	Context    string   // the source tree: go.mod, go.sum and the packages
	Dockerfile string   // the directory holding the Dockerfile; empty: Context
	Platforms  []string // "linux/amd64"…
	Version    string   // vMAJOR.MINOR.PATCH…, linked into the binary and labelled
	Revision   string   // the source revision, labelled
	Source     string   // the source repository's URL, labelled; empty: the Dockerfile's
	Licenses   string   // an SPDX expression, labelled when not empty

	// GoImage stands in for golang:<GoVersion> (PublishGo makes one);
	// empty pulls golang:<GO_VERSION>.
	GoImage, GoVersion string
	// ModuleProxy is a module proxy PrepareGoBuild made, mounted for
	// GOPROXY=file:///gomodproxy; empty lets the build use the network.
	ModuleProxy string
	// GoBuildCache is a GOCACHE the Go build cache mount starts from
	// (PrepareGoBuild warms one); empty starts from the daemon's.
	GoBuildCache string
	// SBOM is the SBOM generator image: empty for no SBOM, "default" for
	// BuildKit's own default (docker/buildkit-syft-scanner).
	SBOM string
	// Offline runs every step without network (force-network-mode=none).
	Offline bool
	// SourceDateEpoch, when not 0, sets image times and clamps file times,
	// so that the same source makes the same images.
	SourceDateEpoch int64

	Names      []string // image names
	Push       bool     // push them
	OCIArchive string   // instead of an image: an OCI layout tarball here
	NoCache    bool     // rebuild every step
}

// BuildRelease runs the build and returns the digest of the image index it
// made, and the log.
func (l *Lab) BuildRelease(ctx context.Context, r Release) (digest, log string, err error) {
	dockerfile := r.Dockerfile
	if dockerfile == "" {
		dockerfile = r.Context
	}
	meta, err := os.CreateTemp(l.Dir, "release-metadata-")
	if err != nil {
		return "", "", err
	}
	meta.Close()
	defer os.Remove(meta.Name())

	args := []string{"--frontend", "dockerfile.v0",
		"--local", "context=" + r.Context, "--local", "dockerfile=" + dockerfile,
		"--opt", "platform=" + strings.Join(r.Platforms, ","),
		"--opt", "build-arg:VERSION=" + r.Version,
		"--opt", "build-arg:REVISION=" + r.Revision,
		"--opt", "attest:provenance=mode=max",
		"--metadata-file", meta.Name()}
	if r.Source != "" {
		args = append(args, "--opt", "build-arg:SOURCE="+r.Source)
	}
	if r.Licenses != "" {
		args = append(args, "--opt", "label:org.opencontainers.image.licenses="+r.Licenses)
	}
	if r.GoImage != "" {
		args = append(args, "--opt", "build-arg:GO_VERSION="+r.GoVersion,
			"--opt", "context:golang:"+r.GoVersion+"=docker-image://"+r.GoImage)
	}
	if r.ModuleProxy != "" {
		args = append(args, "--opt", "build-arg:GOPROXY=file:///gomodproxy",
			"--opt", "context:gomodproxy=local:gomodproxy", "--local", "gomodproxy="+r.ModuleProxy)
	}
	if r.GoBuildCache != "" {
		args = append(args, "--opt", "context:gocache=local:gocache", "--local", "gocache="+r.GoBuildCache)
	}
	switch r.SBOM {
	case "":
	case "default":
		args = append(args, "--opt", "attest:sbom=")
	default:
		args = append(args, "--opt", "attest:sbom=generator="+r.SBOM)
	}
	if r.SourceDateEpoch != 0 {
		args = append(args, "--opt", "build-arg:SOURCE_DATE_EPOCH="+strconv.FormatInt(r.SourceDateEpoch, 10))
	}
	if r.Offline {
		args = append(args, "--opt", "force-network-mode=none")
	}
	if r.NoCache {
		args = append(args, "--no-cache")
	}
	out := "rewrite-timestamp=true"
	if len(r.Names) > 0 {
		out += `,"name=` + strings.Join(r.Names, ",") + `"`
	}
	if r.OCIArchive != "" {
		out = "type=oci,dest=" + r.OCIArchive + "," + out
	} else {
		out = "type=image," + out + ",push=" + strconv.FormatBool(r.Push)
	}
	log, err = l.BuildctlBuild(ctx, append(args, "--output", out)...)
	if err != nil {
		return "", log, err
	}
	dt, err := os.ReadFile(meta.Name())
	if err != nil {
		return "", log, err
	}
	var m struct {
		Digest string `json:"containerimage.digest"`
	}
	if err := json.Unmarshal(dt, &m); err != nil || m.Digest == "" {
		return "", log, fmt.Errorf("no image digest in the build's metadata %s (%v)", dt, err)
	}
	return m.Digest, log, nil
}

// PlatformImages returns the images of the index ref in the lab's registry
// by platform ("linux/arm64"), leaving attestation manifests out.
func (l *Lab) PlatformImages(ctx context.Context, ref string) (map[string]Descriptor, error) {
	repo, reference, err := l.splitRef(ref)
	if err != nil {
		return nil, err
	}
	dt, err := l.registryGet(ctx, repo, "manifests", reference)
	if err != nil {
		return nil, err
	}
	var idx manifest
	if err := json.Unmarshal(dt, &idx); err != nil {
		return nil, fmt.Errorf("%s: %w", ref, err)
	}
	out := map[string]Descriptor{}
	for _, d := range idx.Manifests {
		if d.Platform == nil || d.Platform.OS == "unknown" {
			continue
		}
		out[d.Platform.OS+"/"+d.Platform.Architecture] = d
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%s is not an index of images", ref)
	}
	return out, nil
}
