package e2e

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"fmt"
	"io"
	"maps"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/xdockerfile/xdockerfile/internal/pyindex"
	"github.com/xdockerfile/xdockerfile/internal/testfs"
	"github.com/xdockerfile/xdockerfile/poetry"
)

// The POETRY INSTALL tests build against two loopback package indexes
// serving wheels made here: a public one and a private one behind HTTP
// basic auth. Locks are written here too, as Poetry 2 writes them.

const (
	privateUser     = "ci-robot"
	privatePassword = "pr1vate-Pa55word-e2e"
)

type pkg struct {
	name, version string
	groups        []string
	markers       string
	optional      bool
	private       bool
	hash          string
	files         []pyindex.File // locked files; default: the shared wheel
	url           string         // a direct URL dependency, not from an index
	git           gitSource      // a git dependency, when its url is set
}

// gitSource is a git dependency as Poetry locks it.
type gitSource struct {
	url, branch, commit, subdir string
}

type indexes struct {
	public, private *pyindex.Server
	publicURL       string // instead of public's, for indexes that misbehave
}

func (ix indexes) publicIndex() string {
	if ix.publicURL != "" {
		return ix.publicURL
	}
	return ix.public.URL()
}

var (
	indexesOnce sync.Once
	theIndexes  indexes
	indexesErr  error
)

// wheels every test shares; each test that replaces a file uses a
// distribution no other test locks.
var sharedWheels = []pyindex.Wheel{
	{Name: "alpha", Version: "1.0", Modules: map[string]string{"alpha/__init__.py": "VALUE = 'alpha-1.0'\n"}},
	{Name: "alpha", Version: "1.1", Modules: map[string]string{"alpha/__init__.py": "VALUE = 'alpha-1.1'\n"}},
	{Name: "beta", Version: "2.0", Modules: map[string]string{"beta/__init__.py": "VALUE = 'beta'\n"}},
	{Name: "gamma", Version: "3.0", Modules: map[string]string{"gamma/__init__.py": "VALUE = 'gamma'\n"}},
	{Name: "winonly", Version: "1.0", Modules: map[string]string{"winonly/__init__.py": ""}},
	{Name: "delta", Version: "1.0", Modules: map[string]string{"delta/__init__.py": "VALUE = 'original'\n"}},
}

var wheelHashes = map[string]string{} // "name==version" → sha256 hex

func startIndexes(t *testing.T) indexes {
	t.Helper()
	need(t, "the python base image", pythonErr)
	indexesOnce.Do(func() {
		pub, err := pyindex.NewServer()
		if err != nil {
			indexesErr = err
			return
		}
		priv, err := pyindex.NewServer()
		if err != nil {
			indexesErr = err
			return
		}
		priv.RequireBasicAuth(privateUser, privatePassword)
		for _, w := range sharedWheels {
			name, data, err := pyindex.BuildWheel(w)
			if err != nil {
				indexesErr = err
				return
			}
			pub.Add(name, data)
			wheelHashes[w.Name+"=="+w.Version] = pyindex.SHA256(data)
		}
		secret := pyindex.Wheel{Name: "secretpkg", Version: "1.0", Modules: map[string]string{"secretpkg/__init__.py": "VALUE = 'private'\n"}}
		name, data, err := pyindex.BuildWheel(secret)
		if err != nil {
			indexesErr = err
			return
		}
		priv.Add(name, data)
		wheelHashes["secretpkg==1.0"] = pyindex.SHA256(data)
		theIndexes = indexes{public: pub, private: priv}
	})
	if indexesErr != nil {
		t.Fatal(indexesErr)
	}
	return theIndexes
}

