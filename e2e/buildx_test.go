package e2e

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/xdockerfile/xdockerfile/internal/testfs"
)

// The docker buildx client, as users build: its `remote` driver talks to
// the lab's buildkitd, which hands the file to the frontend named by its
// # syntax= line. No docker engine is involved.

// buildxBuilder is a buildx configuration of its own, holding one builder
// of the remote driver.
type buildxBuilder struct {
	config string // DOCKER_CONFIG, where buildx keeps its builders
	name   string
}

// newBuildxBuilder creates a builder of the remote driver on the
// buildkitd at addr, in a fresh buildx configuration.
func newBuildxBuilder(t *testing.T, addr string) *buildxBuilder {
	t.Helper()
	need(t, "buildx", buildxErr)
	b := &buildxBuilder{config: t.TempDir(), name: "xdockerfile-e2e"}
	out, err := b.run(t, "", "create", "--name", b.name, "--driver", "remote", addr)
	if err != nil {
		t.Fatalf("buildx create: %v", err)
	}
	if out, err = b.run(t, "", "inspect", "--bootstrap", b.name); err != nil {
		t.Fatalf("buildx inspect: %v", err)
	}
	assertContains(t, out, "remote")
	return b
}

// env is what a buildx command runs with: this configuration and builder,
// and plain progress.
func (b *buildxBuilder) env() []string {
	return []string{"DOCKER_CONFIG=" + b.config, "BUILDX_BUILDER=" + b.name, "BUILDKIT_PROGRESS=plain"}
}

// run runs buildx in dir and returns its combined output; the error
// carries it too.
func (b *buildxBuilder) run(t *testing.T, dir string, args ...string) (string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, buildxBin, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), b.env()...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		return string(out), &buildxError{args: args, err: err, out: string(out)}
	}
	return string(out), nil
}

type buildxError struct {
	args []string
	err  error
	out  string
}

func (e *buildxError) Error() string {
	return "buildx " + strings.Join(e.args, " ") + ": " + e.err.Error() + "\n" + e.out
}

// exitCode is buildx's exit status for an error of run, -1 for anything
// else.
func exitCode(err error) int {
	be, ok := err.(*buildxError)
	if !ok {
		return -1
	}
	ee, ok := be.err.(*exec.ExitError)
	if !ok {
		return -1
	}
	return ee.ExitCode()
}

func TestBuildxIfElseByBuildArg(t *testing.T) {
	b := newBuildxBuilder(t, theLab.Addr)
	dir := project(t, map[string]string{"Dockerfile": syntaxLine + `
FROM 127.0.0.1:5000/busybox AS base
ARG FLAVOUR=plain
IF $FLAVOUR == "fancy"
RUN mkdir /out && echo fancy > /out/flavour && touch /out/fancy-only
ELSE
RUN mkdir /out && echo plain > /out/flavour && touch /out/plain-only
END
FROM scratch
COPY --from=base /out/ /
`})
	for arg, want := range map[string]string{"": "plain", "fancy": "fancy"} {
		out := filepath.Join(t.TempDir(), "out")
		args := []string{"build", "--output", "type=local,dest=" + out}
		if arg != "" {
			args = append(args, "--build-arg", "FLAVOUR="+arg)
		}
		log, err := b.run(t, dir, append(args, ".")...)
		if err != nil {
			t.Fatal(err)
		}
		if got := strings.TrimSpace(readFile(t, filepath.Join(out, "flavour"))); got != want {
			t.Errorf("FLAVOUR=%q: /flavour = %q, want %q\n%s", arg, got, want, log)
		}
		other := map[string]string{"plain": "fancy", "fancy": "plain"}[want]
		readFile(t, filepath.Join(out, want+"-only"))
		if _, err := os.Stat(filepath.Join(out, other+"-only")); err == nil {
			t.Errorf("FLAVOUR=%q: the %s branch ran too", arg, other)
		}
	}
}

