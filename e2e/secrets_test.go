package e2e

import (
	"bytes"
	"context"
	"encoding/base64"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/xdockerfile/xdockerfile/internal/gitserver"
	"github.com/xdockerfile/xdockerfile/internal/lab"
	"github.com/xdockerfile/xdockerfile/internal/pyindex"
)

// Every way a credential reaches a POETRY INSTALL step leaves no trace of
// it: Poetry's auth.toml (the poetry-auth secret) and the per-variable
// secrets POETRY_HTTP_BASIC_<SOURCE>_USERNAME/_PASSWORD, each used by our
// installer for a wheel and by pip, through its netrc, for an sdist to
// build, and git's credential store (the git-credentials secret) for a
// private git dependency. Each build pushes its image and a registry cache
// export (mode=max); the secret values, as they are and base64- or
// URL-encoded, are in no layer, no image config or history, no blob of the
// cache export, not in the LLB and not in the build log. A marker that is
// no secret is found in each of those places, so the search is known to
// look where it says. An index or a git server that rejects a credential
// fails the build, and the log does not print the credential either.
//
// The frontend has no SSH support for git dependencies (no ssh mount;
// git-credentials over HTTPS is the way), so there is no SSH path to test.

// privateSources are a package index and a git server behind basic auth,
// each with a random password, serving a wheel, an sdist and a repository
// whose content names the test that made them.
type privateSources struct {
	name               string
	index              *pyindex.Server
	git                *gitserver.Server
	indexUser, gitUser string
	password, token    string
	pkgs               map[string]pkg // by kind: wheel, sdist, git
}

func newPrivateSources(t *testing.T, public *pyindex.Server, name string) *privateSources {
	t.Helper()
	s := &privateSources{
		name:      name,
		indexUser: "ci-" + name,
		gitUser:   "git-" + name,
		// characters that URL and base64 encodings change
		password: randomSecret(t, "xd-index-password") + "+/=",
		token:    randomSecret(t, "xd-git-token") + "+/=",
	}
	var err error
	if s.index, err = pyindex.NewServer(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.index.Close() })
	s.index.RequireBasicAuth(s.indexUser, s.password)
	if s.git, err = gitserver.Start(t.TempDir()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.git.Close() })
	s.git.RequireBasicAuth(s.gitUser, s.token)

	module := func(pkg, kind string) map[string]string {
		return map[string]string{pkg + "/__init__.py": fmt.Sprintf("VALUE = '%s from %s'\n", kind, name)}
	}
	wheelName, wheel, err := pyindex.BuildWheel(pyindex.Wheel{Name: "vaultwheel", Version: "1.0", Modules: module("vaultwheel", "wheel")})
	if err != nil {
		t.Fatal(err)
	}
	s.index.Add(wheelName, wheel)
	sdistName, sdist, err := pyindex.BuildSdist(pyindex.Wheel{Name: "vaultsrc", Version: "1.0", Modules: module("vaultsrc", "sdist")})
	if err != nil {
		t.Fatal(err)
	}
	s.index.Add(sdistName, sdist)
	tree, err := pyindex.SourceTree(pyindex.Wheel{Name: "vaultgit", Version: "1.0", Modules: module("vaultgit", "git")})
	if err != nil {
		t.Fatal(err)
	}
	commit, err := s.git.Commit("vaultgit", "main", tree)
	if err != nil {
		t.Fatal(err)
	}
	s.pkgs = map[string]pkg{
		"wheel": {name: "vaultwheel", version: "1.0", private: true, hash: pyindex.SHA256(wheel)},
		"sdist": {name: "vaultsrc", version: "1.0", private: true, files: []pyindex.File{{Name: sdistName, SHA256: pyindex.SHA256(sdist)}}},
		"git":   {name: "vaultgit", version: "1.0", git: gitSource{s.git.URL("vaultgit"), "main", commit, ""}},
	}
	return s
}

// project is a build context whose lock has the packages of those kinds,
// and whose Dockerfile installs them after a step that writes the marker,
// then writes what they say to /value.
func (s *privateSources) project(t *testing.T, public *pyindex.Server, marker string, kinds ...string) string {
	t.Helper()
	var pkgs []pkg
	var modules, values []string
	for _, k := range kinds {
		p := s.pkgs[k]
		pkgs = append(pkgs, p)
		modules = append(modules, p.name)
		values = append(values, p.name+".VALUE")
	}
	files := poetryProject(t, indexes{public: public, private: s.index}, pkgs, nil)
	files["Dockerfile"] = syntaxLine + `FROM 127.0.0.1:5000/python:3-bookworm-git
RUN echo ` + marker + ` > /marker
POETRY INSTALL
RUN /opt/venv/bin/python -c "import ` + strings.Join(modules, ", ") + `; print(` + strings.Join(values, ", ") + `, sep=', ')" > /value
`
	return project(t, files)
}

// want is what /value says when the packages of those kinds are installed.
func (s *privateSources) want(kinds ...string) string {
	var out []string
	for _, k := range kinds {
		out = append(out, k+" from "+s.name)
	}
	return strings.Join(out, ", ")
}

