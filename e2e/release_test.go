package e2e

import (
	"archive/tar"
	"bytes"
	"context"
	"debug/elf"
	"encoding/json"
	"errors"
	"io"
	"io/fs"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	ocispecs "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/xdockerfile/xdockerfile/internal/lab"
)

// TestRelease builds the release image with the release Dockerfile as
// `make release` does — linux/amd64 and linux/arm64 cross-compiled on the
// build platform, OCI labels, provenance and SBOM attestations — with no
// network (every step runs with network mode none, and the provenance says
// hermetic): the Go toolchain image is this machine's Go, the modules come
// from a module proxy made of this machine's module cache, the build cache
// starts from one compiled here. Then it builds
// the same release again through the image it just made (`# syntax=` by
// digest), every step run again, and gets the very same images.
func TestRelease(t *testing.T) {
	start := time.Now()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Minute)
	defer cancel()
	platforms := []string{"linux/amd64", "linux/arm64"}
	src := snapshotSource(t, repoRoot)
	proxy := filepath.Join(t.TempDir(), "gomodproxy")
	buildCache, err := lab.ReleaseGoBuildCache()
	if err != nil {
		t.Fatal(err)
	}
	// Cold (a new machine, or new dependencies) this compiles both
	// platforms once, minutes on two cores; warm it takes seconds.
	if err := theLab.PrepareGoBuild(ctx, src, "./cmd/xdockerfile-frontend", platforms, proxy, buildCache); err != nil {
		t.Fatal(err)
	}
	t.Logf("module proxy and build cache %s ready in %s", buildCache, time.Since(start).Round(time.Millisecond))
	goImage, goVersion, err := theLab.PublishGo(ctx)
	if err != nil {
		t.Fatal(err)
	}
	scanner := publishScanner(ctx, t)
	t.Logf("toolchain image %s and SBOM scanner ready in %s", goImage, time.Since(start).Round(time.Millisecond))

	ref := theLab.Registry + "/xdockerfile-release:1.2.3"
	rel := lab.Release{
		Context:         src,
		Platforms:       platforms,
		Version:         "v1.2.3",
		Revision:        "0123456789abcdef0123456789abcdef01234567",
		Source:          "https://git.example.com/xdockerfile",
		Licenses:        "LicenseRef-lab",
		GoImage:         goImage,
		GoVersion:       goVersion,
		ModuleProxy:     proxy,
		GoBuildCache:    buildCache,
		SBOM:            scanner,
		Offline:         true,
		SourceDateEpoch: 1700000000,
		Names:           []string{ref},
		Push:            true,
	}
	step := time.Now()
	digest, _, err := theLab.BuildRelease(ctx, rel)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("release %s@%s built by BuildKit's frontend in %s", ref, digest, time.Since(step).Round(time.Millisecond))
	first := checkRelease(ctx, t, ref, rel)

	// The same release through the frontend just built, pinned by digest,
	// every step run again (--no-cache; the Go build cache mount starts from
	// the same seed).
	frontend := ref + "@" + digest
	dockerfile, err := os.ReadFile(filepath.Join(src, "Dockerfile"))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "Dockerfile"), append([]byte("# syntax="+frontend+"\n"), dockerfile...), 0o644); err != nil {
		t.Fatal(err)
	}
	again := rel
	again.Dockerfile = dir
	again.Names = []string{theLab.Registry + "/xdockerfile-release:1.2.3-again"}
	again.NoCache = true
	step = time.Now()
	_, log, err := theLab.BuildRelease(ctx, again)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("rebuilt through # syntax=%s in %s", frontend, time.Since(step).Round(time.Millisecond))
	assertContains(t, log, "resolve image config for docker-image://"+frontend)
	second := checkRelease(ctx, t, again.Names[0], again)
	for _, p := range platforms {
		if first[p].image != second[p].image {
			t.Errorf("%s: the image built through the frontend is %s, BuildKit's frontend made %s", p, second[p].image, first[p].image)
		}
		if first[p].frontend != "dockerfile.v0" || first[p].source != "" || second[p].source != frontend {
			t.Errorf("%s: provenance: first build by %q, second through %q; want dockerfile.v0, then %s", p, first[p].frontend, second[p].source, frontend)
		}
	}
	t.Logf("TestRelease: %s in all", time.Since(start).Round(time.Millisecond))
}

