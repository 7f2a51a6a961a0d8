package installer

import (
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/xdockerfile/xdockerfile/internal/pyindex"
	"github.com/xdockerfile/xdockerfile/internal/testfs"
)

// The oracle: for every wheel the tests serve, the tree install.py writes
// is the tree `pip install --no-deps --no-compile` writes, byte for byte
// and mode for mode, and RECORD lists the same rows, but for INSTALLER,
// which names the installer, and pip's empty REQUESTED marker, which
// Poetry's installer does not write and neither do we
// (pyindex.CompareInstalls). These run with the host's python3 and pip;
// e2e runs the same installer inside images.

type served struct {
	url   string
	files map[string][]File // project → locked files
	srv   *pyindex.Server
}

func serveOracle(t *testing.T, wheels []pyindex.Wheel) served {
	t.Helper()
	srv, err := pyindex.NewServer()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	locked, err := srv.ServeFiles(wheels)
	if err != nil {
		t.Fatal(err)
	}
	s := served{url: srv.URL(), files: map[string][]File{}, srv: srv}
	for project, files := range locked {
		for _, f := range files {
			s.files[project] = append(s.files[project], File{Name: f.Name, Hash: "sha256:" + f.SHA256})
		}
	}
	return s
}

func python(t *testing.T) string {
	t.Helper()
	py, err := exec.LookPath("python3")
	if err == nil {
		err = exec.Command(py, "-c", "import ensurepip, venv").Run()
	}
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("python3 with venv and ensurepip is needed: %v", err)
		}
		t.Skipf("python3 with venv and ensurepip is needed: %v", err)
	}
	return py
}

func run(t *testing.T, dir string, name string, args ...string) string {
	t.Helper()
	cmd := exec.Command(name, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "PIP_NO_INPUT=1", "PIP_DISABLE_PIP_VERSION_CHECK=1", "PYTHONDONTWRITEBYTECODE=1")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
	return string(out)
}

// plan is an install.json for the packages of s.
func (s served) plan(dir string, markers map[string]string) Plan {
	p := Plan{Venv: filepath.Join(dir, "venv"), AuthSecret: filepath.Join(dir, "no-auth.toml"), AuthDir: dir,
		CacheDir: filepath.Join(dir, "cache"), Indexes: []Index{{URL: s.url, Default: true}}}
	names := make([]string, 0, len(s.files))
	for n := range s.files {
		names = append(names, n)
	}
	slices.Sort(names)
	for _, n := range names {
		pkg := Package{Name: n, Dist: n, Files: s.files[n], Marker: markers[n]}
		pkg.Version = strings.Split(s.files[n][0].Name, "-")[1]
		pkg.Line = n + "==" + pkg.Version
		if pkg.Marker != "" {
			pkg.Line += " ; " + pkg.Marker
		}
		for _, f := range pkg.Files {
			pkg.Line += " --hash=" + f.Hash
		}
		pkg.Line += "\n"
		p.Packages = append(p.Packages, pkg)
	}
	return p
}

func writePlan(t *testing.T, dir string, p Plan) string {
	t.Helper()
	in := filepath.Join(dir, "input")
	if err := os.MkdirAll(in, 0o755); err != nil {
		t.Fatal(err)
	}
	dt, _ := json.Marshal(p)
	if err := os.WriteFile(filepath.Join(in, "install.json"), dt, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(in, "install.py"), script, 0o644); err != nil {
		t.Fatal(err)
	}
	return filepath.Join(in, "install.py")
}

// added is what after has that before has not, or has changed.
func added(before, after map[string]testfs.Entry) map[string]testfs.Entry {
	out := map[string]testfs.Entry{}
	for p, e := range after {
		if b, ok := before[p]; !ok || b != e {
			out[p] = e
		}
	}
	return out
}

// installBoth installs the served packages with pip, then with install.py,
// into the same venv path, and returns what each added to the venv.
func installBoth(t *testing.T, s served, markers map[string]string) (pip, ours map[string]testfs.Entry, log string) {
	t.Helper()
	py := python(t)
	dir := t.TempDir()
	venv := filepath.Join(dir, "venv")
	p := s.plan(dir, markers)

	run(t, dir, py, "-m", "venv", venv)
	before := testfs.Snapshot(t, venv)
	var req strings.Builder
	for _, pkg := range p.Packages {
		req.WriteString(pkg.Line)
	}
	os.WriteFile(filepath.Join(dir, "req.txt"), []byte(req.String()), 0o644)
	run(t, dir, filepath.Join(venv, "bin", "pip"), "install", "-q", "--no-deps", "--no-compile",
		"--require-hashes", "--index-url", s.url, "--cache-dir", filepath.Join(dir, "pipcache"), "-r", "req.txt")
	pip = added(before, testfs.Snapshot(t, venv))

	os.RemoveAll(venv)
	run(t, dir, py, "-m", "venv", "--without-pip", venv)
	before = testfs.Snapshot(t, venv)
	log = run(t, dir, py, writePlan(t, dir, p))
	ours = added(before, testfs.Snapshot(t, venv))
	return pip, ours, log
}

