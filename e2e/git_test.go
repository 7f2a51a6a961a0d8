package e2e

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/xdockerfile/xdockerfile/internal/gitserver"
	"github.com/xdockerfile/xdockerfile/internal/pyindex"
)

// TestPoetryInstallGitDependencies: git dependencies come from the commit
// the lock names, even after their branch moves on, from a subdirectory
// when locked so, from a private repository with credentials that only a
// secret carries; an image without git is told so.
func TestPoetryInstallGitDependencies(t *testing.T) {
	need(t, "the python base image with git", pythonGitErr)
	srv := buildIndex(t)
	public, err := gitserver.Start(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer public.Close()
	private, err := gitserver.Start(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer private.Close()
	const gitUser, gitToken = "robot", "g1t-t0ken-never-logged"
	private.RequireBasicAuth(gitUser, gitToken)

	tree := func(name, version, value, prefix string) map[string]string {
		files, err := pyindex.SourceTree(pyindex.Wheel{Name: name, Version: version, Modules: map[string]string{name + "/__init__.py": "VALUE = '" + value + "'\n"}})
		if err != nil {
			t.Fatal(err)
		}
		out := map[string]string{}
		for p, c := range files {
			out[prefix+p] = c
		}
		return out
	}
	locked, err := public.Commit("gitpkg", "main", tree("gitpkg", "1.0", "locked", ""))
	if err != nil {
		t.Fatal(err)
	}
	mono, err := public.Commit("mono", "main", tree("subpkg", "2.0", "from a subdirectory", "libs/sub/"))
	if err != nil {
		t.Fatal(err)
	}
	secret, err := private.Commit("secretgit", "trunk", tree("secretgit", "3.0", "private", ""))
	if err != nil {
		t.Fatal(err)
	}
	files := poetryProject(t, indexes{public: srv}, []pkg{
		{name: "gitpkg", version: "1.0", git: gitSource{public.URL("gitpkg"), "main", locked, ""}},
		{name: "subpkg", version: "2.0", git: gitSource{public.URL("mono"), "main", mono, "libs/sub"}},
		{name: "secretgit", version: "3.0", git: gitSource{private.URL("secretgit"), "trunk", secret, ""}},
	}, nil)
	// The branch moves on after the lock was written.
	if _, err := public.Commit("gitpkg", "main", tree("gitpkg", "1.0", "moved on", "")); err != nil {
		t.Fatal(err)
	}
	files["Dockerfile"] = syntaxLine + `FROM 127.0.0.1:5000/python:3-bookworm-git AS deps
POETRY INSTALL
RUN /opt/venv/bin/python -c "import gitpkg, subpkg, secretgit; print(gitpkg.VALUE, subpkg.VALUE, secretgit.VALUE, sep=', ')" > /value
FROM scratch
COPY --from=deps /value /value
`
	dir := project(t, files)
	creds := filepath.Join(t.TempDir(), "git-credentials")
	if err := os.WriteFile(creds, []byte("http://"+gitUser+":"+gitToken+"@"+strings.TrimPrefix(strings.TrimSuffix(private.URL("x"), "/x.git"), "http://")+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}

	// Without the credentials the private repository stays closed.
	log, _, err := build(t, dir)
	if err == nil {
		t.Fatal("built without the private repository's credentials")
	}
	assertNotContains(t, log, gitToken)

	image := filepath.Join(t.TempDir(), "image.tar")
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	log, err = theLab.RunEnv(ctx, nil, theLab.Buildctl, "--addr", theLab.Addr, "build", "--progress=plain",
		"--frontend", "dockerfile.v0", "--local", "context="+dir, "--local", "dockerfile="+dir,
		"--secret", "id=git-credentials,src="+creds, "--output", "type=oci,dest="+image)
	if err != nil {
		t.Fatalf("%v\n%s", err, log)
	}
	assertNotContains(t, log, gitToken)
	assertTarLacks(t, image, gitToken, "from a subdirectory, private")
	assertNotContains(t, subrequest(t, dir, "frontend.convertllb"), gitToken)
	_, out := mustBuild(t, dir, "--secret", "id=git-credentials,src="+creds)
	if got := strings.TrimSpace(readFile(t, filepath.Join(out, "value"))); got != "locked, from a subdirectory, private" {
		t.Fatalf("value %q", got)
	}

	// No git in the image: a message that says so, at the line.
	files["Dockerfile"] = syntaxLine + `FROM 127.0.0.1:5000/python:3-bookworm-git
RUN rm /usr/bin/git
POETRY INSTALL
`
	log, _, err = build(t, project(t, files))
	if err == nil {
		t.Fatal("git dependencies installed without git")
	}
	assertContains(t, log, "POETRY INSTALL: gitpkg, secretgit, subpkg: a git dependency, and this image has no git to fetch it with")
	assertContains(t, log, "Dockerfile:4")
}
