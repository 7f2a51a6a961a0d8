package lab

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"strings"
)

// What sharing a build cache through a registry needs: more buildkitds, each
// with its own empty store, standing for CI machines that share nothing with
// the lab's but the registry; and a reader of what builds pushed there,
// images and cache exports alike.

// Buildkitd is a buildkitd next to the lab's, configured the same way.
type Buildkitd struct {
	Addr     string // for buildctl --addr or BUILDKIT_HOST
	Buildctl string // the buildctl of the same build as the daemon

	lab  *Lab
	root string
	cmd  *exec.Cmd
}

// StartAnotherBuildkitd starts a buildkitd whose store, Dir/<name>, is new
// and empty; its socket and log are Dir/<name>.sock and Dir/<name>.log.
func (l *Lab) StartAnotherBuildkitd(ctx context.Context, name string) (*Buildkitd, error) {
	return l.StartBuildkitdOf(ctx, l.bkBin, name)
}

// StartBuildkitdOf is StartAnotherBuildkitd for the buildkitd and buildctl
// in bin, which may be of another BuildKit version than the lab's: a daemon
// users run, sharing the lab's registry.
func (l *Lab) StartBuildkitdOf(ctx context.Context, bin, name string) (*Buildkitd, error) {
	root := l.path(name)
	if name == "buildkitd" || name == "" {
		return nil, fmt.Errorf("%q is not a name for another buildkitd", name)
	}
	if _, err := os.Stat(root); err == nil {
		return nil, fmt.Errorf("%s is in use: another buildkitd needs a store of its own", root)
	}
	addr, cmd, err := l.startBuildkitd(ctx, bin, name, root)
	b := &Buildkitd{Addr: addr, Buildctl: filepath.Join(bin, "buildctl"), lab: l, root: root, cmd: cmd}
	if err != nil {
		b.Stop()
		return nil, err
	}
	return b, nil
}

// Stop stops the buildkitd and removes its store.
func (b *Buildkitd) Stop() {
	if b.cmd == nil {
		return
	}
	b.lab.stopProc(b.cmd)
	b.cmd = nil
	unmountUnder(b.root)
	_ = os.RemoveAll(b.root)
}

// Descriptor is an OCI content descriptor, as far as the lab reads them.
type Descriptor struct {
	MediaType string `json:"mediaType"`
	Digest    string `json:"digest"`
	Platform  *struct {
		OS           string `json:"os"`
		Architecture string `json:"architecture"`
	} `json:"platform,omitempty"`
}

// manifest is an image manifest or an index, OCI's or Docker's.
type manifest struct {
	MediaType string       `json:"mediaType"`
	Manifests []Descriptor `json:"manifests"`
	Config    *Descriptor  `json:"config"`
	Layers    []Descriptor `json:"layers"`
}

var manifestTypes = []string{
	"application/vnd.oci.image.index.v1+json",
	"application/vnd.oci.image.manifest.v1+json",
	"application/vnd.docker.distribution.manifest.list.v2+json",
	"application/vnd.docker.distribution.manifest.v2+json",
}

func isManifest(mediaType string) bool {
	for _, m := range manifestTypes {
		if m == mediaType {
			return true
		}
	}
	return false
}

// Blob is one blob of the registry: a manifest, a config or a layer as
// stored (compressed).
type Blob struct {
	Descriptor
	Data []byte
}

// RegistryBlobs returns every blob reachable from ref in the lab's registry,
// each once: ref's manifest or index, whatever it lists, and so on down to
// configs and layers. For a cache export that is the whole export.
func (l *Lab) RegistryBlobs(ctx context.Context, ref string) ([]Blob, error) {
	repo, tag, err := l.splitRef(ref)
	if err != nil {
		return nil, err
	}
	var out []Blob
	seen := map[string]bool{}
	var walk func(d Descriptor) error
	walk = func(d Descriptor) error {
		if d.Digest != "" {
			if seen[d.Digest] {
				return nil
			}
			seen[d.Digest] = true
		}
		if d.Digest != "" && !isManifest(d.MediaType) {
			dt, err := l.registryGet(ctx, repo, "blobs", d.Digest)
			if err != nil {
				return err
			}
			out = append(out, Blob{Descriptor: d, Data: dt})
			return nil
		}
		reference := d.Digest
		if reference == "" {
			reference = tag
		}
		dt, err := l.registryGet(ctx, repo, "manifests", reference)
		if err != nil {
			return err
		}
		var m manifest
		if err := json.Unmarshal(dt, &m); err != nil {
			return fmt.Errorf("%s@%s: %w", repo, reference, err)
		}
		if d.MediaType == "" {
			d.MediaType = m.MediaType
		}
		out = append(out, Blob{Descriptor: d, Data: dt})
		children := append([]Descriptor(nil), m.Manifests...)
		if m.Config != nil {
			children = append(children, *m.Config)
		}
		for _, c := range append(children, m.Layers...) {
			if err := walk(c); err != nil {
				return err
			}
		}
		return nil
	}
	return out, walk(Descriptor{})
}