func TestOracleSameTreeAsPip(t *testing.T) {
	s := serveOracle(t, pyindex.Shapes())
	pip, ours, log := installBoth(t, s, map[string]string{"winonly": `sys_platform == "win32"`, "tools": `python_version >= "3.7" and (os_name == "posix" or os_name == "nt")`})
	assertContains(t, log, "installed 4 packages (4 downloaded")
	if len(pip) < 25 {
		t.Fatalf("pip installed only %d files: %v", len(pip), keys(pip))
	}
	diffs, _ := pyindex.CompareInstalls(ours, pip, "xdockerfile", func(string) bool { return false })
	for _, d := range diffs {
		t.Error(d)
	}
	// the choice of wheel by tag, and the markers
	assertContains(t, ours[sitePackages(t, ours, "native/__init__.py")].Data, "manylinux")
	for p := range ours {
		if strings.Contains(p, "winonly") {
			t.Errorf("winonly is for win32 only, yet %s was installed", p)
		}
	}
}

func sitePackages(t *testing.T, tree map[string]testfs.Entry, suffix string) string {
	t.Helper()
	for p := range tree {
		if strings.HasSuffix(p, "site-packages/"+suffix) {
			return p
		}
	}
	t.Fatalf("no site-packages/%s in %v", suffix, keys(tree))
	return ""
}

func keys(m map[string]testfs.Entry) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

func assertContains(t *testing.T, s, sub string) {
	t.Helper()
	if !strings.Contains(s, sub) {
		t.Fatalf("%q does not contain %q", s, sub)
	}
}

// TestScriptsRun runs what the installer generated: console and GUI entry
// points and a #!python script, through the venv's interpreter.
func TestScriptsRun(t *testing.T) {
	s := serveOracle(t, pyindex.Shapes()[2:3])
	py := python(t)
	dir := t.TempDir()
	run(t, dir, py, writePlan(t, dir, s.plan(dir, nil)))
	bin := filepath.Join(dir, "venv", "bin")
	assertContains(t, run(t, dir, filepath.Join(bin, "tool"), "a", "b"), "tool ran ['a', 'b']")
	assertContains(t, run(t, dir, filepath.Join(bin, "tool-obj")), "method ran")
	assertContains(t, run(t, dir, filepath.Join(bin, "toolgui")), "gui ran")
	assertContains(t, run(t, dir, filepath.Join(bin, "pyscript")), "pyscript ran")
	out := run(t, dir, filepath.Join(bin, "python"), "-c", "import importlib.metadata as m; print(sorted((d.metadata['Name'], d.version, d.read_text('INSTALLER')) for d in m.distributions()))")
	assertContains(t, out, "[('tools', '0.3.1', 'xdockerfile\\n')]")
}

// TestCacheAndReinstall: a second venv from the same plan downloads nothing;
// a changed version replaces the old one's files.
func TestCacheAndReinstall(t *testing.T) {
	s := serveOracle(t, []pyindex.Wheel{
		{Name: "alpha", Version: "1.0", Modules: map[string]string{"alpha/__init__.py": "V = 1\n", "alpha/old.py": ""}},
		{Name: "beta", Version: "2.0", Modules: map[string]string{"beta/__init__.py": ""}},
	})
	py := python(t)
	dir := t.TempDir()
	p := s.plan(dir, nil)
	assertContains(t, run(t, dir, py, writePlan(t, dir, p)), "installed 2 packages (2 downloaded")
	s.srv.ResetLog()
	os.RemoveAll(p.Venv)
	assertContains(t, run(t, dir, py, writePlan(t, dir, p)), "installed 2 packages (0 downloaded, 0.0 MB; 2 from cache")
	if log := s.srv.Log(); len(log) != 0 {
		t.Fatalf("a cached install asked the index: %v", log)
	}

	newer := serveOracle(t, []pyindex.Wheel{{Name: "alpha", Version: "1.1", Modules: map[string]string{"alpha/__init__.py": "V = 2\n"}}})
	p.Indexes = append(p.Indexes, Index{URL: newer.url})
	p.Packages[0].Version, p.Packages[0].Files = "1.1", newer.files["alpha"]
	assertContains(t, run(t, dir, py, writePlan(t, dir, p)), "installed 1 packages (1 downloaded")
	tree := testfs.Snapshot(t, p.Venv)
	if _, ok := tree[sitePackages(t, tree, "alpha/__init__.py")]; !ok || strings.Contains(strings.Join(keys(tree), " "), "alpha/old.py") {
		t.Fatalf("alpha 1.0's files are still there: %v", keys(tree))
	}
	assertContains(t, strings.Join(keys(tree), " "), "alpha-1.1.dist-info/RECORD")
	assertNotContains(t, strings.Join(keys(tree), " "), "alpha-1.0.dist-info")
}

func assertNotContains(t *testing.T, s, sub string) {
	t.Helper()
	if strings.Contains(s, sub) {
		t.Fatalf("%q contains %q", s, sub)
	}
}

