package e2e

import (
	"context"
	"encoding/base64"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"
)

// The daemons and clients users run: the dialect and POETRY INSTALL through
// older buildkitds, each driven by its own buildctl, next to the pinned one.
// What each can do is docs/compatibility.md's matrix, which this test
// writes with -update and otherwise checks.

var updateCompat = flag.Bool("update", false, "rewrite docs/compatibility.md's matrix from TestCompat's results")

// compatEnv names the older BuildKit builds: "v0.12.5=/bin/dir,v0.13.2=…",
// as the Makefile sets it from hack/deps.sh.
const compatEnv = "XDOCKERFILE_BUILDKIT_COMPAT"

// pinnedVersion is the BuildKit version of go.mod and of the lab's daemon.
const pinnedVersion = "v0.34.2"

// compatDaemon is a buildkitd and the buildctl of its version; an older
// one is started from bin by the test, the lab's is running.
type compatDaemon struct {
	version  string
	bin      string
	addr     string
	buildctl string
}

func (d compatDaemon) build(t *testing.T, dir string, env []string, args ...string) (string, string, error) {
	t.Helper()
	out := filepath.Join(t.TempDir(), "out")
	all := append([]string{"--addr", d.addr, "build", "--progress=plain", "--frontend", "dockerfile.v0",
		"--local", "context=" + dir, "--local", "dockerfile=" + dir,
		"--output", "type=local,dest=" + out}, args...)
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	log, err := theLab.RunEnv(ctx, env, d.buildctl, all...)
	return log, out, err
}

// compatCase is one feature as a user exercises it. run returns nil when
// the feature works, with its result checked by content, and the build's
// log and error otherwise.
type compatCase struct {
	id   string // the subtest's name, also in temporary paths
	name string // the matrix's row
	run  func(t *testing.T, d compatDaemon) (log string, err error)
}

// unsupported is how the frontend says up front that the daemon lacks a
// capability it needs: the first line of that message is the matrix entry.
var unsupported = regexp.MustCompile(`xdockerfile needs [^\n]*`)

func TestCompat(t *testing.T) {
	daemons := compatDaemons(t)
	cases := compatCases()
	results := map[string]map[string]string{} // case → version → entry
	for _, c := range cases {
		results[c.name] = map[string]string{}
	}
	for _, d := range daemons {
		t.Run(d.version, func(t *testing.T) {
			start := time.Now()
			if d.addr == "" {
				ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
				defer cancel()
				name := "buildkitd-" + strings.ReplaceAll(d.version, ".", "-")
				b, err := theLab.StartBuildkitdOf(ctx, d.bin, name)
				if err != nil {
					t.Fatalf("buildkitd %s: %v", d.version, err)
				}
				defer b.Stop()
				d.addr, d.buildctl = b.Addr, b.Buildctl
			}
			for _, c := range cases {
				t.Run(c.id, func(t *testing.T) {
					log, err := c.run(t, d)
					switch {
					case err == nil:
						results[c.name][d.version] = "works"
					case unsupported.MatchString(log):
						results[c.name][d.version] = "error: " + strings.TrimSpace(unsupported.FindString(log))
					default:
						results[c.name][d.version] = "FAILS"
						t.Errorf("%v\n%s", err, log)
					}
				})
			}
			t.Logf("BuildKit %s: %d features in %s", d.version, len(cases), time.Since(start).Round(time.Second))
		})
	}
	if t.Failed() {
		return
	}
	checkCompatMatrix(t, daemons, cases, results)
}

// compatDaemons lists the older versions from the environment, oldest
// first, and the lab's own daemon last. They are required in CI.
func compatDaemons(t *testing.T) []compatDaemon {
	t.Helper()
	var out []compatDaemon
	spec := os.Getenv(compatEnv)
	if spec == "" {
		need(t, "the older BuildKit versions", fmt.Errorf("%s is not set (`make e2e` sets it from hack/deps.sh)", compatEnv))
	}
	for _, kv := range strings.Split(spec, ",") {
		version, bin, ok := strings.Cut(strings.TrimSpace(kv), "=")
		if !ok || version == "" || bin == "" {
			t.Fatalf("%s: %q is not version=bin-dir", compatEnv, kv)
		}
		if version == pinnedVersion {
			continue // the lab's daemon
		}
		for _, tool := range []string{"buildkitd", "buildctl"} {
			if _, err := os.Stat(filepath.Join(bin, tool)); err != nil {
				t.Fatalf("%s: %v", compatEnv, err)
			}
		}
		out = append(out, compatDaemon{version: version, bin: bin})
	}
	sort.Slice(out, func(i, j int) bool { return versionLess(out[i].version, out[j].version) })
	return append(out, compatDaemon{version: pinnedVersion, addr: theLab.Addr, buildctl: theLab.Buildctl})
}

