// Command release is `make release`: it builds the frontend's release image
// for linux/amd64 and linux/arm64 with the release Dockerfile, under a
// buildkitd and a loopback registry of its own, with this machine's Go
// toolchain and module cache (no network needed for the build), provenance
// (mode=max) and, on request, SBOM attestations. Before publishing it
// builds the release once more through the image it just made (`# syntax=`
// by digest) and requires the very same images. Then it pushes the image
// under the chosen name with its version tags (-push), or writes an OCI
// layout archive.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/xdockerfile/xdockerfile/internal/lab"
)

func main() {
	var o options
	flag.StringVar(&o.image, "image", "", "the image name, without a tag: registry.example.com/xdockerfile")
	flag.StringVar(&o.version, "version", "v1.0.0-dev", "the version: vMAJOR.MINOR.PATCH tags MAJOR.MINOR.PATCH, MAJOR.MINOR and MAJOR; anything else only itself")
	flag.BoolVar(&o.push, "push", false, "push to the image's registry (credentials from ~/.docker/config.json); otherwise write -out")
	flag.StringVar(&o.out, "out", "", "the OCI layout archive written without -push (default bin/xdockerfile-<version>.oci.tar)")
	flag.StringVar(&o.platforms, "platforms", "linux/amd64,linux/arm64", "the platforms")
	flag.StringVar(&o.sbom, "sbom", "", `SBOM generator image: "default" for BuildKit's (docker/buildkit-syft-scanner, needs Docker Hub), empty for none`)
	flag.StringVar(&o.licenses, "licenses", "", "SPDX expression for org.opencontainers.image.licenses (not labelled when empty)")
	flag.StringVar(&o.source, "source", "", "org.opencontainers.image.source (default: the Dockerfile's)")
	flag.StringVar(&o.gocache, "gocache", "", "the Go build cache the build starts from, compiled here first (default <user cache dir>/xdockerfile/release-go-build)")
	flag.Parse()
	if err := run(o); err != nil {
		fmt.Fprintln(os.Stderr, "release:", err)
		os.Exit(1)
	}
}

type options struct {
	image, version, out, platforms, sbom, licenses, source, gocache string
	push                                                            bool
}

func step(format string, args ...any) { fmt.Printf("\n==> "+format+"\n", args...) }

func run(o options) error {
	if o.image == "" || strings.ContainsAny(o.image, "@") || regexp.MustCompile(`:[^/]*$`).MatchString(o.image) {
		return fmt.Errorf("-image NAME is required, without tag or digest (got %q)", o.image)
	}
	ctx, cancel := signal.NotifyContext(context.Background(), os.Interrupt)
	defer cancel()
	root, err := os.Getwd()
	if err != nil {
		return err
	}
	tags := versionTags(o.version)
	var names []string
	for _, tag := range tags {
		names = append(names, o.image+":"+tag)
	}

	revision, err := git(root, "rev-parse", "HEAD")
	if err != nil {
		return err
	}
	if dirty, _ := git(root, "status", "--porcelain"); dirty != "" {
		fmt.Fprintln(os.Stderr, "release: warning: the working tree has uncommitted changes; they are built, the revision label names", revision)
	}
	epoch, err := git(root, "log", "-1", "--format=%ct")
	if err != nil {
		return err
	}
	sourceDateEpoch, err := strconv.ParseInt(epoch, 10, 64)
	if err != nil {
		return fmt.Errorf("commit time %q: %w", epoch, err)
	}

	step("starting a registry and buildkitd")
	l, err := lab.Start(ctx, lab.Options{BuildkitBin: os.Getenv("XDOCKERFILE_BUILDKIT_BIN")})
	if err != nil {
		return err
	}
	defer l.Close()
	platforms := strings.Split(o.platforms, ",")

	step("the Go toolchain image (this machine's Go), a module proxy (this machine's module cache) and a build cache")
	if err := l.PublishBusybox(ctx); err != nil {
		return err
	}
	goImage, goVersion, err := l.PublishGo(ctx)
	if err != nil {
		return err
	}
	proxy := filepath.Join(l.Dir, "gomodproxy")
	if o.gocache == "" {
		if o.gocache, err = lab.ReleaseGoBuildCache(); err != nil {
			return err
		}
	}
	if err := l.PrepareGoBuild(ctx, root, "./cmd/xdockerfile-frontend", platforms, proxy, o.gocache); err != nil {
		return err
	}
	fmt.Println("    ", goImage)

	rel := lab.Release{
		Context: root, Platforms: platforms,
		Version: o.version, Revision: revision, Source: o.source, Licenses: o.licenses,
		GoImage: goImage, GoVersion: goVersion, ModuleProxy: proxy, GoBuildCache: o.gocache,
		SBOM: o.sbom, SourceDateEpoch: sourceDateEpoch, Offline: true,
		Names: []string{l.Registry + "/xdockerfile:" + tags[0]}, Push: true,
	}
	step("building %s for %s (SOURCE_DATE_EPOCH=%d, revision %s)", o.version, o.platforms, sourceDateEpoch, revision)
	start := time.Now()
	digest, _, err := l.BuildRelease(ctx, rel)
	if err != nil {
		return err
	}
	fmt.Printf("    %s@%s in %s\n", rel.Names[0], digest, time.Since(start).Round(time.Second))
	first, err := l.PlatformImages(ctx, rel.Names[0])
	if err != nil {
		return err
	}

	frontend := rel.Names[0] + "@" + digest
	step("building it again through # syntax=%s", frontend)
	if err := selfHosted(ctx, l, rel, frontend, first); err != nil {
		return err
	}

	rel.Names = names
	if o.push {
		step("pushing %s", strings.Join(names, ", "))
		rel.Push = true
	} else {
		if o.out == "" {
			o.out = filepath.Join(root, "bin", "xdockerfile-"+tags[0]+".oci.tar")
		}
		if err := os.MkdirAll(filepath.Dir(o.out), 0o755); err != nil {
			return err
		}
		step("writing %s", o.out)
		rel.Push, rel.OCIArchive = false, o.out
	}
	digest, _, err = l.BuildRelease(ctx, rel)
	if err != nil {
		return err
	}
	fmt.Printf("\n%s@%s\n\npin it with one of:\n", o.image, digest)
	for _, name := range names {
		fmt.Printf("    # syntax=%s\n", name)
	}
	fmt.Printf("    # syntax=%s@%s\n", o.image, digest)
	return nil
}