// TestFailures: each bad case stops the install with a message that names
// the package, and installs nothing of it.
func TestFailures(t *testing.T) {
	py := python(t)
	good := serveOracle(t, []pyindex.Wheel{{Name: "alpha", Version: "1.0", Modules: map[string]string{"alpha/__init__.py": ""}}})
	closed, _ := net.Listen("tcp", "127.0.0.1:0")
	deadURL := "http://" + closed.Addr().String() + "/simple/"
	closed.Close()
	name, wheel, _ := pyindex.BuildWheel(pyindex.Wheel{Name: "alpha", Version: "1.0", Modules: map[string]string{"alpha/__init__.py": ""}})
	cutURL, stop, err := pyindex.ServeCutShort(name, wheel)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(stop)

	sum := sha256.Sum256([]byte("something else"))
	cases := []struct {
		name string
		edit func(p *Plan)
		want string
	}{
		{"wrong hash", func(p *Plan) { p.Packages[0].Files[0].Hash = fmt.Sprintf("sha256:%x", sum) },
			"alpha 1.0: alpha-1.0-py3-none-any.whl does not match the lock: expected sha256:"},
		{"unreachable index", func(p *Plan) { p.Indexes[0].URL = deadURL },
			"alpha 1.0: cannot reach " + deadURL + "alpha/"},
		{"truncated download", func(p *Plan) { p.Indexes[0].URL = cutURL },
			"alpha 1.0: download of alpha-1.0-py3-none-any.whl was cut short"},
		{"no compatible tag", func(p *Plan) {
			p.Packages[0].Files = []File{{Name: "alpha-1.0-cp311-cp311-win_amd64.whl", Hash: p.Packages[0].Files[0].Hash}}
		}, "alpha 1.0: no locked file fits this interpreter"},
		{"not on the index", func(p *Plan) { p.Packages[0].Files[0].Name = "alpha-1.0-py2.py3-none-any.whl" },
			"alpha 1.0: alpha-1.0-py2.py3-none-any.whl is not on " + good.url},
		{"bad marker", func(p *Plan) { p.Packages[0].Marker = `python_version >> "3"` }, "alpha 1.0: invalid marker"},
		{"named context without the project", func(p *Plan) {
			p.Packages = append(p.Packages, Package{Name: "common", Dist: "common", Version: "0.1.0", Files: []File{}, Build: true,
				Line: "common @ file://" + t.TempDir() + "\n", Path: "../libs/common", Context: "common"})
		}, "common: the named context common, given for the path dependency ../libs/common, has no pyproject.toml or setup.py at its root"},
		{"named context without the archive", func(p *Plan) {
			p.Packages = append(p.Packages, Package{Name: "common", Dist: "common", Version: "0.1.0", Files: []File{}, Build: true,
				Line: "common @ file://" + filepath.Join(t.TempDir(), "common-0.1.0.tar.gz") + " --hash=sha256:00\n", Path: "../dist/common-0.1.0.tar.gz", Context: "common"})
		}, "common: the named context common, given for the path dependency ../dist/common-0.1.0.tar.gz, has no common-0.1.0.tar.gz"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			p := good.plan(dir, nil)
			p.Packages[0].Files = slices.Clone(p.Packages[0].Files)
			c.edit(&p)
			cmd := exec.Command(py, writePlan(t, dir, p))
			out, err := cmd.CombinedOutput()
			if err == nil {
				t.Fatalf("install succeeded:\n%s", out)
			}
			assertContains(t, string(out), "xdockerfile: POETRY INSTALL: "+c.want)
			if strings.Contains(string(out), "Traceback") {
				t.Fatalf("a traceback, not a message:\n%s", out)
			}
			if matches, _ := filepath.Glob(filepath.Join(p.Venv, "lib", "*", "site-packages", "alpha*")); len(matches) > 0 {
				t.Fatalf("half-installed: %v", matches)
			}
			if matches, _ := filepath.Glob(filepath.Join(p.CacheDir, "wheels", "*", "*", "*")); len(matches) > 0 && c.name != "no compatible tag" {
				t.Fatalf("a bad download was cached: %v", matches)
			}
		})
	}
}

// TestWithPipOnAnExistingVenv: --with-pip adds pip to a venv an earlier
// step made without it.
func TestWithPipOnAnExistingVenv(t *testing.T) {
	py := python(t)
	dir := t.TempDir()
	p := Plan{Venv: filepath.Join(dir, "venv"), AuthSecret: filepath.Join(dir, "no-auth.toml"), AuthDir: dir,
		CacheDir: filepath.Join(dir, "cache"), Indexes: []Index{}, Packages: []Package{}}
	run(t, dir, py, writePlan(t, dir, p))
	pip := filepath.Join(p.Venv, "bin", "pip")
	if _, err := os.Stat(pip); err == nil {
		t.Fatal("a venv without --with-pip has pip")
	}
	p.WithPip = true
	run(t, dir, py, writePlan(t, dir, p))
	assertContains(t, run(t, dir, pip, "--version"), filepath.Join(p.Venv, "lib"))
}
