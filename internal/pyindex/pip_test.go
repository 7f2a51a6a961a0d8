package pyindex

import (
	"context"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// pip runs "python3 -m pip args..." isolated from the user's pip
// configuration and cache, and returns its combined output.
func pip(t *testing.T, py string, args ...string) (string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, py, append([]string{"-m", "pip"}, args...)...)
	cmd.Env = append(os.Environ(),
		"PIP_CONFIG_FILE="+os.DevNull,
		"PIP_NO_CACHE_DIR=1",
		"PIP_DISABLE_PIP_VERSION_CHECK=1",
		"PIP_NO_INPUT=1",
		"NO_PROXY=127.0.0.1",
		"no_proxy=127.0.0.1",
	)
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// TestPipInstall is the check closest to the end-to-end tests: a real pip
// installs the wheels from the server, behind basic auth, resolving
// Requires-Dist (with markers) and enforcing --require-hashes. It needs pip
// besides python3, and skips without it: BuildWheel's output is still
// checked by TestWheelPython.
func TestPipInstall(t *testing.T) {
	py := python3(t)
	if out, err := pip(t, py, "--version"); err != nil {
		t.Skipf("pip not available: %v\n%s", err, out)
	}
	s := newServer(t)
	s.RequireBasicAuth("user", "s3cret")
	aName, aData := build(t, alpha)
	s.Add(aName, aData)
	bName, bData := build(t, Wheel{Name: "beta", Version: "1.2", Modules: map[string]string{"beta.py": "B = 2\n"}})
	s.Add(bName, bData)
	u, _ := url.Parse(s.URL())
	u.User = url.UserPassword("user", "s3cret")
	index := u.String()

	// Resolving: alpha pulls in beta; gamma's marker is false on Linux.
	dir := t.TempDir()
	out, err := pip(t, py, "install", "--only-binary", ":all:", "--target", dir, "--index-url", index, "alpha")
	if err != nil {
		t.Fatalf("pip install alpha: %v\n%s", err, out)
	}
	for _, f := range []string{"alpha/__init__.py", "alpha/sub/x.py", "alpha-1.0.dist-info/RECORD", "beta.py", "beta-1.2.dist-info/METADATA"} {
		if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
			t.Errorf("not installed: %v\n%s", err, out)
		}
	}

	// Hash checking, as a lock file's export would drive it.
	reqs := filepath.Join(t.TempDir(), "requirements.txt")
	if err := os.WriteFile(reqs, []byte("alpha==1.0 --hash=sha256:"+SHA256(aData)+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	install := []string{"install", "--no-deps", "--require-hashes", "--only-binary", ":all:", "--target", t.TempDir(), "--index-url", index, "-r", reqs}
	if out, err := pip(t, py, install...); err != nil {
		t.Fatalf("pip install --require-hashes: %v\n%s", err, out)
	}

	// Replacing the wheel breaks the pinned hash.
	changed := alpha
	changed.Modules = map[string]string{"alpha/__init__.py": "VALUE = 2\n"}
	_, cData := build(t, changed)
	s.Add(aName, cData)
	out, err = pip(t, py, install...)
	if err == nil || !strings.Contains(out, "DO NOT MATCH THE HASHES") {
		t.Errorf("pip install of a replaced wheel: err %v, want a hash mismatch\n%s", err, out)
	}
}