// --call=check is the frontend's lint subrequest: buildx prints the
// extensions' warnings with the lines of the file as written, and fails.
func TestBuildxCheckPrintsTheExtensionsWarnings(t *testing.T) {
	b := newBuildxBuilder(t, theLab.Addr)
	dir := project(t, map[string]string{"Dockerfile": subrequestDockerfile})
	out, err := b.run(t, dir, "build", "--call=check", ".")
	if code := exitCode(err); code != 1 {
		t.Fatalf("buildx --call=check exited %d (%v), want 1 for a file with warnings\n%s", code, err, out)
	}
	assertContains(t, out, "Check complete, 3 warnings have been found!")
	assertContains(t, out, "WARNING: ConditionUndefinedVar")
	assertContains(t, out, "WARNING: ConstantCondition")
	// the source excerpt is the extended file's, at its own line numbers
	assertContains(t, out, "Dockerfile:15")
	assertContains(t, out, ">>> IF $UNDECLARED_IN_CONDITION")
	assertContains(t, out, "Dockerfile:17")
	assertContains(t, out, ">>> IF 1 == 1")
	assertContains(t, out, "Dockerfile:20")
	assertContains(t, out, ">>> IF $GLOBAL_ONLY_IN_CONDITION")

	clean := project(t, map[string]string{"Dockerfile": syntaxLine + `
ARG VARIANT=slim
IF $VARIANT == "full"
FROM 127.0.0.1:5000/busybox
ELSE
FROM scratch
END
`})
	out, err = b.run(t, clean, "build", "--call=check", ".")
	if err != nil {
		t.Fatal(err)
	}
	assertContains(t, out, "Check complete, no warnings found.")

	// A file the dialect rejects: the check reports the error at its line.
	broken := project(t, map[string]string{"Dockerfile": syntaxLine + `
FROM scratch
IF 1 ==
COPY a /a
END
`})
	out, err = b.run(t, broken, "build", "--call=check", ".")
	if err == nil {
		t.Fatalf("buildx --call=check passed a file with a malformed condition:\n%s", out)
	}
	assertContains(t, out, "Dockerfile:4")
	assertContains(t, out, ">>> IF 1 ==")
	assertContains(t, out, `expected an operand after "=="`)
}

// --build-context gives a named context that COPY --from takes, here
// chosen by a variable in the stage reference under a condition.
func TestBuildxNamedContext(t *testing.T) {
	b := newBuildxBuilder(t, theLab.Addr)
	dir := project(t, map[string]string{"Dockerfile": syntaxLine + `
ARG SIDE=left
FROM scratch
IF $SIDE == "left" || $SIDE == "right"
COPY --from=assets-${SIDE} /side.txt /side.txt
ELSE
COPY --from=assets-left /side.txt /fallback.txt
END
`})
	left := testfs.Dir(t, map[string]string{"side.txt": "from the left context\n"})
	right := testfs.Dir(t, map[string]string{"side.txt": "from the right context\n"})
	for arg, want := range map[string]string{"": "left", "right": "right"} {
		out := filepath.Join(t.TempDir(), "out")
		args := []string{"build", "--output", "type=local,dest=" + out,
			"--build-context", "assets-left=" + left, "--build-context", "assets-right=" + right}
		if arg != "" {
			args = append(args, "--build-arg", "SIDE="+arg)
		}
		log, err := b.run(t, dir, append(args, ".")...)
		if err != nil {
			t.Fatal(err)
		}
		if got := strings.TrimSpace(readFile(t, filepath.Join(out, "side.txt"))); got != "from the "+want+" context" {
			t.Errorf("SIDE=%q: /side.txt = %q, want the %s context's\n%s", arg, got, want, log)
		}
		if _, err := os.Stat(filepath.Join(out, "fallback.txt")); err == nil {
			t.Errorf("SIDE=%q: the ELSE branch ran too", arg)
		}
	}
}