// selfHosted builds rel with the release Dockerfile headed by
// `# syntax=frontend` and requires the same image for every platform.
func selfHosted(ctx context.Context, l *lab.Lab, rel lab.Release, frontend string, want map[string]lab.Descriptor) error {
	dockerfile, err := os.ReadFile(filepath.Join(rel.Context, "Dockerfile"))
	if err != nil {
		return err
	}
	dir, err := os.MkdirTemp(l.Dir, "release-syntax-")
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, "Dockerfile"), append([]byte("# syntax="+frontend+"\n"), dockerfile...), 0o644); err != nil {
		return err
	}
	rel.Dockerfile = dir
	rel.Names = []string{rel.Names[0] + "-selfhosted"}
	rel.NoCache = true
	if _, _, err := l.BuildRelease(ctx, rel); err != nil {
		return err
	}
	got, err := l.PlatformImages(ctx, rel.Names[0])
	if err != nil {
		return err
	}
	for p, d := range want {
		if got[p].Digest != d.Digest {
			return fmt.Errorf("%s: built through the frontend: %s; built by BuildKit's: %s", p, got[p].Digest, d.Digest)
		}
		fmt.Printf("    %s %s: the same\n", p, d.Digest)
	}
	return nil
}

// git runs git in dir and returns its output, trimmed.
func git(dir string, args ...string) (string, error) {
	out, err := exec.Command("git", append([]string{"-C", dir}, args...)...).Output()
	if err != nil {
		return "", fmt.Errorf("git %s: %w", strings.Join(args, " "), err)
	}
	return strings.TrimSpace(string(out)), nil
}

var semver = regexp.MustCompile(`^v?(\d+)\.(\d+)\.(\d+)$`)

// versionTags are the tags a version is published under: a release
// vMAJOR.MINOR.PATCH under MAJOR.MINOR.PATCH, MAJOR.MINOR and MAJOR, so that
// `:1` and `:1.4` follow the newest release; anything else (a pre-release,
// a development version) only under itself, without the v.
func versionTags(version string) []string {
	if m := semver.FindStringSubmatch(version); m != nil {
		return []string{m[1] + "." + m[2] + "." + m[3], m[1] + "." + m[2], m[1]}
	}
	return []string{strings.TrimPrefix(version, "v")}
}
