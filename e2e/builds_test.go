package e2e

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/xdockerfile/xdockerfile/internal/pyindex"
)

// Packages that need a build go to pip inside the step, still hash-checked,
// with their build backend from the project's package sources.

func TestPoetryInstallBuildsAnSdist(t *testing.T) {
	need(t, "the python base image", pythonErr)
	srv, err := pyindex.NewServer()
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	if err := srv.ServeBuildBackend(); err != nil {
		t.Fatal(err)
	}
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
RUN /opt/venv/bin/python -c "import srconly; print(srconly.VALUE)" > /value
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
