package e2e

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/xdockerfile/xdockerfile/internal/pyindex"
)

// Packages that need a build go to pip inside the step, still hash-checked,
// with their build backend from the project's package sources.

// buildIndex is an index of its own that serves the build backend.
func buildIndex(t *testing.T) *pyindex.Server {
	t.Helper()
	srv, err := pyindex.NewServer()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	if err := srv.ServeBuildBackend(); err != nil {
		t.Fatal(err)
	}
	return srv
}

func TestPoetryInstallBuildsAnSdist(t *testing.T) {
	need(t, "the python base image", pythonErr)
	srv := buildIndex(t)
	src := pyindex.Wheel{Name: "srconly", Version: "0.9", Modules: map[string]string{"srconly/__init__.py": "VALUE = 'built from source'\n"}}
	name, data, err := pyindex.BuildSdist(src)
	if err != nil {
		t.Fatal(err)
	}
	srv.Add(name, data)
	files := poetryProject(t, indexes{public: srv}, []pkg{
		{name: "srconly", version: "0.9", files: []pyindex.File{{Name: name, SHA256: pyindex.SHA256(data)}}},
	}, nil)
	files["Dockerfile"] = syntaxLine + `
FROM 127.0.0.1:5000/python:3-bookworm AS deps
POETRY INSTALL
` + printValues("srconly") + `
FROM scratch
COPY --from=deps /value /value
`
	dir := project(t, files)
	log, out := mustBuild(t, dir)
	if got := strings.TrimSpace(readFile(t, filepath.Join(out, "value"))); got != "built from source" {
		t.Fatalf("value %q", got)
	}
	assertContains(t, log, "installed 1 packages (0 downloaded, 0.0 MB; 0 from cache; 1 built")

	// A replaced sdist fails pip's hash check, at the line.
	_, other, _ := pyindex.BuildSdist(pyindex.Wheel{Name: "srconly", Version: "0.9", Modules: map[string]string{"srconly/__init__.py": "VALUE = 'tampered'\n"}})
	srv.Add(name, other)
	log, _, err = build(t, dir, "--no-cache")
	if err == nil {
		t.Fatal("a replaced sdist was built")
	}
	assertContains(t, log, "THESE PACKAGES DO NOT MATCH THE HASHES")
	assertContains(t, log, "POETRY INSTALL: pip could not install srconly")
	assertContains(t, log, "Dockerfile:4")
}

// TestPoetryInstallURLDependencies: a wheel and an sdist locked by URL, each
// with its hash: the wheel is ours to download and check, the sdist pip's
// to build; a replaced file fails either.
func TestPoetryInstallURLDependencies(t *testing.T) {
	need(t, "the python base image", pythonErr)
	srv := buildIndex(t)
	whlName, whl, err := pyindex.BuildWheel(pyindex.Wheel{Name: "urlwheel", Version: "1.0", Modules: map[string]string{"urlwheel/__init__.py": "VALUE = 'wheel by url'\n"}})
	if err != nil {
		t.Fatal(err)
	}
	sdName, sd, err := pyindex.BuildSdist(pyindex.Wheel{Name: "urlsdist", Version: "2.0", Modules: map[string]string{"urlsdist/__init__.py": "VALUE = 'sdist by url'\n"}})
	if err != nil {
		t.Fatal(err)
	}
	srv.Add(whlName, whl)
	srv.Add(sdName, sd)
	base := strings.TrimSuffix(srv.URL(), "simple/")
	files := poetryProject(t, indexes{public: srv}, []pkg{
		{name: "urlwheel", version: "1.0", url: base + "files/" + whlName, files: []pyindex.File{{Name: whlName, SHA256: pyindex.SHA256(whl)}}},
		{name: "urlsdist", version: "2.0", url: base + "files/" + sdName, files: []pyindex.File{{Name: sdName, SHA256: pyindex.SHA256(sd)}}},
	}, nil)
	files["Dockerfile"] = syntaxLine + `FROM 127.0.0.1:5000/python:3-bookworm AS deps
POETRY INSTALL
` + printValues("urlwheel", "urlsdist") + `
FROM scratch
COPY --from=deps /value /value
`
	dir := project(t, files)
	log, out := mustBuild(t, dir)
	if got := strings.TrimSpace(readFile(t, filepath.Join(out, "value"))); got != "wheel by url sdist by url" {
		t.Fatalf("value %q", got)
	}
	assertContains(t, log, "installed 2 packages (1 downloaded")
	assertContains(t, log, "1 built")

	_, other, _ := pyindex.BuildWheel(pyindex.Wheel{Name: "urlwheel", Version: "1.0", Modules: map[string]string{"urlwheel/__init__.py": "VALUE = 'tampered'\n"}})
	srv.Add(whlName, other)
	log, _, err = build(t, dir, "--no-cache")
	if err == nil {
		t.Fatal("a replaced wheel was installed")
	}
	assertContains(t, log, "POETRY INSTALL: urlwheel 1.0: "+whlName+" does not match the lock")
	assertContains(t, log, "Dockerfile:3")
}