// authToml is the poetry-auth secret for the index, with password.
func (s *privateSources) authToml(t *testing.T, password string) string {
	t.Helper()
	return writeSecret(t, "auth.toml", fmt.Sprintf("[http-basic.private]\nusername = %q\npassword = %q\n", s.indexUser, password))
}

// gitCredentials is the git-credentials secret for the git server, with token.
func (s *privateSources) gitCredentials(t *testing.T, token string) string {
	t.Helper()
	u, err := url.Parse(s.git.URL("vaultgit"))
	if err != nil {
		t.Fatal(err)
	}
	return writeSecret(t, "git-credentials", fmt.Sprintf("http://%s@%s\n", url.UserPassword(s.gitUser, token), u.Host))
}

func writeSecret(t *testing.T, name, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// credentialForm is one way to give the index's credentials.
type credentialForm struct {
	name string
	args func(t *testing.T, s *privateSources, password string) ([]string, []string) // buildctl flags, environment
}

var credentialForms = []credentialForm{
	{"auth.toml", func(t *testing.T, s *privateSources, password string) ([]string, []string) {
		return []string{"--secret", "id=poetry-auth,src=" + s.authToml(t, password)}, nil
	}},
	{"variables", func(t *testing.T, s *privateSources, password string) ([]string, []string) {
		return []string{
				"--secret", "id=POETRY_HTTP_BASIC_PRIVATE_USERNAME,env=XD_SECRET_USER",
				"--secret", "id=POETRY_HTTP_BASIC_PRIVATE_PASSWORD,env=XD_SECRET_PASSWORD",
			},
			[]string{"XD_SECRET_USER=" + s.indexUser, "XD_SECRET_PASSWORD=" + password}
	}},
}

func TestSecretsLeaveNoTrace(t *testing.T) {
	need(t, "the python base image with git", pythonGitErr)
	public := buildIndex(t) // the build backend for the sdist, without auth
	marker := randomSecret(t, "not-a-secret-marker")

	// auth.toml with everything that takes a credential: the installer's
	// download, pip's build of an sdist (netrc), git's clone; the
	// variables, read by the same code, with the installer's download.
	for _, c := range []struct {
		form  credentialForm
		kinds []string
	}{
		{credentialForms[0], []string{"wheel", "sdist", "git"}},
		{credentialForms[1], []string{"wheel"}},
	} {
		t.Run(c.form.name, func(t *testing.T) {
			name := "nosecrets-" + strings.ReplaceAll(c.form.name, ".", "-")
			s := newPrivateSources(t, public, name)
			dir := s.project(t, public, marker, c.kinds...)
			args, env := c.form.args(t, s, s.password)
			secrets := append(args, "--secret", "id=git-credentials,src="+s.gitCredentials(t, s.token))
			image := theLab.Registry + "/" + name + ":latest"
			cache := theLab.Registry + "/" + name + ":buildcache"
			emptyDownloadCache(t) // every download goes through the credential

			ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
			defer cancel()
			start := time.Now()
			out, log, err := theLab.BuildctlOutput(ctx, env, append([]string{"--frontend", "dockerfile.v0",
				"--local", "context=" + dir, "--local", "dockerfile=" + dir,
				"--output", "type=image,name=" + image + ",push=true",
				"--export-cache", "type=registry,ref=" + cache + ",mode=max"}, secrets...)...)
			if err != nil {
				t.Fatal(err)
			}
			t.Logf("build: %s", time.Since(start).Round(time.Millisecond))
			log = out + log

			// The credentials were used: every package is behind one.
			img, err := theLab.ReadImage(ctx, image)
			if err != nil {
				t.Fatal(err)
			}
			value, err := theLab.Files(ctx, img, "value")
			if err != nil {
				t.Fatal(err)
			}
			if got, want := strings.TrimSpace(string(value["value"])), s.want(c.kinds...); got != want {
				t.Fatalf("/value is %q, want %q", got, want)
			}

			llb, llbLog, err := theLab.BuildctlOutput(ctx, env, append([]string{"--frontend", "dockerfile.v0",
				"--local", "context=" + dir, "--local", "dockerfile=" + dir,
				"--opt", "requestid=frontend.convertllb"}, secrets...)...)
			if err != nil {
				t.Fatal(err)
			}

			places := []place{{"the build log", "log", []byte(log)}, {"the LLB", "LLB", []byte(llb + llbLog)}}
			places = append(places, registryPlaces(t, ctx, image, "image")...)
			places = append(places, registryPlaces(t, ctx, cache, "cache export")...)
			var files []string
			for _, arg := range secrets {
				if _, src, ok := strings.Cut(arg, ",src="); ok {
					files = append(files, readFile(t, src))
				}
			}
			search(t, places, secretForms(s.indexUser, s.password, s.gitUser, s.token, files), marker,
				[]string{"log", "LLB", "image layer", "image config", "cache export layer"})
		})
	}

	// Rejected credentials fail the build, and no message prints them.
	s := newPrivateSources(t, public, "nosecrets-rejected")
	wrongPassword := randomSecret(t, "xd-wrong-password") + "+/="
	wrongToken := randomSecret(t, "xd-wrong-token") + "+/="
	for _, c := range []struct {
		name            string
		form            credentialForm
		kind            string
		password, token string
		want            string
	}{
		{"auth.toml", credentialForms[0], "wheel", wrongPassword, s.token, "HTTP 401"},
		{"variables", credentialForms[1], "wheel", wrongPassword, s.token, "HTTP 401"},
		{"git-credentials", credentialForms[0], "git", s.password, wrongToken, "pip could not install vaultgit"},
	} {
		t.Run("rejected "+c.name, func(t *testing.T) {
			dir := s.project(t, public, marker, c.kind)
			args, env := c.form.args(t, s, c.password)
			args = append(args, "--secret", "id=git-credentials,src="+s.gitCredentials(t, c.token))
			ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
			defer cancel()
			start := time.Now()
			out, log, err := theLab.BuildctlOutput(ctx, env, append([]string{"--frontend", "dockerfile.v0",
				"--local", "context=" + dir, "--local", "dockerfile=" + dir}, args...)...)
			if err == nil {
				t.Fatal("the build passed with a credential its server rejects")
			}
			t.Logf("failed, as it should, in %s", time.Since(start).Round(time.Millisecond))
			log = out + log
			assertContains(t, log, "POETRY INSTALL")
			assertContains(t, log, c.want)
			search(t, []place{{"the build log", "log", []byte(log)}}, secretForms(s.indexUser, c.password, s.gitUser, c.token, nil), marker, []string{"log"})
		})
	}
}

// place is where a secret must not be: what it is, its kind, its content.
type place struct {
	name, kind string
	data       []byte
}

// registryPlaces is every blob pushed under ref: manifests, configs, and
// layers decompressed.
func registryPlaces(t *testing.T, ctx context.Context, ref, what string) []place {
	t.Helper()
	blobs, err := theLab.RegistryBlobs(ctx, ref)
	if err != nil {
		t.Fatal(err)
	}
	var out []place
	for _, b := range blobs {
		kind := what + " blob"
		switch {
		case strings.Contains(b.MediaType, "manifest") || strings.Contains(b.MediaType, "index"):
			kind = what + " manifest"
		case strings.Contains(b.MediaType, "config"):
			kind = what + " config"
		case strings.Contains(b.MediaType, "layer"):
			kind = what + " layer"
		}
		out = append(out, place{fmt.Sprintf("%s %s (%s)", what, b.Digest, b.MediaType), kind, b.Data})
		plain, err := lab.Decompress(b.Data)
		if err != nil {
			t.Fatalf("%s: %v", b.Digest, err)
		}
		if !bytes.Equal(plain, b.Data) {
			out = append(out, place{fmt.Sprintf("%s %s, decompressed", what, b.Digest), kind, plain})
		}
	}
	if len(out) < 3 {
		t.Fatalf("%s: only %d blobs", ref, len(out))
	}
	return out
}

// secretForms are the ways a credential could show: as it is, URL-encoded,
// base64-encoded alone or in an HTTP basic Authorization header; and the
// secret files' contents, whole and in base64.
func secretForms(indexUser, password, gitUser, token string, files []string) []string {
	b64 := func(s string) []string {
		s = s[:len(s)/3*3] // whole groups: the same text inside a longer encoding
		return []string{base64.StdEncoding.EncodeToString([]byte(s)), base64.URLEncoding.EncodeToString([]byte(s))}
	}
	var forms []string
	for _, c := range [][2]string{{indexUser, password}, {gitUser, token}} {
		user, secret := c[0], c[1]
		forms = append(forms, secret, url.QueryEscape(secret), url.PathEscape(secret),
			strings.TrimPrefix(url.UserPassword(user, secret).String(), user+":"))
		forms = append(forms, b64(secret)...)
		forms = append(forms, b64(user+":"+secret)...)
	}
	for _, f := range files {
		forms = append(forms, strings.TrimSpace(f))
		forms = append(forms, b64(f)...)
	}
	slices.Sort(forms)
	return slices.Compact(forms)
}

// search fails the test for each place that holds a secret form, and
// unless the marker is found in a place of each kind in controls.
func search(t *testing.T, places []place, forms []string, marker string, controls []string) {
	t.Helper()
	found := map[string]int{}
	for _, p := range places {
		for _, f := range forms {
			if bytes.Contains(p.data, []byte(f)) {
				t.Errorf("a credential (%q) is in %s", f, p.name)
			}
		}
		if bytes.Contains(p.data, []byte(marker)) {
			found[p.kind]++
		}
	}
	for _, kind := range controls {
		if found[kind] == 0 {
			t.Errorf("the marker is in no %s: the search does not look where it should (found in %v)", kind, found)
		}
	}
	t.Logf("%d secret forms, none in %d places; the marker in %v", len(forms), len(places), found)
}
