package e2e

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/xdockerfile/xdockerfile/internal/lab"
	"github.com/xdockerfile/xdockerfile/internal/pyindex"
	"github.com/xdockerfile/xdockerfile/poetry"
)

// CI machines that share nothing but a registry: what one machine's build
// exports, the next one's build comes back from, POETRY INSTALL included.
// The builds run the commands of docs/ci.md as written, with the lab's
// registry in place of registry.example.com. Steps around the dependency
// steps write random ids, so "came back from the cache" is read from the
// second machine's image, not from its log.

const (
	ciDoc           = "docs/ci.md"
	exampleRegistry = "registry.example.com/"
)

// ciRecipes are the blocks of docs/ci.md the tests below run.
var ciRecipes = []string{"registry", "buildx-builder", "buildx", "inline", "docker-inline", "secrets", "secrets-file"}

var (
	markerRE = regexp.MustCompile(`^<!-- (tested|not run): ?([^ ]*).*-->$`)
	fenceRE  = regexp.MustCompile("^```(sh|bash|console|shell)\\s*$")
)

// ciBlocks returns the shell blocks of docs/ci.md marked for the tests with
// `<!-- tested: NAME -->` on the line before the fence, and the shell
// blocks that carry no marker at all.
func ciBlocks(t *testing.T) (tested map[string]string, unmarked []string) {
	t.Helper()
	dt, err := os.ReadFile(filepath.Join(repoRoot, ciDoc))
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(string(dt), "\n")
	tested = map[string]string{}
	for i := 0; i < len(lines); i++ {
		if !fenceRE.MatchString(lines[i]) {
			continue
		}
		var body []string
		j := i + 1
		for ; j < len(lines) && lines[j] != "```"; j++ {
			body = append(body, lines[j])
		}
		block := strings.Join(body, "\n") + "\n"
		m := []string(nil)
		if i > 0 {
			m = markerRE.FindStringSubmatch(lines[i-1])
		}
		switch {
		case m == nil:
			unmarked = append(unmarked, fmt.Sprintf("%s:%d", ciDoc, i+1))
		case m[1] == "tested":
			if _, dup := tested[m[2]]; dup {
				t.Fatalf("%s:%d: a second block named %q", ciDoc, i, m[2])
			}
			tested[m[2]] = block
		}
		i = j
	}
	return tested, unmarked
}

func TestCacheRecipesAreAllRun(t *testing.T) {
	tested, unmarked := ciBlocks(t)
	if len(unmarked) > 0 {
		t.Errorf("shell blocks with neither <!-- tested: NAME --> nor <!-- not run: why --> before them: %v", unmarked)
	}
	var names []string
	for name := range tested {
		names = append(names, name)
	}
	slices.Sort(names)
	want := slices.Sorted(slices.Values(ciRecipes))
	if !slices.Equal(names, want) {
		t.Errorf("%s marks %v as tested; the tests run %v", ciDoc, names, want)
	}
}

// ciMachine is where a block runs: buildctl talks to buildkitd at
// buildkitHost, docker to the lab's engine; or, when dockerConfig is set,
// docker is the buildx client alone, keeping its builders there.
type ciMachine struct {
	name         string
	buildkitHost string
	dockerConfig string
}

// withBuildx is m with the buildx client for docker and a configuration
// of its own, with no builder yet.
func withBuildx(t *testing.T, m ciMachine) ciMachine {
	t.Helper()
	need(t, "buildx", buildxErr)
	m.dockerConfig = t.TempDir()
	return m
}

// runRecipe runs the block of docs/ci.md named recipe in the build context
// dir, on machine m, with the images of the block renamed into the lab's
// registry under scope, and returns its output.
func runRecipe(t *testing.T, recipe string, m ciMachine, dir, scope string, env ...string) string {
	t.Helper()
	blocks, _ := ciBlocks(t)
	block, ok := blocks[recipe]
	if !ok {
		t.Fatalf("%s has no block marked <!-- tested: %s -->", ciDoc, recipe)
	}
	return runScript(t, recipe, block, m, dir, scope, env...)
}