// platformResult is what checkRelease found for one platform.
type platformResult struct {
	image    string // the image manifest's digest
	frontend string // the frontend the provenance names
	source   string // the frontend image it names (a # syntax= build's)
}

// checkRelease checks the index at ref against what rel asked for: one
// image per platform, each a static binary for its architecture with the
// release labels, and for each an attestation manifest with a max-mode
// provenance and an SBOM of the image's files.
func checkRelease(ctx context.Context, t *testing.T, ref string, rel lab.Release) map[string]platformResult {
	t.Helper()
	blobs, err := theLab.RegistryBlobs(ctx, ref)
	if err != nil {
		t.Fatal(err)
	}
	byDigest := map[string][]byte{}
	var index ocispecs.Index
	for _, b := range blobs {
		byDigest[b.Digest] = b.Data
		if b.Digest == "" {
			decode(t, b.Data, &index)
		}
	}
	if index.MediaType != ocispecs.MediaTypeImageIndex {
		t.Fatalf("%s is a %q, not an OCI image index", ref, index.MediaType)
	}
	images := map[string]ocispecs.Descriptor{}
	attestations := map[string]ocispecs.Descriptor{} // by the digest of the image they are about
	for _, d := range index.Manifests {
		if d.Annotations["vnd.docker.reference.type"] == "attestation-manifest" {
			attestations[d.Annotations["vnd.docker.reference.digest"]] = d
			continue
		}
		if d.Platform == nil {
			t.Fatalf("%s: an image without a platform: %+v", ref, d)
		}
		images[d.Platform.OS+"/"+d.Platform.Architecture] = d
	}
	if got := slices.Sorted(maps.Keys(images)); !slices.Equal(got, rel.Platforms) {
		t.Fatalf("%s has images for %v, want %v", ref, got, rel.Platforms)
	}

	out := map[string]platformResult{}
	for _, p := range rel.Platforms {
		d := images[p]
		var m ocispecs.Manifest
		decode(t, byDigest[d.Digest.String()], &m)
		var cfg ocispecs.Image
		decode(t, byDigest[m.Config.Digest.String()], &cfg)
		if cfg.OS+"/"+cfg.Architecture != p {
			t.Errorf("%s: the config says %s/%s", p, cfg.OS, cfg.Architecture)
		}
		if cfg.Created == nil || cfg.Created.Unix() != rel.SourceDateEpoch {
			t.Errorf("%s: created %v, want SOURCE_DATE_EPOCH %d", p, cfg.Created, rel.SourceDateEpoch)
		}
		for k, want := range map[string]string{
			ocispecs.AnnotationTitle:    "xdockerfile",
			ocispecs.AnnotationVersion:  rel.Version,
			ocispecs.AnnotationRevision: rel.Revision,
			ocispecs.AnnotationSource:   rel.Source,
			ocispecs.AnnotationLicenses: rel.Licenses,
		} {
			if got := cfg.Config.Labels[k]; got != want {
				t.Errorf("%s: label %s=%q, want %q", p, k, got, want)
			}
		}
		if !strings.Contains(cfg.Config.Labels["moby.buildkit.frontend.caps"], "moby.buildkit.frontend.contexts") {
			t.Errorf("%s: no frontend capabilities label: %v", p, cfg.Config.Labels)
		}
		if !slices.Equal(cfg.Config.Entrypoint, []string{"/bin/xdockerfile-frontend"}) {
			t.Errorf("%s: entrypoint %v", p, cfg.Config.Entrypoint)
		}
		bin, mtime := imageFile(t, byDigest, m, "bin/xdockerfile-frontend")
		if mtime.Unix() != rel.SourceDateEpoch {
			t.Errorf("%s: the binary's time is %s, want SOURCE_DATE_EPOCH %d", p, mtime, rel.SourceDateEpoch)
		}
		checkBinary(t, p, bin, rel.Version)

		att, ok := attestations[d.Digest.String()]
		if !ok {
			t.Fatalf("%s: no attestation manifest for %s", p, d.Digest)
		}
		res := checkAttestations(t, p, byDigest, att, d, rel)
		res.image = d.Digest.String()
		out[p] = res
	}
	return out
}