// poetryProject writes pyproject.toml and a lock-version 2.1 poetry.lock
// for the given packages, with a content-hash the way Poetry computes it.
func poetryProject(t *testing.T, ix indexes, pkgs []pkg, extraFiles map[string]string) map[string]string {
	t.Helper()
	var py strings.Builder
	py.WriteString("[project]\nname = \"demo-app\"\nversion = \"0.1.0\"\nrequires-python = \">=3.9\"\ndependencies = [\n")
	groups := map[string][]string{}
	extras := map[string][]string{}
	for _, p := range pkgs {
		dep := fmt.Sprintf("%q", p.name+" (=="+p.version+")")
		if p.url != "" {
			dep = fmt.Sprintf("%q", p.name+" @ "+p.url)
		}
		if g := p.git; g.url != "" {
			dep = p.name + " @ git+" + g.url + "@" + g.branch
			if g.subdir != "" {
				dep += "#subdirectory=" + g.subdir
			}
			dep = fmt.Sprintf("%q", dep)
		}
		if p.markers != "" {
			dep = fmt.Sprintf("%q", p.name+" (=="+p.version+") ; "+p.markers)
		}
		switch {
		case p.optional:
			extras["fancy"] = append(extras["fancy"], dep)
		case len(p.groups) > 0 && p.groups[0] != "main":
			groups[p.groups[0]] = append(groups[p.groups[0]], dep)
		default:
			fmt.Fprintf(&py, "    %s,\n", dep)
		}
	}
	py.WriteString("]\n")
	if len(extras) > 0 {
		py.WriteString("\n[project.optional-dependencies]\n")
		for name, deps := range extras {
			fmt.Fprintf(&py, "%s = [%s]\n", name, strings.Join(deps, ", "))
		}
	}
	py.WriteString("\n[tool.poetry]\npackage-mode = false\n")
	for name, deps := range groups {
		fmt.Fprintf(&py, "\n[tool.poetry.group.%s.dependencies]\n", name)
		for _, d := range deps {
			spec := strings.Trim(d, `"`)
			n, rest, _ := strings.Cut(spec, " (")
			fmt.Fprintf(&py, "%s = %q\n", n, strings.TrimSuffix(strings.SplitN(rest, ")", 2)[0], ""))
		}
	}
	usesPrivate := false
	for _, p := range pkgs {
		usesPrivate = usesPrivate || p.private
	}
	fmt.Fprintf(&py, "\n[[tool.poetry.source]]\nname = \"public\"\nurl = %q\npriority = \"primary\"\n", ix.publicIndex())
	if usesPrivate {
		fmt.Fprintf(&py, "\n[[tool.poetry.source]]\nname = \"private\"\nurl = %q\npriority = \"supplemental\"\n", ix.private.URL())
	}
	pyproject := py.String()
	hash, err := poetry.ContentHash([]byte(pyproject))
	if err != nil {
		t.Fatalf("content hash: %v\n%s", err, pyproject)
	}

	var lock strings.Builder
	lock.WriteString("# This file is automatically @generated by Poetry 2.3.0 and should not be changed by hand.\n")
	sort.Slice(pkgs, func(i, j int) bool { return pkgs[i].name < pkgs[j].name })
	for _, p := range pkgs {
		groupList := p.groups
		if len(groupList) == 0 {
			groupList = []string{"main"}
		}
		fmt.Fprintf(&lock, "\n[[package]]\nname = %q\nversion = %q\ndescription = \"\"\noptional = %t\npython-versions = \"*\"\ngroups = [%q]\n",
			p.name, p.version, p.optional, groupList[0])
		markers := p.markers
		if p.optional {
			markers = `extra == "fancy"`
		}
		if markers != "" {
			fmt.Fprintf(&lock, "markers = %q\n", markers)
		}
		h := p.hash
		if h == "" {
			h = wheelHashes[p.name+"=="+p.version]
		}
		locked := p.files
		if g := p.git; g.url != "" {
			fmt.Fprintf(&lock, "files = []\n\n[package.source]\ntype = \"git\"\nurl = %q\nreference = %q\nresolved_reference = %q\n", g.url, g.branch, g.commit)
			if g.subdir != "" {
				fmt.Fprintf(&lock, "subdirectory = %q\n", g.subdir)
			}
			continue
		}
		if len(locked) == 0 {
			locked = []pyindex.File{{Name: p.name + "-" + p.version + "-py3-none-any.whl", SHA256: h}}
		}
		lock.WriteString("files = [\n")
		for _, f := range locked {
			fmt.Fprintf(&lock, "    {file = %q, hash = \"sha256:%s\"},\n", f.Name, f.SHA256)
		}
		lock.WriteString("]\n")
		source, url := "public", ix.publicIndex()
		if p.private {
			source, url = "private", ix.private.URL()
		}
		if p.url != "" {
			fmt.Fprintf(&lock, "\n[package.source]\ntype = \"url\"\nurl = %q\n", p.url)
			continue
		}
		fmt.Fprintf(&lock, "\n[package.source]\ntype = \"legacy\"\nurl = %q\nreference = %q\n", strings.TrimSuffix(url, "/"), source)
	}
	if len(extras) > 0 {
		lock.WriteString("\n[extras]\nfancy = [\"gamma\"]\n")
	}
	fmt.Fprintf(&lock, "\n[metadata]\nlock-version = \"2.1\"\npython-versions = \">=3.9\"\ncontent-hash = %q\n", hash)

	files := map[string]string{"pyproject.toml": pyproject, "poetry.lock": lock.String()}
	for k, v := range extraFiles {
		files[k] = v
	}
	return files
}