// runScript runs a shell script as runRecipe runs a block.
func runScript(t *testing.T, name, block string, m ciMachine, dir, scope string, env ...string) string {
	t.Helper()
	script := strings.ReplaceAll(block, exampleRegistry, theLab.Registry+"/"+scope+"-")
	bin := t.TempDir()
	// The tests' package indexes listen on the host's loopback; a CI
	// machine reaches its index over the network it builds with.
	wrapper := "#!/bin/sh\nif [ \"$1\" = build ]; then shift; exec " + lab.DockerClient + " build --network host --progress plain \"$@\"; fi\nexec " + lab.DockerClient + " \"$@\"\n"
	if m.dockerConfig != "" {
		// buildx runs standalone; any other docker command is not there.
		wrapper = "#!/bin/sh\nif [ \"$1\" = buildx ]; then shift; exec " + buildxBin + " \"$@\"; fi\necho \"docker $1: only buildx is on this machine\" >&2\nexit 127\n"
	}
	if err := os.WriteFile(filepath.Join(bin, "docker"), []byte(wrapper), 0o755); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "sh", "-eu", "-c", script)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(),
		"PATH="+bin+":"+filepath.Dir(theLab.Buildctl)+":"+os.Getenv("PATH"),
		"BUILDKIT_HOST="+m.buildkitHost,
		"DOCKER_HOST="+dockerHost,
	)
	if m.dockerConfig != "" {
		cmd.Env = append(cmd.Env, "DOCKER_CONFIG="+m.dockerConfig, "BUILDKIT_PROGRESS=plain")
	}
	cmd.Env = append(cmd.Env, env...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	start := time.Now()
	err := cmd.Run()
	t.Logf("%s on %s: %s", name, m.name, time.Since(start).Round(time.Millisecond))
	if err != nil && lab.PushRace(out.String()) {
		t.Logf("%s on %s: the registry refused a concurrent upload of one layer; running it again", name, m.name)
		retry := exec.CommandContext(ctx, cmd.Args[0], cmd.Args[1:]...)
		retry.Dir, retry.Env, retry.Stdout, retry.Stderr = cmd.Dir, cmd.Env, &out, &out
		err = retry.Run()
	}
	if err != nil {
		t.Fatalf("%s on %s: %v\n%s\n%s", name, m.name, err, script, out.String())
	}
	return out.String()
}

// firstMachine is the lab's buildkitd, which has built other things.
func firstMachine() ciMachine {
	return ciMachine{name: "the first machine", buildkitHost: theLab.Addr}
}

// freshMachine starts a buildkitd with an empty store, sharing only the
// registry with the lab's.
func freshMachine(t *testing.T, name string) ciMachine {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	b, err := theLab.StartAnotherBuildkitd(ctx, name)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(b.Stop)
	return ciMachine{name: "a machine with an empty store", buildkitHost: b.Addr}
}

// cacheDockerfile is one stage whose steps leave marks no re-run can
// reproduce: a random id before the dependency steps (/id-0) and one after
// each (/id-1…), then what the modules installed say (/value). salt sets
// each test's steps apart, so the first machine really runs them.
func cacheDockerfile(salt string, modules []string, installs ...string) string {
	var b strings.Builder
	b.WriteString(syntaxLine + "FROM 127.0.0.1:5000/python:3-bookworm\n")
	fmt.Fprintf(&b, "RUN echo %s > /salt && cat /proc/sys/kernel/random/uuid > /id-0\n", salt)
	for i, in := range installs {
		fmt.Fprintf(&b, "%s\nRUN cat /proc/sys/kernel/random/uuid > /id-%d\n", in, i+1)
	}
	var values []string
	for _, m := range modules {
		values = append(values, m+".VALUE")
	}
	fmt.Fprintf(&b, "RUN /opt/venv/bin/python -c \"import %s; print(%s)\" > /value\n", strings.Join(modules, ", "), strings.Join(values, ", "))
	return b.String()
}

// marks are what a build left in the image it pushed.
type marks struct {
	files   map[string]string // id-0…id-n and value
	diffIDs []string
}

func readMarks(t *testing.T, ref string) marks {
	t.Helper()
	return readMarksOf(t, ref, len(cacheInstalls))
}

// readMarksOf reads the marks of a build with that many dependency steps.
func readMarksOf(t *testing.T, ref string, installs int) marks {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	img, err := theLab.ReadImage(ctx, ref)
	if err != nil {
		t.Fatal(err)
	}
	names := []string{"value"}
	for i := 0; i <= installs; i++ {
		names = append(names, fmt.Sprintf("id-%d", i))
	}
	files, err := theLab.Files(ctx, img, names...)
	if err != nil {
		t.Fatal(err)
	}
	m := marks{files: map[string]string{}, diffIDs: img.DiffIDs}
	for name, content := range files {
		m.files[name] = strings.TrimSpace(string(content))
	}
	return m
}

