// Package e2e builds Dockerfiles through the published frontend image with
// a real buildkitd, runc, a loopback registry and Debian's docker engine.
//
// It needs what hack/deps.sh installs; `make test` runs that first and
// passes XDOCKERFILE_BUILDKIT_BIN. Without it the package is skipped
// outside CI and fails in CI, so it can never pass by skipping there.
package e2e

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/xdockerfile/xdockerfile/internal/lab"
	"github.com/xdockerfile/xdockerfile/internal/testfs"
)

var (
	theLab     *lab.Lab
	dockerHost string // empty when the docker engine could not start
	dockerErr  error
	pythonRef  string
	pythonErr  error
	// the python image with git, for git dependencies
	pythonGitErr error
	// the docker buildx client (hack/deps.sh buildx builds it)
	buildxBin string
	buildxErr error
	repoRoot  string
)

func TestMain(m *testing.M) {
	os.Exit(run(m))
}

func run(m *testing.M) int {
	bin := os.Getenv("XDOCKERFILE_BUILDKIT_BIN")
	if bin == "" {
		if os.Getenv("CI") == "true" {
			fmt.Fprintln(os.Stderr, "e2e: XDOCKERFILE_BUILDKIT_BIN is not set; run the tests with `make test`")
			return 1
		}
		fmt.Fprintln(os.Stderr, "e2e: skipped: XDOCKERFILE_BUILDKIT_BIN is not set (`make test` sets it)")
		return 0
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	wd, _ := os.Getwd()
	repoRoot = filepath.Dir(wd)

	start := time.Now()
	l, err := lab.Start(ctx, lab.Options{BuildkitBin: bin})
	if err != nil {
		fmt.Fprintln(os.Stderr, "e2e: lab:", err)
		return 1
	}
	defer l.Close()
	theLab = l
	for _, step := range []func(context.Context) error{
		l.PublishBusybox,
		func(ctx context.Context) error { return l.PublishFrontend(ctx, repoRoot) },
	} {
		if err := step(ctx); err != nil {
			fmt.Fprintln(os.Stderr, "e2e: setup:", err)
			return 1
		}
	}
	if root := os.Getenv("XDOCKERFILE_PYTHON_ROOTFS"); root != "" {
		pythonRef, pythonErr = l.PublishPython(ctx, root, "3-bookworm")
	} else {
		pythonErr = fmt.Errorf("XDOCKERFILE_PYTHON_ROOTFS is not set (hack/python-rootfs.sh makes it)")
	}
	if root := os.Getenv("XDOCKERFILE_PYTHON_GIT_ROOTFS"); root != "" {
		_, pythonGitErr = l.PublishPython(ctx, root, "3-bookworm-git")
	} else {
		pythonGitErr = fmt.Errorf("XDOCKERFILE_PYTHON_GIT_ROOTFS is not set (hack/python-rootfs.sh git makes it)")
	}
	if bin := os.Getenv("XDOCKERFILE_BUILDX"); bin != "" {
		buildxBin, buildxErr = exec.LookPath(bin)
	} else {
		buildxErr = fmt.Errorf("XDOCKERFILE_BUILDX is not set (hack/deps.sh buildx builds it)")
	}
	dockerHost, dockerErr = l.StartDocker(ctx)
	fmt.Fprintf(os.Stderr, "e2e: lab up in %s (registry %s)\n", time.Since(start).Round(time.Millisecond), l.Registry)
	return m.Run()
}

// need fails (never skips in CI) when a part the test relies on is missing.
func need(t *testing.T, what string, err error) {
	t.Helper()
	if err == nil {
		return
	}
	if os.Getenv("CI") == "true" {
		t.Fatalf("%s is not available: %v", what, err)
	}
	t.Skipf("%s is not available: %v", what, err)
}

// project is a build context made from files, with the example registry
// rewritten to the lab's.
func project(t *testing.T, files map[string]string) string {
	t.Helper()
	localized := make(map[string]string, len(files))
	for name, content := range files {
		localized[name] = theLab.Localize(content)
	}
	return testfs.Dir(t, localized)
}

// copyTree copies a testdata directory into a fresh context, localized.
func copyTree(t *testing.T, src string) string {
	t.Helper()
	files := map[string]string{}
	err := filepath.WalkDir(src, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		dt, err := os.ReadFile(p)
		rel, _ := filepath.Rel(src, p)
		files[rel] = string(dt)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return project(t, files)
}

// build runs buildctl with the dockerfile.v0 frontend, which hands the file
// to the frontend named by its # syntax= line, exactly as a user's build.
// It returns the log and the exported directory.
func build(t *testing.T, dir string, args ...string) (string, string, error) {
	t.Helper()
	out := filepath.Join(t.TempDir(), "out")
	all := append([]string{"--frontend", "dockerfile.v0",
		"--local", "context=" + dir, "--local", "dockerfile=" + dir,
		"--output", "type=local,dest=" + out}, args...)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	log, err := theLab.BuildctlBuild(ctx, all...)
	return log, out, err
}

// mustBuild is build that fails the test on error.
func mustBuild(t *testing.T, dir string, args ...string) (string, string) {
	t.Helper()
	log, out, err := build(t, dir, args...)
	if err != nil {
		t.Fatalf("build failed: %v", err)
	}
	return log, out
}

// printValues is a RUN line that imports the modules from the venv and
// writes their VALUEs to /value, space-separated.
func printValues(modules ...string) string {
	values := make([]string, len(modules))
	for i, m := range modules {
		values[i] = m + ".VALUE"
	}
	return `RUN /opt/venv/bin/python -c "import ` + strings.Join(modules, ", ") + `; print(` + strings.Join(values, ", ") + `)" > /value`
}

// buildArgs turns K=V pairs into buildctl options.
func buildArgs(kv ...string) []string {
	var out []string
	for _, s := range kv {
		out = append(out, "--opt", "build-arg:"+s)
	}
	return out
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	dt, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("expected file: %v", err)
	}
	return string(dt)
}

func assertContains(t *testing.T, s, sub string) {
	t.Helper()
	if !strings.Contains(s, sub) {
		t.Fatalf("output does not contain %q:\n%s", sub, s)
	}
}

func assertNotContains(t *testing.T, s, sub string) {
	t.Helper()
	if strings.Contains(s, sub) {
		t.Fatalf("output contains %q:\n%s", sub, s)
	}
}

func lookPath(t *testing.T, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		t.Fatal(err)
	}
	return p
}