// Image is a single-platform image in the lab's registry.
type Image struct {
	Ref     string
	Layers  []Descriptor // bottom first
	DiffIDs []string     // the layers' uncompressed digests, from the config
	repo    string
}

// ReadImage reads ref's manifest and config; of an index, it takes the
// linux/amd64 image, or the only one.
func (l *Lab) ReadImage(ctx context.Context, ref string) (*Image, error) {
	repo, reference, err := l.splitRef(ref)
	if err != nil {
		return nil, err
	}
	for range 2 {
		dt, err := l.registryGet(ctx, repo, "manifests", reference)
		if err != nil {
			return nil, err
		}
		var m manifest
		if err := json.Unmarshal(dt, &m); err != nil {
			return nil, fmt.Errorf("%s: %w", ref, err)
		}
		if m.Config == nil {
			reference = ""
			for _, d := range m.Manifests {
				if d.Platform != nil && d.Platform.OS == "linux" && d.Platform.Architecture == "amd64" {
					reference = d.Digest
				}
			}
			if reference == "" && len(m.Manifests) == 1 {
				reference = m.Manifests[0].Digest
			}
			if reference == "" {
				return nil, fmt.Errorf("%s: no linux/amd64 image in the index", ref)
			}
			continue
		}
		cfg, err := l.registryGet(ctx, repo, "blobs", m.Config.Digest)
		if err != nil {
			return nil, err
		}
		var c struct {
			RootFS struct {
				DiffIDs []string `json:"diff_ids"`
			} `json:"rootfs"`
		}
		if err := json.Unmarshal(cfg, &c); err != nil {
			return nil, fmt.Errorf("%s: config: %w", ref, err)
		}
		return &Image{Ref: ref, Layers: m.Layers, DiffIDs: c.RootFS.DiffIDs, repo: repo}, nil
	}
	return nil, fmt.Errorf("%s: an index of indexes", ref)
}

// Files reads files of the image (paths without the leading slash) from
// its layers, top layer first, fetching only as many layers as it takes.
func (l *Lab) Files(ctx context.Context, img *Image, names ...string) (map[string][]byte, error) {
	want := map[string]bool{}
	for _, n := range names {
		want[n] = true
	}
	found := map[string][]byte{}
	for i := len(img.Layers) - 1; i >= 0 && len(found) < len(want); i-- {
		dt, err := l.registryGet(ctx, img.repo, "blobs", img.Layers[i].Digest)
		if err != nil {
			return nil, err
		}
		r, err := Decompress(dt)
		if err != nil {
			return nil, fmt.Errorf("%s: layer %s: %w", img.Ref, img.Layers[i].Digest, err)
		}
		tr := tar.NewReader(bytes.NewReader(r))
		for {
			h, err := tr.Next()
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				return nil, fmt.Errorf("%s: layer %s: %w", img.Ref, img.Layers[i].Digest, err)
			}
			name := strings.TrimPrefix(path.Clean("/"+h.Name), "/")
			if _, done := found[name]; !want[name] || done {
				continue
			}
			content, err := io.ReadAll(tr)
			if err != nil {
				return nil, err
			}
			found[name] = content
		}
	}
	for _, n := range names {
		if _, ok := found[n]; !ok {
			return nil, fmt.Errorf("%s: no file %s", img.Ref, n)
		}
	}
	return found, nil
}

// Decompress returns a gzip stream's content, and anything else as it is.
func Decompress(dt []byte) ([]byte, error) {
	if len(dt) < 2 || dt[0] != 0x1f || dt[1] != 0x8b {
		return dt, nil
	}
	zr, err := gzip.NewReader(bytes.NewReader(dt))
	if err != nil {
		return nil, err
	}
	return io.ReadAll(zr)
}

// splitRef splits a reference into the lab registry's repository and a tag
// or digest.
func (l *Lab) splitRef(ref string) (repo, reference string, err error) {
	rest, ok := strings.CutPrefix(ref, l.Registry+"/")
	if !ok {
		return "", "", fmt.Errorf("%s is not in the lab's registry %s", ref, l.Registry)
	}
	if repo, digest, ok := strings.Cut(rest, "@"); ok {
		return repo, digest, nil
	}
	if i := strings.LastIndex(rest, ":"); i > strings.LastIndex(rest, "/") {
		return rest[:i], rest[i+1:], nil
	}
	return rest, "latest", nil
}

// registryGet fetches a manifest or a blob through the distribution API.
func (l *Lab) registryGet(ctx context.Context, repo, kind, reference string) ([]byte, error) {
	u := "http://" + l.Registry + "/v2/" + repo + "/" + kind + "/" + reference
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, err
	}
	if kind == "manifests" {
		req.Header.Set("Accept", strings.Join(manifestTypes, ", "))
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	dt, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET %s: %s: %s", u, resp.Status, bytes.TrimSpace(dt))
	}
	return dt, nil
}