// assertSameBuild fails unless the second image is made of the first one's
// steps, come back from the cache: the same random ids, the same layers,
// and no request to a package index while the second was built.
func assertSameBuild(t *testing.T, first, second marks, wantValue string, secondIndexLogs ...[]string) {
	t.Helper()
	if first.files["value"] != wantValue {
		t.Errorf("the first machine's venv says %q, want %q", first.files["value"], wantValue)
	}
	for name, id := range first.files {
		if second.files[name] != id {
			t.Errorf("/%s is %q on the first machine, %q on the second: the step ran again", name, id, second.files[name])
		}
	}
	if !slices.Equal(first.diffIDs, second.diffIDs) {
		t.Errorf("the layers differ:\nfirst  %v\nsecond %v", first.diffIDs, second.diffIDs)
	}
	for _, log := range secondIndexLogs {
		if len(log) > 0 {
			t.Errorf("the second machine asked a package index %v: POETRY INSTALL ran again", log)
		}
	}
}

// cacheInstalls are the dependency steps of the cache tests' Dockerfile,
// each followed by a step that writes a random id.
var cacheInstalls = []string{"POETRY INSTALL"}

// cacheProject is a project whose lock has alpha from the public index.
func cacheProject(t *testing.T, scope string) (string, indexes) {
	t.Helper()
	ix := startIndexes(t)
	files := poetryProject(t, ix, []pkg{{name: "alpha", version: "1.0"}}, nil)
	files["Dockerfile"] = cacheDockerfile(scope, []string{"alpha"}, cacheInstalls...)
	return project(t, files), ix
}

// ciImage is the image name, in a block of docs/ci.md, as the block run
// under scope pushes it.
func ciImage(scope, name string) string {
	return theLab.Registry + "/" + scope + "-" + strings.TrimPrefix(name, exampleRegistry)
}

func TestCacheRegistryModeMax(t *testing.T) { buildOnTwoMachines(t, "registry") }

func TestCacheInline(t *testing.T) { buildOnTwoMachines(t, "inline") }

// buildOnTwoMachines runs a recipe on the lab's buildkitd, then on a fresh
// one that has only what the first exported: the second must re-run no
// step and fetch nothing from the index.
func buildOnTwoMachines(t *testing.T, recipe string) {
	scope := recipe
	dir, ix := cacheProject(t, scope)
	runRecipe(t, recipe, firstMachine(), dir, scope)
	first := readMarks(t, ciImage(scope, "app:latest"))

	ix.public.ResetLog()
	runRecipe(t, recipe, freshMachine(t, "buildkitd-"+scope), dir, scope)
	second := readMarks(t, ciImage(scope, "app:latest"))
	assertSameBuild(t, first, second, "alpha-1.0", ix.public.Log())
}

// The project itself, installed by POETRY INSTALL --only-root below the
// dependency step, comes back from the registry cache as well: its build
// backend is never fetched again and its step's id is the first machine's.
func TestCacheOnlyRoot(t *testing.T) {
	const scope = "onlyroot"
	need(t, "the python base image", pythonErr)
	srv := buildIndex(t)
	files := cliProject(t, srv, nil)
	files["Dockerfile"] = cacheDockerfile(scope, []string{"cliutil"}, "POETRY INSTALL --only=main", "POETRY INSTALL --only-root")
	files[".dockerignore"] += "Dockerfile\n"
	dir := project(t, files)
	runRecipe(t, "registry", firstMachine(), dir, scope)
	first := readMarksOf(t, ciImage(scope, "app:latest"), 2)
	if !slices.Contains(srv.Log(), "GET /simple/setuptools/ 200") {
		t.Fatalf("the first machine did not fetch the build backend: %v", srv.Log())
	}

	srv.ResetLog()
	runRecipe(t, "registry", freshMachine(t, "buildkitd-onlyroot"), dir, scope)
	second := readMarksOf(t, ciImage(scope, "app:latest"), 2)
	assertSameBuild(t, first, second, "cliutil says hello", srv.Log())
}