// checkBinary checks the ELF header of a platform's binary: 64-bit, the
// platform's machine (e_machine), statically linked; the host's own runs.
func checkBinary(t *testing.T, platform string, bin []byte, version string) {
	t.Helper()
	want := map[string]elf.Machine{"linux/amd64": elf.EM_X86_64, "linux/arm64": elf.EM_AARCH64}[platform]
	f, err := elf.NewFile(bytes.NewReader(bin))
	if err != nil {
		t.Fatalf("%s: the binary is not ELF: %v", platform, err)
	}
	if f.Class != elf.ELFCLASS64 || f.Machine != want || f.Type != elf.ET_EXEC {
		t.Errorf("%s: ELF %s %s %s, want ELFCLASS64 %s ET_EXEC", platform, f.Class, f.Machine, f.Type, want)
	}
	for _, prog := range f.Progs {
		if prog.Type == elf.PT_INTERP || prog.Type == elf.PT_DYNAMIC {
			t.Errorf("%s: the binary is dynamically linked (%s)", platform, prog.Type)
		}
	}
	if platform != "linux/"+runtime.GOARCH {
		return
	}
	path := filepath.Join(t.TempDir(), "xdockerfile-frontend")
	if err := os.WriteFile(path, bin, 0o755); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(path, "--version").CombinedOutput()
	if err != nil || strings.TrimSpace(string(out)) != "xdockerfile-frontend "+version {
		t.Errorf("%s: %s --version: %q (%v), want the version %s", platform, path, out, err, version)
	}
}

// checkAttestations checks a platform's attestation manifest: a SLSA v1
// provenance in max mode about the image, the build args and the Go image
// it used, and an SBOM whose scan saw the binary.
func checkAttestations(t *testing.T, platform string, byDigest map[string][]byte, att, image ocispecs.Descriptor, rel lab.Release) platformResult {
	t.Helper()
	var m ocispecs.Manifest
	decode(t, byDigest[att.Digest.String()], &m)
	statements := map[string][]byte{}
	for _, l := range m.Layers {
		statements[l.Annotations["in-toto.io/predicate-type"]] = byDigest[l.Digest.String()]
	}
	prov, ok := statements["https://slsa.dev/provenance/v1"]
	if !ok {
		t.Fatalf("%s: no SLSA v1 provenance among %v", platform, slices.Sorted(maps.Keys(statements)))
	}
	var p struct {
		PredicateType string `json:"predicateType"`
		Subject       []struct {
			Digest map[string]string `json:"digest"`
		} `json:"subject"`
		Predicate struct {
			BuildDefinition struct {
				ExternalParameters struct {
					Request struct {
						Frontend string            `json:"frontend"`
						Args     map[string]string `json:"args"`
					} `json:"request"`
				} `json:"externalParameters"`
				InternalParameters struct {
					BuildConfig *struct {
						Definition []struct {
							Op struct {
								Op struct { // pb.Op's oneof
									Exec *struct {
										Meta struct {
											Args []string `json:"args"`
										} `json:"meta"`
										Network int `json:"network"`
									} `json:"exec"`
								} `json:"Op"`
							} `json:"op"`
						} `json:"llbDefinition"`
					} `json:"buildConfig"`
				} `json:"internalParameters"`
				ResolvedDependencies []struct {
					URI string `json:"uri"`
				} `json:"resolvedDependencies"`
			} `json:"buildDefinition"`
		} `json:"predicate"`
	}
	decode(t, prov, &p)
	if len(p.Subject) == 0 || "sha256:"+p.Subject[0].Digest["sha256"] != image.Digest.String() {
		t.Errorf("%s: the provenance is about %v, not the image %s", platform, p.Subject, image.Digest)
	}
	def := p.Predicate.BuildDefinition
	if def.InternalParameters.BuildConfig == nil || len(def.InternalParameters.BuildConfig.Definition) == 0 {
		t.Fatalf("%s: the provenance has no build steps: not mode=max", platform)
	}
	// The provenance never says hermetic when there are local sources;
	// what it can say is that no step had network.
	runs := 0
	for _, step := range def.InternalParameters.BuildConfig.Definition {
		if e := step.Op.Op.Exec; e != nil {
			runs++
			if e.Network != 2 { // pb.NetMode_NONE
				t.Errorf("%s: a step with network mode %d: %v", platform, e.Network, e.Meta.Args)
			}
		}
	}
	if runs == 0 {
		t.Errorf("%s: the provenance's build steps have no RUN", platform)
	}
	args := def.ExternalParameters.Request.Args
	if args["build-arg:VERSION"] != rel.Version || args["build-arg:REVISION"] != rel.Revision {
		t.Errorf("%s: the provenance's build args: %v", platform, args)
	}
	var uris []string
	for _, d := range def.ResolvedDependencies {
		uris = append(uris, d.URI)
	}
	goRepo := strings.TrimSuffix(rel.GoImage, ":"+rel.GoVersion)
	if !slices.ContainsFunc(uris, func(u string) bool { return strings.Contains(u, goRepo) }) {
		t.Errorf("%s: the provenance's dependencies %v do not name the Go image %s", platform, uris, rel.GoImage)
	}

	sbom, ok := statements["https://spdx.dev/Document"]
	if !ok {
		t.Errorf("%s: no SBOM among %v", platform, slices.Sorted(maps.Keys(statements)))
	} else if !strings.Contains(string(sbom), "./bin/xdockerfile-frontend") {
		t.Errorf("%s: the SBOM scan did not see the binary: %s", platform, sbom)
	}
	return platformResult{frontend: def.ExternalParameters.Request.Frontend, source: args["source"]}
}

