package conversion

import (
	"context"
	"encoding/json"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/containerd/platforms"
	"github.com/moby/buildkit/client/llb"
	"github.com/moby/buildkit/solver/pb"
	digest "github.com/opencontainers/go-digest"
	"github.com/xdockerfile/xdockerfile/syntax"
)

// The same file, arguments and context give the same LLB, whatever the
// number of threads, the machine's name, the time zone, the environment or
// where the context lies on disk: a cache key that moved with any of them
// would make every CI machine rebuild what another one already built.
//
// The parent test converts once in-process, then runs the test binary again
// and again as a child, each time with another GOMAXPROCS and another
// environment; each child copies the context to a directory of its own,
// converts every target platform concurrently (as the frontend does) a few
// times, and writes what it got. Every dump must be the parent's, byte for
// byte.

const (
	determinismRuns     = 20
	determinismChildEnv = "XDOCKERFILE_DETERMINISM_CHILD" // the context to convert
	determinismOutEnv   = "XDOCKERFILE_DETERMINISM_OUT"   // where the child writes its dump
)

// determinismPlatforms are the target platforms of the build.
var determinismPlatforms = []string{"linux/amd64", "linux/arm64", "linux/arm/v7", "linux/s390x"}

// determinismArgs are the build's arguments: enough of them that a map
// walked in Go's random order would show.
var determinismArgs = map[string]string{
	"VARIANT": "slim", "PYTHON": "3.12", "EXTRAS": "feature_bar feature_qux", "APP_STAGE": "app-deps",
	"LINK": "web-deps", "MODE": "release", "A1": "1", "A2": "2", "A3": "3", "A4": "4",
	"A5": "5", "A6": "6", "A7": "7", "A8": "8", "CI": "true",
}

// determinismProjects are the Poetry projects of the context, from the
// export corpus and the examples: a lock of git, URL, path and archive
// dependencies; real locks with groups and extras; a monorepo whose
// service has a path dependency on a library; a command line tool, to
// install itself with --only-root.
var determinismProjects = map[string]string{
	"direct":   "../testdata/poetry/220-h-lock21-vcs-url-path",
	"tool":     "../testdata/poetry/252-r-p2n-trivial-poetry-1_2_0-with-dev",
	"features": "../testdata/poetry/184-c-export-includes-extras-by-flag-extras-feature-bar-feature-qux-lock21",
	"p2n":      "../testdata/poetry/248-r-p2n-test-extras-all-groups-all-extras",
	"boto":     "../testdata/poetry/264-r-p2n-extras",
	"mono":     "../testdata/examples/poetry-monorepo",
	"cli":      "../testdata/examples/poetry-cli",
}