// docker buildx with --cache-to and --cache-from, on a builder of the
// remote driver created on each machine's buildkitd as docs/ci.md says.
func TestCacheBuildx(t *testing.T) {
	const scope = "buildx"
	dir, ix := cacheProject(t, scope)
	const builder = `building with "ci" instance using remote driver`
	first := withBuildx(t, firstMachine())
	runRecipe(t, "buildx-builder", first, dir, scope)
	assertContains(t, runRecipe(t, "buildx", first, dir, scope), builder)
	firstMarks := readMarks(t, ciImage(scope, "app:latest"))

	ix.public.ResetLog()
	second := withBuildx(t, freshMachine(t, "buildkitd-buildx"))
	runRecipe(t, "buildx-builder", second, dir, scope)
	if n := storeRecords(t, second.buildkitHost); n != 0 {
		t.Fatalf("the second machine's store has %d records before its build", n)
	}
	assertContains(t, runRecipe(t, "buildx", second, dir, scope), builder)
	// The build ran on the second machine's buildkitd, not the first's.
	if storeRecords(t, second.buildkitHost) == 0 {
		t.Fatal("the second machine's store is still empty: the build ran elsewhere")
	}
	secondMarks := readMarks(t, ciImage(scope, "app:latest"))
	assertSameBuild(t, firstMarks, secondMarks, "alpha-1.0", ix.public.Log())
}

// storeRecords counts the build cache records of the buildkitd at addr.
func storeRecords(t *testing.T, addr string) int {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	out, err := theLab.Run(ctx, theLab.Buildctl, "--addr", addr, "du", "--format", "{{json .}}")
	if err != nil {
		t.Fatal(err)
	}
	var records []struct {
		ID string `json:"id"`
	}
	if err := json.Unmarshal([]byte(out), &records); err != nil {
		t.Fatalf("buildctl du: %v\n%s", err, out)
	}
	return len(records)
}

// Docker 20.10's own BuildKit, as the recipe that docs/ci.md takes from
// the usual advice: build with BUILDKIT_INLINE_CACHE=1, push, and on a
// machine that has nothing, build with --cache-from.
func TestCacheDockerEngineInline(t *testing.T) {
	need(t, "the docker engine", dockerErr)
	const scope = "docker"
	dir, ix := cacheProject(t, scope)
	engine := ciMachine{name: "docker"}
	runRecipe(t, "docker-inline", engine, dir, scope)
	ref := ciImage(scope, "app:latest")
	first := readMarks(t, ref)

	// The same engine with nothing left: no build cache, no image.
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if _, err := theLab.Docker(ctx, dockerHost, "builder", "prune", "-af"); err != nil {
		t.Fatal(err)
	}
	if _, err := theLab.Docker(ctx, dockerHost, "rmi", ref); err != nil {
		t.Fatal(err)
	}
	if _, err := theLab.Docker(ctx, dockerHost, "image", "inspect", ref); err == nil {
		t.Fatalf("%s is still there after rmi", ref)
	}

	ix.public.ResetLog()
	runRecipe(t, "docker-inline", engine, dir, scope)
	second := readMarks(t, ref)
	assertSameBuild(t, first, second, "alpha-1.0", ix.public.Log())
}

// twoPasswordIndex is a package index behind basic auth that takes either
// of two passwords for one user, as an index does while a token is being
// rotated, and counts the requests each password made.
type twoPasswordIndex struct {
	files     *pyindex.Server // serves the files, without auth, behind the check
	front     *httptest.Server
	user      string
	passwords [2]string

	mu   sync.Mutex
	used map[string]int
}

func newTwoPasswordIndex(t *testing.T, user string, passwords [2]string) *twoPasswordIndex {
	t.Helper()
	files, err := pyindex.NewServer()
	if err != nil {
		t.Fatal(err)
	}
	ix := &twoPasswordIndex{files: files, user: user, passwords: passwords, used: map[string]int{}}
	ix.front = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		u, p, ok := r.BasicAuth()
		if !ok || u != ix.user || (p != ix.passwords[0] && p != ix.passwords[1]) {
			w.Header().Set("WWW-Authenticate", `Basic realm="index"`)
			http.Error(w, "unauthorized", http.StatusUnauthorized)
			return
		}
		ix.mu.Lock()
		ix.used[p]++
		ix.mu.Unlock()
		files.ServeHTTP(w, r)
	}))
	t.Cleanup(func() { ix.front.Close(); files.Close() })
	return ix
}

func (ix *twoPasswordIndex) requestsWith(password string) int {
	ix.mu.Lock()
	defer ix.mu.Unlock()
	return ix.used[password]
}