// imageFile reads one file of a single-layer-or-more image from its blobs.
func imageFile(t *testing.T, byDigest map[string][]byte, m ocispecs.Manifest, name string) ([]byte, time.Time) {
	t.Helper()
	for i := len(m.Layers) - 1; i >= 0; i-- {
		dt, err := lab.Decompress(byDigest[m.Layers[i].Digest.String()])
		if err != nil {
			t.Fatal(err)
		}
		tr := tar.NewReader(bytes.NewReader(dt))
		for {
			h, err := tr.Next()
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				t.Fatal(err)
			}
			if strings.TrimPrefix(h.Name, "/") == name {
				content, err := io.ReadAll(tr)
				if err != nil {
					t.Fatal(err)
				}
				return content, h.ModTime
			}
		}
	}
	t.Fatalf("no %s in the image", name)
	return nil, time.Time{}
}

// snapshotSource copies the source tree, without .git and bin, so that
// both builds read the same source.
func snapshotSource(t *testing.T, root string) string {
	t.Helper()
	dst := filepath.Join(t.TempDir(), "src")
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		if d.IsDir() && (rel == ".git" || rel == "bin") {
			return filepath.SkipDir
		}
		target := filepath.Join(dst, rel)
		switch {
		case d.IsDir():
			return os.MkdirAll(target, 0o755)
		case d.Type()&fs.ModeSymlink != 0:
			link, err := os.Readlink(p)
			if err != nil {
				return err
			}
			return os.Symlink(link, target)
		case d.Type().IsRegular():
			info, err := d.Info()
			if err != nil {
				return err
			}
			dt, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			return os.WriteFile(target, dt, info.Mode().Perm())
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return dst
}

// publishScanner pushes the stand-in SBOM generator (scannerScript) and
// returns its reference.
func publishScanner(ctx context.Context, t *testing.T) string {
	t.Helper()
	dir := project(t, map[string]string{
		"Dockerfile": "FROM 127.0.0.1:5000/busybox\nCOPY scan.sh /scan.sh\nCMD [\"/bin/sh\", \"/scan.sh\"]\n",
		"scan.sh":    scannerScript,
	})
	ref := theLab.Registry + "/release-scanner:1"
	if _, err := theLab.BuildctlBuild(ctx, "--frontend", "dockerfile.v0", "--local", "context="+dir,
		"--local", "dockerfile="+dir, "--output", "type=image,name="+ref+",push=true"); err != nil {
		t.Fatal(err)
	}
	return ref
}

func decode(t *testing.T, dt []byte, v any) {
	t.Helper()
	if err := json.Unmarshal(dt, v); err != nil {
		t.Fatalf("%v: %s", err, dt)
	}
}