// determinismDockerfile uses every part of the dialect: conditions on
// arguments, platforms, regular expressions and EXISTS, stage references
// in variables, POETRY INSTALL with groups, extras, --only-root, path, URL
// and git dependencies, and a chain of stages.
func determinismDockerfile() []byte {
	var b strings.Builder
	b.WriteString(`# syntax=xdockerfile
ARG VARIANT=slim
ARG PYTHON=3.11
ARG APP_STAGE
ARG LINK
IF $VARIANT == "full"
FROM python:${PYTHON}-bookworm AS base
ELSE IF $VARIANT =~ "^(slim|tiny)$" && DEFINED PYTHON
FROM python:${PYTHON}-slim AS base
ELSE
FROM scratch AS base
END
ENV VENV=/opt/venv LANG=C.UTF-8

FROM base AS app-deps
ARG TARGETARCH
IF $TARGETARCH == "arm64" || $TARGETARCH == "arm"
POETRY INSTALL --project=direct --allow-unhashed --venv=/opt/arm --with-pip
ELSE IF $TARGETPLATFORM =~ "^linux/(amd64|386)$"
POETRY INSTALL --project=direct --allow-unhashed
ELSE
POETRY INSTALL --project=direct --allow-unhashed --compile --secret=other-auth
END

FROM base AS tool-deps
POETRY INSTALL --project=tool --with=dev --compile

FROM base AS web-deps
ARG EXTRAS
POETRY INSTALL --project=features --extras="$EXTRAS" --secret=web-auth --allow-unhashed

FROM base AS all-deps
POETRY INSTALL --project=p2n --all-groups --all-extras
POETRY INSTALL --project=boto --venv=/opt/boto

FROM base AS mono-deps
POETRY INSTALL --project=mono/services/api
POETRY INSTALL --project=mono/services/worker --only=main --venv=/opt/worker

FROM base AS cli
POETRY INSTALL --project=cli --only=main
POETRY INSTALL --project=cli --only-root
`)
	prev := "base"
	for i := range 12 {
		fmt.Fprintf(&b, `
FROM %[2]s AS step-%[1]d
ARG A%[3]d
ARG PREV=%[2]s
COPY --from=${PREV} /opt /opt
IF EXISTS src/mod%[1]d
    COPY src/mod%[1]d /src/mod%[1]d
    IF $A%[3]d == "%[3]d" && !DEFINED NOPE
        RUN --mount=type=cache,target=/root/.cache,id=c%[1]d make -C /src/mod%[1]d
    END
ELSE IF EXISTS src/*%[1]d.py
    RUN echo glob %[1]d
ELSE
    RUN --mount=type=bind,from=${PREV},target=/prev ls /prev
END
`, i, prev, i%8+1)
		prev = fmt.Sprintf("step-%d", i)
	}
	fmt.Fprintf(&b, `
FROM base AS final
ARG APP_STAGE
ARG LINK
ARG MODE
COPY --from=${APP_STAGE} /opt /opt
COPY --from=tool-deps /opt/venv /opt/tool
COPY --link --from=${LINK} /opt/venv /opt/web
COPY --from=all-deps /opt/venv /opt/all
COPY --from=mono-deps /opt /opt/mono
COPY --from=cli /opt/venv /opt/cli
COPY --from=%s /src /src
IF $TARGETPLATFORM == "linux/arm/v7"
ENV ARM=7
ELSE IF $TARGETOS == "linux" && $TARGETARCH != "amd64"
ENV ARM=8
END
IF $MODE == "release"
RUN --mount=type=secret,id=token python -m compileall /src
ELSE
RUN echo debug
END
`, prev)
	return []byte(b.String())
}

// determinismContext is the build context: the projects, and sources for
// some of the EXISTS conditions to find.
func determinismContext(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	for name, src := range determinismProjects {
		copyTree(t, src, filepath.Join(dir, name))
	}
	for i := range 12 {
		switch i % 3 {
		case 0:
			writeFile(t, filepath.Join(dir, "src", fmt.Sprintf("mod%d", i), "Makefile"), "all:\n")
		case 1:
			writeFile(t, filepath.Join(dir, "src", fmt.Sprintf("x%d.py", i)), "")
		}
	}
	writeFile(t, filepath.Join(dir, ".dockerignore"), "src/mod9\n")
	writeFile(t, filepath.Join(dir, "Dockerfile"), string(determinismDockerfile()))
	return dir
}