// versionLess orders vMAJOR.MINOR.PATCH numerically.
func versionLess(a, b string) bool {
	pa, pb := versionParts(a), versionParts(b)
	for i := range pa {
		if pa[i] != pb[i] {
			return pa[i] < pb[i]
		}
	}
	return false
}

func versionParts(v string) [3]int {
	var p [3]int
	fmt.Sscanf(strings.TrimPrefix(v, "v"), "%d.%d.%d", &p[0], &p[1], &p[2])
	return p
}

// want reads files of a build's output and compares them, trimmed.
func want(out string, files map[string]string) error {
	for name, content := range files {
		dt, err := os.ReadFile(filepath.Join(out, name))
		if err != nil {
			return err
		}
		if got := strings.TrimSpace(string(dt)); got != content {
			return fmt.Errorf("%s = %q, want %q", name, got, content)
		}
	}
	return nil
}

// absent fails when a build's output has a file.
func absent(out string, names ...string) error {
	for _, name := range names {
		if _, err := os.Stat(filepath.Join(out, name)); err == nil {
			return fmt.Errorf("%s is in the output", name)
		}
	}
	return nil
}

// contains fails when a log lacks one of subs.
func contains(log string, subs ...string) error {
	for _, s := range subs {
		if !strings.Contains(log, s) {
			return fmt.Errorf("the output does not contain %q", s)
		}
	}
	return nil
}

// built runs a build and then the checks on its output.
func built(log, out string, err error, check func(out string) error) (string, error) {
	if err != nil {
		return log, err
	}
	return log, check(out)
}