// retarget points a project's private source at another index: the URL in
// pyproject.toml and poetry.lock, and the content-hash that covers it.
func retarget(t *testing.T, files map[string]string, from, to string) {
	t.Helper()
	oldHash, err := poetry.ContentHash([]byte(files["pyproject.toml"]))
	if err != nil {
		t.Fatal(err)
	}
	files["pyproject.toml"] = strings.ReplaceAll(files["pyproject.toml"], from, to)
	newHash, err := poetry.ContentHash([]byte(files["pyproject.toml"]))
	if err != nil {
		t.Fatal(err)
	}
	lock := strings.ReplaceAll(files["poetry.lock"], from, to)
	files["poetry.lock"] = strings.Replace(lock, oldHash, newHash, 1)
}

func randomSecret(t *testing.T, what string) string {
	t.Helper()
	b := make([]byte, 12)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return what + "-" + hex.EncodeToString(b)
}

// Credentials are no part of any cache key: a machine with another
// password, passed another way, gets every step from the first machine's
// cache, and neither password is in a log or in the cache export.
func TestCacheCredentialsAreNotInTheKey(t *testing.T) {
	const scope = "secrets"
	ix := startIndexes(t)
	passX, passY := randomSecret(t, "first-machine-password"), randomSecret(t, "second-machine-password")
	private := newTwoPasswordIndex(t, privateUser, [2]string{passX, passY})
	vault := pyindex.Wheel{Name: "vault", Version: "1.0", Modules: map[string]string{"vault/__init__.py": "VALUE = 'vault-from-the-private-index'\n"}}
	name, data, err := pyindex.BuildWheel(vault)
	if err != nil {
		t.Fatal(err)
	}
	private.files.Add(name, data)
	for _, pass := range []string{"", "not-" + passX} {
		req, _ := http.NewRequest(http.MethodGet, private.front.URL+"/simple/", nil)
		req.SetBasicAuth(privateUser, pass)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusUnauthorized {
			t.Fatalf("the private index answers %s to a wrong password", resp.Status)
		}
	}

	files := poetryProject(t, ix, []pkg{
		{name: "alpha", version: "1.0"},
		{name: "vault", version: "1.0", private: true, hash: pyindex.SHA256(data)},
	}, nil)
	retarget(t, files, strings.TrimSuffix(ix.private.URL(), "/simple/"), private.front.URL)
	files["Dockerfile"] = cacheDockerfile(scope, []string{"alpha", "vault"}, cacheInstalls...)
	dir := project(t, files)

	logA := runRecipe(t, "secrets", firstMachine(), dir, scope,
		"PRIVATE_INDEX_USER="+privateUser, "PRIVATE_INDEX_PASSWORD="+passX)
	if private.requestsWith(passX) == 0 {
		t.Fatal("the first machine never used its password: the test proves nothing")
	}
	first := readMarks(t, ciImage(scope, "app:latest"))

	ix.public.ResetLog()
	private.files.ResetLog()
	logB := runRecipe(t, "secrets-file", freshMachine(t, "buildkitd-secrets"), dir, scope,
		"PRIVATE_INDEX_USER="+privateUser, "PRIVATE_INDEX_PASSWORD="+passY)
	second := readMarks(t, ciImage(scope, "app:latest"))
	assertSameBuild(t, first, second, "alpha-1.0 vault-from-the-private-index", ix.public.Log(), private.files.Log())
	if n := private.requestsWith(passY); n > 0 {
		t.Errorf("the second machine sent its password %d times", n)
	}

	for _, pass := range []string{passX, passY} {
		assertNotContains(t, logA, pass)
		assertNotContains(t, logB, pass)
	}

	// Every blob of the cache export, layers decompressed: the passwords
	// are in none, and what the steps wrote is there to be found.
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	blobs, err := theLab.RegistryBlobs(ctx, ciImage(scope, "app:buildcache"))
	if err != nil {
		t.Fatal(err)
	}
	found := map[string]bool{}
	wanted := []string{first.files["id-0"], first.files["id-1"], "vault-from-the-private-index"}
	for _, b := range blobs {
		content, err := lab.Decompress(b.Data)
		if err != nil {
			t.Fatalf("%s: %v", b.Digest, err)
		}
		for _, dt := range [][]byte{b.Data, content} {
			for _, pass := range []string{passX, passY} {
				if bytes.Contains(dt, []byte(pass)) {
					t.Errorf("a password is in the cache export: %s (%s)", b.Digest, b.MediaType)
				}
			}
			for _, w := range wanted {
				found[w] = found[w] || bytes.Contains(dt, []byte(w))
			}
		}
	}
	for _, w := range wanted {
		if !found[w] {
			t.Errorf("%q is in none of the cache export's %d blobs: the search is broken", w, len(blobs))
		}
	}
}