func TestConversionIsDeterministic(t *testing.T) {
	if testing.Short() {
		t.Log("-short: two runs instead of", determinismRuns)
	}
	dir := determinismContext(t)
	want := determinismDump(t, dir, 1)
	for _, needle := range []string{"platform linux/s390x", "input xdockerfile-poetry-", "POETRY INSTALL --project=cli --only-root", " COPY --link "} {
		if !strings.Contains(want, needle) {
			t.Fatalf("the conversion lacks %q: the file does not exercise what it should", needle)
		}
	}

	runs := determinismRuns
	if testing.Short() {
		runs = 2
	}
	procs := []int{1, 2, 4, 8, 3, 16, 5, 32, 7, 64}
	out := t.TempDir()
	start := time.Now()
	for i := range runs {
		n := procs[i%len(procs)]
		dump := filepath.Join(out, fmt.Sprintf("run-%d.txt", i))
		cmd := exec.Command(os.Args[0], "-test.run=^TestConversionIsDeterministicChild$", "-test.count=1")
		cmd.Dir = t.TempDir()
		cmd.Env = append(childEnv(),
			determinismChildEnv+"="+dir,
			determinismOutEnv+"="+dump,
			"GOMAXPROCS="+strconv.Itoa(n),
			"HOSTNAME=machine-"+strconv.Itoa(i),
			"HOME="+cmd.Dir,
			"TMPDIR="+cmd.Dir,
			"TZ="+[]string{"UTC", "Asia/Kathmandu", "America/St_Johns"}[i%3],
			"LANG="+[]string{"C", "de_DE.UTF-8", "tr_TR.UTF-8"}[i%3],
			"SOURCE_DATE_EPOCH="+strconv.Itoa(1700000000+i),
			// what `poetry export --with-credentials` would read; conversion must not
			"POETRY_HTTP_BASIC_LOCAL_USERNAME=user-"+strconv.Itoa(i),
			"POETRY_HTTP_BASIC_LOCAL_PASSWORD=password-"+strconv.Itoa(i),
		)
		if log, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("run %d (GOMAXPROCS=%d): %v\n%s", i, n, err, log)
		}
		got := readFileT(t, dump)
		if got != want {
			t.Fatalf("run %d (GOMAXPROCS=%d) converted differently:\n%s", i, n, firstDifference(want, got))
		}
	}
	t.Logf("%d runs, GOMAXPROCS %v, %d platforms each: one LLB (%s), in %s", runs, procs[:min(runs, len(procs))],
		len(determinismPlatforms), digest.FromString(want).Encoded()[:16], time.Since(start).Round(time.Millisecond))
}

// TestConversionIsDeterministicChild is a run of the test above, when it
// starts the test binary; on its own it has nothing to do.
func TestConversionIsDeterministicChild(t *testing.T) {
	src := os.Getenv(determinismChildEnv)
	if src == "" {
		return
	}
	// Another place on disk: nothing may depend on it.
	dir := filepath.Join(t.TempDir(), "elsewhere", "ctx")
	copyTree(t, src, dir)
	// In-process as well: other thread counts while the platforms convert
	// concurrently.
	dump := determinismDump(t, dir, 2)
	if err := os.WriteFile(os.Getenv(determinismOutEnv), []byte(dump), 0o644); err != nil {
		t.Fatal(err)
	}
}

// determinismDump converts the context's Dockerfile for every platform,
// concurrently, rounds times with a different GOMAXPROCS each round, checks
// the rounds agree and returns the conversion as text.
func determinismDump(t *testing.T, dir string, rounds int) string {
	t.Helper()
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(0))
	var first string
	for r := range rounds {
		runtime.GOMAXPROCS(1 << r)
		dump := convertAll(t, dir)
		if r == 0 {
			first = dump
		} else if dump != first {
			t.Fatalf("round %d (GOMAXPROCS=%d) converted differently:\n%s", r, 1<<r, firstDifference(first, dump))
		}
	}
	return first
}

// convertAll lowers and converts the file for each target platform at
// once, as the frontend does, and describes the results in a text that is
// equal for equal conversions.
func convertAll(t *testing.T, dir string) string {
	t.Helper()
	dt, err := os.ReadFile(filepath.Join(dir, "Dockerfile"))
	if err != nil {
		t.Fatal(err)
	}
	f, err := syntax.Parse("Dockerfile", dt)
	if err != nil {
		t.Fatal(err)
	}
	b := &Build{File: f, Context: DirContext{Root: dir, Named: map[string]string{}}}
	dumps := make([]string, len(determinismPlatforms))
	errs := make([]error, len(determinismPlatforms))
	var wg sync.WaitGroup
	for i, p := range determinismPlatforms {
		wg.Go(func() {
			dumps[i], errs[i] = convertFor(b, dt, p)
		})
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("%s: %v", determinismPlatforms[i], err)
		}
	}
	return strings.Join(dumps, "")
}