var basePackages = []pkg{
	{name: "alpha", version: "1.0"},
	{name: "beta", version: "2.0", groups: []string{"dev"}},
	{name: "gamma", version: "3.0", optional: true},
	{name: "winonly", version: "1.0", markers: `sys_platform == "win32"`},
}

// installedBy builds a deps stage with the given POETRY INSTALL flags,
// imports the given modules with the venv's python, and returns the
// distributions importlib.metadata finds in the venv.
func installedBy(t *testing.T, files map[string]string, flags string, imports []string) (string, string) {
	t.Helper()
	files["Dockerfile"] = syntaxLine + `
FROM 127.0.0.1:5000/python:3-bookworm AS deps
POETRY INSTALL ` + flags + `
RUN /opt/venv/bin/python -c "import importlib.metadata as m; print(*sorted(d.name + '==' + d.version for d in m.distributions()), sep='\\n')" > /installed
RUN /opt/venv/bin/python -c "import importlib, sys; [importlib.import_module(m) for m in sys.argv[1:]]" ` + strings.Join(imports, " ") + `
FROM scratch
COPY --from=deps /installed /installed
`
	log, out := mustBuild(t, project(t, files))
	return readFile(t, filepath.Join(out, "installed")), log
}

func TestPoetryInstallSelectsGroupsExtrasAndMarkers(t *testing.T) {
	ix := startIndexes(t)
	files := poetryProject(t, ix, append([]pkg(nil), basePackages...), nil)
	for _, c := range []struct {
		flags      string
		want, lack []string
	}{
		{"", []string{"alpha==1.0", "beta==2.0"}, []string{"gamma", "winonly", "pip"}},
		{"--only=main", []string{"alpha==1.0"}, []string{"beta", "gamma", "winonly"}},
		{"--without=dev --extras=fancy", []string{"alpha==1.0", "gamma==3.0"}, []string{"beta", "winonly"}},
		{"--only=dev", []string{"beta==2.0"}, []string{"alpha", "gamma"}},
	} {
		var imports []string
		for _, w := range c.want {
			imports = append(imports, strings.Split(w, "==")[0])
		}
		got, log := installedBy(t, copyMap(files), c.flags, imports)
		for _, w := range c.want {
			if !strings.Contains(got, w) {
				t.Errorf("POETRY INSTALL %s: %s not installed:\n%s", c.flags, w, got)
			}
		}
		for _, l := range c.lack {
			if strings.Contains(got, l) {
				t.Errorf("POETRY INSTALL %s: %s installed:\n%s", c.flags, l, got)
			}
		}
		// Progress names the user's instruction.
		assertContains(t, log, "[deps 2/4] "+strings.TrimSpace("POETRY INSTALL "+c.flags)+"\n")
	}
}

func TestPoetryInstallRejectsAReplacedWheel(t *testing.T) {
	ix := startIndexes(t)
	pkgs := []pkg{{name: "delta", version: "1.0"}}
	files := poetryProject(t, ix, pkgs, nil)
	tampered := pyindex.Wheel{Name: "delta", Version: "1.0", Modules: map[string]string{"delta/__init__.py": "VALUE = 'tampered'\n"}}
	name, data, err := pyindex.BuildWheel(tampered)
	if err != nil {
		t.Fatal(err)
	}
	ix.public.Add(name, data)
	files["Dockerfile"] = syntaxLine + "FROM 127.0.0.1:5000/python:3-bookworm\nPOETRY INSTALL\n"
	log, _, err := build(t, project(t, files))
	if err == nil {
		t.Fatal("a wheel that no longer matches the lock was installed")
	}
	assertContains(t, log, "POETRY INSTALL: delta 1.0: delta-1.0-py3-none-any.whl does not match the lock: expected sha256:"+wheelHashes["delta==1.0"])
	assertContains(t, log, "Dockerfile:3")
}