func compatCases() []compatCase {
	return []compatCase{
		{"if-build-arg", "IF/ELSE IF/ELSE by build argument", func(t *testing.T, d compatDaemon) (string, error) {
			dir := versionProject(t)
			for arg, v := range map[string]string{"1": "one", "2": "two"} {
				log, out, err := d.build(t, dir, nil, buildArgs("BUILD_VERSION="+arg)...)
				if log, err := built(log, out, err, func(out string) error { return want(out, map[string]string{"version": v}) }); err != nil {
					return log, err
				}
			}
			return "", nil
		}},
		{"if-platform", "IF by `--opt platform=linux/arm64`", func(t *testing.T, d compatDaemon) (string, error) {
			dir := project(t, map[string]string{
				"Dockerfile": syntaxLine + "FROM scratch\nIF $TARGETARCH == arm64\nCOPY arm64.txt /arch\nELSE\nCOPY amd64.txt /arch\nEND\n",
				"amd64.txt":  "amd64\n",
				"arm64.txt":  "arm64\n",
			})
			log, out, err := d.build(t, dir, nil, "--opt", "platform=linux/arm64")
			return built(log, out, err, func(out string) error { return want(out, map[string]string{"arch": "arm64"}) })
		}},
		{"multi-platform", "multi-platform build, a branch per platform", func(t *testing.T, d compatDaemon) (string, error) {
			dir := platformProject(t)
			log, out, err := d.build(t, dir, nil, "--opt", "platform=linux/amd64,linux/arm64")
			return built(log, out, err, func(out string) error {
				for _, arch := range []string{"amd64", "arm64"} {
					other := map[string]string{"amd64": "arm64", "arm64": "amd64"}[arch]
					p := filepath.Join(out, "linux_"+arch)
					if err := want(p, map[string]string{"tool.txt": arch, "only-on-" + arch: arch}); err != nil {
						return err
					}
					if err := absent(p, "only-on-"+other); err != nil {
						return err
					}
				}
				return nil
			})
		}},
		{"exists", "EXISTS, honouring .dockerignore", func(t *testing.T, d compatDaemon) (string, error) {
			dir := existsProject(t)
			log, out, err := d.build(t, dir, nil)
			return built(log, out, err, func(out string) error {
				if err := want(out, map[string]string{"app.toml": "name = 'x'", "no-vendor": "m"}); err != nil {
					return err
				}
				return absent(out, "secret-key-seen")
			})
		}},
		{"variables-in-from", "`COPY --from=build-${src}`, `RUN --mount=…,from=tools-${TARGETARCH}`", func(t *testing.T, d compatDaemon) (string, error) {
			dir := variablesProject(t)
			log, out, err := d.build(t, dir, nil, buildArgs("src=stage1")...)
			return built(log, out, err, func(out string) error {
				if err := want(out, map[string]string{"copied": "one", "mounted": "amd64-tool"}); err != nil {
					return err
				}
				if strings.Contains(log, "no-such-image") {
					return fmt.Errorf("the unused stage's image was resolved")
				}
				return nil
			})
		}},
		{"named-context", "`--build-context` (a named local context)", func(t *testing.T, d compatDaemon) (string, error) {
			dir := project(t, map[string]string{"Dockerfile": syntaxLine + `
FROM scratch
IF EXISTS local.txt
COPY local.txt /from-main
END
ARG which=shared
COPY --from=${which} data.txt /from-named
`})
			shared := project(t, map[string]string{"data.txt": "named\n"})
			log, out, err := d.build(t, dir, nil, "--local", "shared="+shared, "--opt", "context:shared=local:shared")
			return built(log, out, err, func(out string) error {
				if err := absent(out, "from-main"); err != nil {
					return err
				}
				return want(out, map[string]string{"from-named": "named"})
			})
		}},
		{"dialect-error", "a dialect error at the user's line, with the snippet", func(t *testing.T, d compatDaemon) (string, error) {
			dir := project(t, map[string]string{"Dockerfile": syntaxLine + "FROM 127.0.0.1:5000/busybox\nARG X\nIF $X =~ 'a(b'\nEND\n"})
			log, _, err := d.build(t, dir, nil)
			if err == nil {
				return log, fmt.Errorf("the build succeeded")
			}
			return log, contains(log, "invalid regular expression", "Dockerfile:4", ">>> IF $X =~ 'a(b'")
		}},
		{"run-error", "a failing `RUN` after a block, at the user's line", func(t *testing.T, d compatDaemon) (string, error) {
			dir := project(t, map[string]string{"Dockerfile": syntaxLine + "FROM 127.0.0.1:5000/busybox\nARG X=1\nIF $X\nRUN true\nELSE\nRUN true\nEND\n\nRUN exit 3\n"})
			log, _, err := d.build(t, dir, nil)
			if err == nil {
				return log, fmt.Errorf("the build succeeded")
			}
			return log, contains(log, "exit code: 3", "Dockerfile:10", ">>> RUN exit 3")
		}},
		{"lint-warnings", "lint warnings of the extensions reach the client during a build", func(t *testing.T, d compatDaemon) (string, error) {
			dir := project(t, map[string]string{"Dockerfile": syntaxLine + "FROM scratch\nIF $UNDECLARED\nCOPY Dockerfile /x\nEND\nCOPY Dockerfile /y\n"})
			log, out, err := d.build(t, dir, nil)
			if log, err := built(log, out, err, func(out string) error { return absent(out, "x") }); err != nil {
				return log, err
			}
			if contains(log, "WARN: ConditionUndefinedVar", "(line 3)") == nil {
				return log, nil
			}
			// buildctl's plain display prints a warning only with a later
			// update of its step; on daemons that take the frontend's read
			// of the Dockerfile for their own, already finished one, whether
			// one comes is a matter of timing. The raw progress has it: a
			// display of the client's, which buildctl v0.12 lacks, so the
			// pinned buildctl asks the same daemon.
			client := d
			client.buildctl = theLab.Buildctl
			raw, _, err := client.build(t, dir, nil, "--progress=rawjson")
			if err != nil {
				return log + raw, err
			}
			short := base64.StdEncoding.EncodeToString([]byte("ConditionUndefinedVar: Condition reads $UNDECLARED, which is not declared before this line (line 3)"))
			return log + raw, contains(raw, short)
		}},
		{"call-check", "`--call=check` (subrequest `frontend.lint`)", func(t *testing.T, d compatDaemon) (string, error) {
			dir := project(t, map[string]string{"Dockerfile": subrequestDockerfile})
			log, _, err := d.build(t, dir, nil, "--opt", "requestid=frontend.lint")
			if err != nil {
				return log, err
			}
			return log, contains(log, "ConditionUndefinedVar", "$UNDECLARED_IN_CONDITION", "ConstantCondition")
		}},
		{"call-targets-outline", "`--call=targets`, `--call=outline`", func(t *testing.T, d compatDaemon) (string, error) {
			dir := project(t, map[string]string{"Dockerfile": subrequestDockerfile})
			log, _, err := d.build(t, dir, nil, "--opt", "requestid=frontend.targets", "--opt", "build-arg:VARIANT=full")
			if err != nil {
				return log, err
			}
			if err := contains(log, "base-full", "the full image"); err != nil {
				return log, err
			}
			log, _, err = d.build(t, dir, nil, "--opt", "requestid=frontend.outline")
			if err != nil {
				return log, err
			}
			return log, contains(log, "BUILD_ID", "GLOBAL_ONLY_IN_CONDITION")
		}},
		{"secret-env", "`RUN --mount=type=secret,env=` (upstream's, through the dialect)", func(t *testing.T, d compatDaemon) (string, error) {
			dir := project(t, map[string]string{"Dockerfile": syntaxLine + `
FROM 127.0.0.1:5000/busybox AS base
ARG WITH_TOKEN=1
IF $WITH_TOKEN
RUN --mount=type=secret,id=token,env=TOKEN echo "${#TOKEN}" > /length
END
FROM scratch
COPY --from=base /length /
`})
			log, out, err := d.build(t, dir, []string{"XD_TOKEN=twelve-chars"}, "--secret", "id=token,env=XD_TOKEN")
			return built(log, out, err, func(out string) error { return want(out, map[string]string{"length": "12"}) })
		}},
		{"poetry-secret-file", "`POETRY INSTALL`, a private index through a secret", func(t *testing.T, d compatDaemon) (string, error) {
			ix := startIndexes(t)
			files := poetryProject(t, ix, []pkg{{name: "alpha", version: "1.0"}, {name: "beta", version: "2.0", groups: []string{"dev"}}, {name: "secretpkg", version: "1.0", private: true}}, nil)
			files["Dockerfile"] = syntaxLine + `
FROM 127.0.0.1:5000/python:3-bookworm AS deps
POETRY INSTALL --only=main
RUN /opt/venv/bin/python -c "import alpha, secretpkg; print(alpha.VALUE, secretpkg.VALUE)" > /value && ls /opt/venv/lib/python3*/site-packages > /listing
FROM scratch
COPY --from=deps /value /listing /
`
			dir := project(t, files)
			auth := filepath.Join(t.TempDir(), "auth.toml")
			if err := os.WriteFile(auth, []byte(fmt.Sprintf("[http-basic.private]\nusername = %q\npassword = %q\n", privateUser, privatePassword)), 0o600); err != nil {
				t.Fatal(err)
			}
			log, out, err := d.build(t, dir, nil, "--secret", "id=poetry-auth,src="+auth)
			return built(log, out, err, func(out string) error {
				if err := want(out, map[string]string{"value": "alpha-1.0 private"}); err != nil {
					return err
				}
				listing, _ := os.ReadFile(filepath.Join(out, "listing"))
				if strings.Contains(string(listing), "beta") {
					return fmt.Errorf("--only=main installed the dev group:\n%s", listing)
				}
				if strings.Contains(log, privatePassword) {
					return fmt.Errorf("the password is in the build's output")
				}
				return nil
			})
		}},
		{"poetry-secret-env", "`POETRY INSTALL` with `POETRY_HTTP_BASIC_*` secrets from the environment", func(t *testing.T, d compatDaemon) (string, error) {
			ix := startIndexes(t)
			files := poetryProject(t, ix, []pkg{{name: "secretpkg", version: "1.0", private: true}}, nil)
			files["Dockerfile"] = syntaxLine + `
FROM 127.0.0.1:5000/python:3-bookworm AS deps
POETRY INSTALL
` + printValues("secretpkg") + `
FROM scratch
COPY --from=deps /value /
`
			log, out, err := d.build(t, project(t, files), []string{"XD_USER=" + privateUser, "XD_PASS=" + privatePassword},
				"--secret", "id=POETRY_HTTP_BASIC_PRIVATE_USERNAME,env=XD_USER",
				"--secret", "id=POETRY_HTTP_BASIC_PRIVATE_PASSWORD,env=XD_PASS")
			return built(log, out, err, func(out string) error { return want(out, map[string]string{"value": "private"}) })
		}},
		{"poetry-only-root", "`POETRY INSTALL --only-root` (the project, console scripts)", func(t *testing.T, d compatDaemon) (string, error) {
			need(t, "the python base image", pythonErr)
			files := cliProject(t, buildIndex(t), nil)
			files["Dockerfile"] = syntaxLine + `FROM 127.0.0.1:5000/python:3-bookworm AS build
POETRY INSTALL --only=main
POETRY INSTALL --only-root
RUN /opt/venv/bin/greet > /greeting
FROM scratch
COPY --from=build /greeting /
`
			log, out, err := d.build(t, project(t, files), nil)
			return built(log, out, err, func(out string) error { return want(out, map[string]string{"greeting": "cliutil says hello, v1"}) })
		}},
	}
}

