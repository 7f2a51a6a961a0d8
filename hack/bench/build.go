package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/xdockerfile/xdockerfile/internal/lab"
)

// vertex is what buildctl's rawjson progress says about one vertex.
type vertex struct {
	Digest    string     `json:"digest"`
	Name      string     `json:"name"`
	Started   *time.Time `json:"started"`
	Completed *time.Time `json:"completed"`
	Cached    bool       `json:"cached"`
	Error     string     `json:"error"`
}

// buildResult is one `buildctl build`.
type buildResult struct {
	wall     time.Duration
	vertices map[string]*vertex // by digest, merged over the stream
}

// build runs `buildctl build --progress=rawjson` with the dockerfile.v0
// frontend (which hands a # syntax= file to its frontend image).
func build(ctx context.Context, l *lab.Lab, contextDir, dockerfileDir string, args ...string) (*buildResult, error) {
	all := append([]string{"--addr", l.Addr, "build", "--progress=rawjson", "--frontend", "dockerfile.v0",
		"--local", "context=" + contextDir, "--local", "dockerfile=" + dockerfileDir}, args...)
	cmd := exec.CommandContext(ctx, l.Buildctl, all...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	start := time.Now()
	err := cmd.Run()
	res := &buildResult{wall: time.Since(start), vertices: map[string]*vertex{}}
	sc := bufio.NewScanner(&stderr)
	sc.Buffer(make([]byte, 1<<20), 64<<20)
	var other []string
	for sc.Scan() {
		var st struct {
			Vertexes []vertex `json:"vertexes"`
			Logs     []struct {
				Data []byte `json:"data"`
			} `json:"logs"`
		}
		if json.Unmarshal(sc.Bytes(), &st) != nil {
			other = append(other, sc.Text())
			continue
		}
		for _, v := range st.Vertexes {
			m := res.vertices[v.Digest]
			if m == nil {
				m = &vertex{Digest: v.Digest}
				res.vertices[v.Digest] = m
			}
			m.Name = v.Name
			if v.Started != nil && (m.Started == nil || v.Started.Before(*m.Started)) {
				m.Started = v.Started
			}
			if v.Completed != nil {
				m.Completed = v.Completed
			}
			m.Cached = m.Cached || v.Cached
			if v.Error != "" {
				m.Error = v.Error
			}
		}
		for _, lg := range st.Logs {
			other = append(other, strings.TrimRight(string(lg.Data), "\n"))
		}
	}
	if err != nil {
		tail := other
		if len(tail) > 40 {
			tail = tail[len(tail)-40:]
		}
		return res, fmt.Errorf("buildctl build: %w\n%s", err, strings.Join(tail, "\n"))
	}
	return res, nil
}

// steps returns the vertices whose names contain one of the markers.
func (r *buildResult) steps(markers []string) []*vertex {
	var out []*vertex
	for _, v := range r.vertices {
		for _, m := range markers {
			if strings.Contains(v.Name, m) && !strings.HasPrefix(v.Name, "[internal]") {
				out = append(out, v)
				break
			}
		}
	}
	return out
}

// stepTime is the summed duration of the matching steps (which run one
// after the other); ran is how many of them were not answered by the cache.
func (r *buildResult) stepTime(markers []string) (d time.Duration, ran int) {
	for _, v := range r.steps(markers) {
		if v.Cached || v.Started == nil || v.Completed == nil {
			continue
		}
		ran++
		d += v.Completed.Sub(*v.Started)
	}
	return d, ran
}

// imagesResolved counts the distinct image references whose config was
// resolved.
func (r *buildResult) imagesResolved() int {
	seen := map[string]bool{}
	for _, v := range r.vertices {
		for _, p := range []string{"[internal] load metadata for ", "resolve image config for "} {
			if ref, ok := strings.CutPrefix(v.Name, p); ok {
				seen[strings.TrimPrefix(ref, "docker-image://")] = true
			}
		}
	}
	return len(seen)
}

// coldRoot is a fresh, journaled ext4 file system on a loop device for
// buildkitd's --root. The machine's own file system may be ext4 without a
// journal, on which creating files right after a prune deleted tens of
// thousands of them is several times slower for minutes: a fresh file
// system per cold run keeps the runs independent.
type coldRoot struct {
	image, mnt string
}

func newColdRoot(ctx context.Context, dir string) (*coldRoot, error) {
	c := &coldRoot{image: filepath.Join(dir, "root.ext4"), mnt: filepath.Join(dir, "root")}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	f, err := os.Create(c.image)
	if err != nil {
		return nil, err
	}
	err = f.Truncate(16 << 30) // sparse
	f.Close()
	if err == nil {
		err = os.MkdirAll(c.mnt, 0o755)
	}
	if err == nil {
		err = sh(ctx, "mkfs.ext4", "-q", "-F", "-E", "lazy_itable_init=1,lazy_journal_init=0", c.image)
	}
	if err == nil {
		// noinit_itable: no background zeroing of inode tables during the runs.
		err = sh(ctx, "mount", "-o", "loop,noinit_itable", c.image, c.mnt)
	}
	if err != nil {
		c.remove()
		return nil, err
	}
	return c, nil
}

// remove unmounts the file system (mount's loop device goes with it) and
// deletes its image.
func (c *coldRoot) remove() {
	if isMounted(c.mnt) {
		if err := sh(context.Background(), "umount", c.mnt); err != nil {
			_ = sh(context.Background(), "umount", "-l", c.mnt)
		}
	}
	_ = os.Remove(c.image)
	_ = os.Remove(c.mnt)
}

func isMounted(p string) bool {
	dt, _ := os.ReadFile("/proc/self/mounts")
	for _, line := range strings.Split(string(dt), "\n") {
		if f := strings.Fields(line); len(f) > 1 && f[1] == p {
			return true
		}
	}
	return false
}

func sh(ctx context.Context, name string, args ...string) error {
	out, err := exec.CommandContext(ctx, name, args...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("%s %s: %w\n%s", name, strings.Join(args, " "), err, out)
	}
	return nil
}

// freshBuildkitd restarts the lab's buildkitd on a fresh file system and
// prunes it; the returned function stops it and removes the file system.
func freshBuildkitd(ctx context.Context, l *lab.Lab, dir string) (func(), error) {
	l.StopBuildkitd()
	_ = exec.Command("sync").Run()
	root, err := newColdRoot(ctx, dir)
	if err != nil {
		return nil, err
	}
	done := func() { l.StopBuildkitd(); root.remove() }
	if err := l.StartBuildkitd(ctx, root.mnt); err != nil {
		done()
		return nil, err
	}
	if _, err := l.Run(ctx, l.Buildctl, "--addr", l.Addr, "prune", "--all"); err != nil {
		done()
		return nil, err
	}
	return done, nil
}

// manifest is the part of an image manifest the benchmark reads.
type manifest struct {
	MediaType string `json:"mediaType"`
	Layers    []struct {
		Digest string `json:"digest"`
		Size   int64  `json:"size"`
	} `json:"layers"`
	Manifests []struct {
		Digest   string `json:"digest"`
		Platform struct {
			OS, Architecture string
		} `json:"platform"`
	} `json:"manifests"`
}

// layers returns the compressed layers of an image in the lab registry,
// "repo:tag" or "repo@digest".
func layers(ctx context.Context, registry, ref string) ([]manifestLayer, error) {
	repo, tag, ok := strings.Cut(ref, "@")
	if !ok {
		repo, tag, _ = strings.Cut(ref, ":")
	}
	req, _ := http.NewRequestWithContext(ctx, "GET", "http://"+registry+"/v2/"+repo+"/manifests/"+tag, nil)
	req.Header.Set("Accept", "application/vnd.oci.image.manifest.v1+json, application/vnd.docker.distribution.manifest.v2+json, application/vnd.oci.image.index.v1+json, application/vnd.docker.distribution.manifest.list.v2+json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	dt, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 {
		return nil, fmt.Errorf("manifest of %s: %s", ref, resp.Status)
	}
	var m manifest
	if err := json.Unmarshal(dt, &m); err != nil {
		return nil, err
	}
	if len(m.Manifests) > 0 {
		for _, d := range m.Manifests {
			if d.Platform.OS == "linux" {
				return layers(ctx, registry, repo+"@"+d.Digest)
			}
		}
		return nil, fmt.Errorf("%s: no linux manifest", ref)
	}
	var out []manifestLayer
	for _, l := range m.Layers {
		out = append(out, manifestLayer{l.Digest, l.Size})
	}
	return out, nil
}

type manifestLayer struct {
	digest string
	size   int64
}