func TestPoetryInstallCachesOnTheLockAlone(t *testing.T) {
	ix := startIndexes(t)
	pkgs := []pkg{{name: "alpha", version: "1.0"}, {name: "beta", version: "2.0"}}
	df := syntaxLine + `
FROM 127.0.0.1:5000/python:3-bookworm AS deps
POETRY INSTALL
COPY app.py /app/app.py
RUN /opt/venv/bin/python -c "import alpha, beta; print(alpha.VALUE)" > /value
FROM scratch
COPY --from=deps /value /value
`
	files := poetryProject(t, ix, pkgs, map[string]string{"Dockerfile": df, "app.py": "print('v1')\n", "README.md": "one\n"})
	dir := project(t, files)
	_, out := mustBuild(t, dir)
	if got := strings.TrimSpace(readFile(t, filepath.Join(out, "value"))); got != "alpha-1.0" {
		t.Fatalf("value %q", got)
	}

	// An application edit re-runs no dependency step.
	testfs.Write(t, dir, map[string]string{"app.py": "print('v2')\n", "README.md": "two\n"})
	log, _ := mustBuild(t, dir)
	if !cachedStep(log, "[deps 2/4] POETRY INSTALL") {
		t.Fatalf("editing app.py re-ran POETRY INSTALL:\n%s", log)
	}

	// A version bump re-runs it, downloading only the changed wheel.
	bumped := poetryProject(t, ix, []pkg{{name: "alpha", version: "1.1"}, {name: "beta", version: "2.0"}}, nil)
	testfs.Write(t, dir, map[string]string{"poetry.lock": bumped["poetry.lock"], "pyproject.toml": bumped["pyproject.toml"]})
	ix.public.ResetLog()
	log, out = mustBuild(t, dir)
	if cachedStep(log, "[deps 2/4] POETRY INSTALL") {
		t.Fatal("bumping alpha did not re-run POETRY INSTALL")
	}
	if got := strings.TrimSpace(readFile(t, filepath.Join(out, "value"))); got != "alpha-1.1" {
		t.Fatalf("value %q after the bump", got)
	}
	var files2 []string
	for _, line := range ix.public.Log() {
		if strings.Contains(line, "/files/") {
			files2 = append(files2, line)
		}
	}
	if len(files2) != 1 || !strings.Contains(files2[0], "alpha-1.1") {
		t.Fatalf("after bumping alpha, downloads were %v, want only alpha 1.1", files2)
	}
}

// cachedStep reports whether the step whose progress name contains name
// was answered from the cache.
func cachedStep(log, name string) bool {
	for _, block := range strings.Split(log, "\n\n") {
		if strings.Contains(block, name) {
			return strings.Contains(block, " CACHED")
		}
	}
	return false
}

func copyMap(m map[string]string) map[string]string { return maps.Clone(m) }

func TestPoetryInstallPrivateIndexThroughSecrets(t *testing.T) {
	ix := startIndexes(t)
	files := poetryProject(t, ix, []pkg{{name: "alpha", version: "1.0"}, {name: "secretpkg", version: "1.0", private: true}}, nil)
	files["Dockerfile"] = syntaxLine + `
FROM 127.0.0.1:5000/python:3-bookworm
POETRY INSTALL
` + printValues("secretpkg") + `
`
	dir := project(t, files)
	secrets := t.TempDir()
	auth := filepath.Join(secrets, "auth.toml")
	if err := os.WriteFile(auth, []byte(fmt.Sprintf("[http-basic.private]\nusername = %q\npassword = %q\n", privateUser, privatePassword)), 0o600); err != nil {
		t.Fatal(err)
	}

	// Without credentials the private index refuses. --no-cache: a
	// credential is in no cache key, so another test's build of the same
	// lock would otherwise answer the step.
	emptyDownloadCache(t)
	if log, _, err := build(t, dir, "--no-cache"); err == nil {
		t.Fatal("built without credentials")
	} else {
		assertNotContains(t, log, privatePassword)
	}

	for _, form := range []struct {
		name string
		args []string
		env  []string
	}{
		{"auth.toml", []string{"--secret", "id=poetry-auth,src=" + auth}, nil},
		{"environment", []string{
			"--secret", "id=POETRY_HTTP_BASIC_PRIVATE_USERNAME,env=XD_USER",
			"--secret", "id=POETRY_HTTP_BASIC_PRIVATE_PASSWORD,env=XD_PASS",
		}, []string{"XD_USER=" + privateUser, "XD_PASS=" + privatePassword}},
	} {
		t.Run(form.name, func(t *testing.T) {
			image := filepath.Join(t.TempDir(), "image.tar")
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
			defer cancel()
			args := append([]string{"--addr", theLab.Addr, "build", "--progress=plain", "--no-cache",
				"--frontend", "dockerfile.v0", "--local", "context=" + dir, "--local", "dockerfile=" + dir,
				"--output", "type=oci,dest=" + image}, form.args...)
			log, err := theLab.RunEnv(ctx, form.env, theLab.Buildctl, args...)
			if err != nil {
				t.Fatal(err)
			}
			assertNotContains(t, log, privatePassword)
			assertTarLacks(t, image, privatePassword, "private")

			llb := subrequest(t, dir, "frontend.convertllb")
			assertNotContains(t, llb, privatePassword)
			assertContains(t, llb, "secretpkg") // the requirement set is there, the password is not
		})
	}
}