func convertFor(b *Build, dt []byte, platform string) (string, error) {
	ctx := context.Background()
	opt := corpusOpt(dt, "Dockerfile")
	opt.BuildArgs = maps.Clone(determinismArgs)
	p := platforms.Normalize(platforms.MustParse(platform))
	opt.TargetPlatform = &p
	res, plain, err := b.ToLLB(ctx, opt)
	if err != nil {
		return "", err
	}
	def, err := res.State.Marshal(ctx)
	if err != nil {
		return "", err
	}
	NameSteps(def, plain.Inputs)

	var out strings.Builder
	fmt.Fprintf(&out, "platform %s\nplain %s\n", platform, digest.FromBytes(plain.Dockerfile))
	for _, w := range plain.Warnings {
		fmt.Fprintf(&out, "warning %d %s %s\n", w.Line, w.Rule.Name, w.Message)
	}
	// The generated contexts, as the frontend hands them to BuildKit.
	for _, name := range slices.Sorted(maps.Keys(plain.Inputs)) {
		in := plain.Inputs[name]
		st, err := in.State().Marshal(ctx)
		if err != nil {
			return "", err
		}
		fmt.Fprintf(&out, "input %s %s %q\n", name, lastOp(st), in.Step)
		for _, file := range slices.Sorted(maps.Keys(in.Files)) {
			fmt.Fprintf(&out, "  file %s %s\n", file, digest.FromBytes(in.Files[file]))
		}
	}
	// The definition: its ops in order, each one's metadata and source
	// locations. Upstream draws the IDs of progress groups (COPY --link)
	// at random; they name a group in progress output, belong to no op
	// and to no cache key, and are left out.
	for _, op := range def.Def {
		dgst := digest.FromBytes(op)
		md := def.Metadata[dgst]
		if md.ProgressGroup != nil {
			md.ProgressGroup = &pb.ProgressGroup{Name: md.ProgressGroup.Name, Weak: md.ProgressGroup.Weak}
		}
		mdj, err := json.Marshal(md)
		if err != nil {
			return "", err
		}
		fmt.Fprintf(&out, "op %s %s\n", dgst, mdj)
		if def.Source != nil {
			for _, l := range def.Source.Locations[dgst.String()].GetLocations() {
				fmt.Fprintf(&out, "  at %d %v\n", l.SourceIndex, l.Ranges)
			}
		}
	}
	if def.Source != nil {
		for _, info := range def.Source.Infos {
			fmt.Fprintf(&out, "source %s %s %s\n", info.Filename, info.Language, digest.FromBytes(info.Data))
		}
	}
	img, err := json.Marshal(res.Image)
	if err != nil {
		return "", err
	}
	fmt.Fprintf(&out, "image %s\ndefinition %s\n", img, lastOp(def))
	return out.String(), nil
}

// lastOp is the digest of a definition's last op, which pins all others.
func lastOp(def *llb.Definition) digest.Digest {
	return digest.FromBytes(def.Def[len(def.Def)-1])
}

// childEnv is the environment without what the runs set themselves.
func childEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		switch {
		case k == "GOMAXPROCS", k == "HOSTNAME", k == "HOME", k == "TMPDIR", k == "TZ", k == "LANG",
			k == "SOURCE_DATE_EPOCH", strings.HasPrefix(k, "POETRY_"), strings.HasPrefix(k, "XDOCKERFILE_DETERMINISM_"):
			continue
		}
		env = append(env, kv)
	}
	return env
}

// firstDifference shows where two dumps part.
func firstDifference(a, b string) string {
	al, bl := strings.Split(a, "\n"), strings.Split(b, "\n")
	for i := range max(len(al), len(bl)) {
		var x, y string
		if i < len(al) {
			x = al[i]
		}
		if i < len(bl) {
			y = bl[i]
		}
		if x != y {
			return fmt.Sprintf("line %d:\n- %s\n+ %s", i+1, x, y)
		}
	}
	return "(equal)"
}

func copyTree(t *testing.T, src, dst string) {
	t.Helper()
	err := filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		target := filepath.Join(dst, rel)
		if d.IsDir() {
			return os.MkdirAll(target, 0o755)
		}
		dt, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(target, dt, 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
}

func writeFile(t *testing.T, p, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

func readFileT(t *testing.T, p string) string {
	t.Helper()
	dt, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return string(dt)
}