// The matrix sits between these lines of docs/compatibility.md.
const (
	matrixBegin = "<!-- BEGIN MATRIX: written by `go test ./e2e -run TestCompat -update`; do not edit -->\n"
	matrixEnd   = "<!-- END MATRIX -->\n"
)

// checkCompatMatrix renders the results and compares them with
// docs/compatibility.md, or rewrites it under -update.
func checkCompatMatrix(t *testing.T, daemons []compatDaemon, cases []compatCase, results map[string]map[string]string) {
	t.Helper()
	var b strings.Builder
	b.WriteString("| feature |")
	for _, d := range daemons {
		fmt.Fprintf(&b, " %s |", d.version)
	}
	b.WriteString("\n| --- |")
	for range daemons {
		b.WriteString(" --- |")
	}
	b.WriteString("\n")
	var notes []string
	for _, c := range cases {
		fmt.Fprintf(&b, "| %s |", c.name)
		for _, d := range daemons {
			entry := results[c.name][d.version]
			if msg, ok := strings.CutPrefix(entry, "error: "); ok {
				entry = fmt.Sprintf("no: error (%d)", note(&notes, "`"+msg+"`")+1)
			} else if entry == "works" {
				entry = "yes"
			}
			fmt.Fprintf(&b, " %s |", entry)
		}
		b.WriteString("\n")
	}
	if len(notes) > 0 {
		b.WriteString("\n")
		for i, n := range notes {
			fmt.Fprintf(&b, "%d. %s\n", i+1, n)
		}
	}
	matrix := b.String()

	doc := filepath.Join(repoRoot, "docs", "compatibility.md")
	dt, err := os.ReadFile(doc)
	if err != nil {
		t.Fatal(err)
	}
	text := string(dt)
	i, j := strings.Index(text, matrixBegin), strings.Index(text, matrixEnd)
	if i < 0 || j < i {
		t.Fatalf("%s has no matrix between %q and %q", doc, strings.TrimSpace(matrixBegin), strings.TrimSpace(matrixEnd))
	}
	current := text[i+len(matrixBegin) : j]
	if current == matrix {
		return
	}
	if *updateCompat {
		if err := os.WriteFile(doc, []byte(text[:i+len(matrixBegin)]+matrix+text[j:]), 0o644); err != nil {
			t.Fatal(err)
		}
		t.Logf("rewrote the matrix of %s", doc)
		return
	}
	t.Errorf("docs/compatibility.md's matrix is not what the daemons do (rerun with -update to rewrite it):\n--- docs\n%s\n--- tests\n%s", current, matrix)
}

// note adds s to notes once and returns its index.
func note(notes *[]string, s string) int {
	for i, x := range *notes {
		if x == s {
			return i
		}
	}
	*notes = append(*notes, s)
	return len(*notes) - 1
}