// assertTarLacks fails if s occurs in any file of the OCI tar, layers
// (decompressed), config and history included; want must occur, to show
// the search can find things.
func assertTarLacks(t *testing.T, path, s, want string) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	found := false
	tr := tar.NewReader(f)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		dt, _ := io.ReadAll(tr)
		for _, content := range expand(dt) {
			if bytes.Contains(content, []byte(s)) {
				t.Errorf("%s in the image (%s)", s, h.Name)
			}
			found = found || bytes.Contains(content, []byte(want))
		}
	}
	if !found {
		t.Errorf("%q not found anywhere in the image: the search is broken", want)
	}
}

func TestPoetryInstallBadInput(t *testing.T) {
	ix := startIndexes(t)
	good := poetryProject(t, ix, []pkg{{name: "alpha", version: "1.0"}}, nil)
	df := syntaxLine + "FROM 127.0.0.1:5000/python:3-bookworm\nPOETRY INSTALL %s\n"
	for _, c := range []struct {
		name  string
		files map[string]string
		flags string
		want  []string
	}{
		{"stale lock", map[string]string{"pyproject.toml": strings.Replace(good["pyproject.toml"], "alpha (==1.0)", "alpha (>=1.0)", 1)}, "", []string{"pyproject.toml changed significantly since poetry.lock"}},
		{"missing lock", map[string]string{"poetry.lock": ""}, "", []string{"poetry.lock not found"}},
		{"bad toml", map[string]string{"pyproject.toml": "[project\nname = 1\n"}, "", []string{"pyproject.toml:1: invalid TOML"}},
		{"unknown group", nil, "--with=nope", []string{"pyproject.toml: Group(s) not found: nope"}},
		{"unknown extra", nil, "--extras=nope", []string{"pyproject.toml: Extra [nope] is not specified"}},
		{"unsupported lock", map[string]string{"poetry.lock": strings.Replace(good["poetry.lock"], `lock-version = "2.1"`, `lock-version = "9.0"`, 1)}, "", []string{"poetry.lock:", "The lock file is not compatible with the current version of Poetry"}},
		{"unknown flag", nil, "--frobnicate", []string{"unknown flag --frobnicate"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			files := copyMap(good)
			for k, v := range c.files {
				if v == "" {
					delete(files, k)
				} else {
					files[k] = v
				}
			}
			files["Dockerfile"] = fmt.Sprintf(df, c.flags)
			log, _, err := build(t, project(t, files))
			if err == nil {
				t.Fatal("build succeeded")
			}
			for _, w := range c.want {
				assertContains(t, log, w)
			}
			assertContains(t, log, "Dockerfile:3")
			assertContains(t, log, ">>> POETRY INSTALL")
		})
	}
}

// expand returns the content and, for a gzip stream, its decompressed form.
func expand(dt []byte) [][]byte {
	out := [][]byte{dt}
	if len(dt) > 2 && dt[0] == 0x1f && dt[1] == 0x8b {
		if zr, err := gzip.NewReader(bytes.NewReader(dt)); err == nil {
			if plain, err := io.ReadAll(zr); err == nil {
				out = append(out, plain)
			}
		}
	}
	return out
}
