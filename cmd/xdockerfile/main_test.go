package main

import (
	"bytes"
	"path/filepath"
	"strings"
	"testing"

	"github.com/xdockerfile/xdockerfile/internal/testfs"
)

func runCLI(t *testing.T, args ...string) (string, string, int) {
	t.Helper()
	var out, errOut bytes.Buffer
	code := run(args, &out, &errOut)
	return out.String(), errOut.String(), code
}

func TestLower(t *testing.T) {
	dir := testfs.Dir(t, map[string]string{
		"Dockerfile": "FROM alpine\nARG V=1\nIF $V == 2 && $TARGETARCH == arm64\nRUN two\nELSE IF EXISTS go.mod\nRUN gomod\nEND\n",
		"go.mod":     "module x\n",
	})
	out, stderr, code := runCLI(t, "lower", dir)
	if code != 0 || out != "FROM alpine\nARG V=1\n\n\n\nRUN gomod\n\n" {
		t.Fatalf("code %d, out %q, stderr %q", code, out, stderr)
	}
	// flags after CONTEXT, as with docker build
	out, _, code = runCLI(t, "lower", dir, "--build-arg", "V=2", "--platform", "linux/arm64")
	if code != 0 || !strings.Contains(out, "RUN two") || strings.Contains(out, "RUN gomod") {
		t.Fatalf("code %d, out %q", code, out)
	}
}

func TestLowerFileFlagAndTarget(t *testing.T) {
	dir := testfs.Dir(t, map[string]string{
		"build/app.Dockerfile": "FROM alpine AS base\nIF $TARGETSTAGE == test\nRUN tests\nEND\nFROM base AS test\n",
	})
	out, _, code := runCLI(t, "lower", "-f", filepath.Join(dir, "build/app.Dockerfile"), "--target", "test", dir)
	if code != 0 || !strings.Contains(out, "RUN tests") {
		t.Fatalf("code %d, out %q", code, out)
	}
}

func TestLowerErrorsNameFileAndLine(t *testing.T) {
	dir := testfs.Dir(t, map[string]string{"Dockerfile": "FROM alpine\nIF $X ==\nEND\nIF $Y\n"})
	_, stderr, code := runCLI(t, "lower", dir)
	if code == 0 {
		t.Fatal("exit code 0")
	}
	df := filepath.Join(dir, "Dockerfile")
	for _, want := range []string{df + ":2: IF $X ==: expected an operand", df + ":4: IF without END"} {
		if !strings.Contains(stderr, want) {
			t.Errorf("stderr %q lacks %q", stderr, want)
		}
	}
}

func TestLowerWarnings(t *testing.T) {
	dir := testfs.Dir(t, map[string]string{"Dockerfile": "FROM alpine\nIF $NOPE\nEND\n"})
	_, stderr, code := runCLI(t, "lower", dir)
	if code != 0 || !strings.Contains(stderr, "Dockerfile:2: warning: ConditionUndefinedVar") {
		t.Fatalf("code %d, stderr %q", code, stderr)
	}
}

func TestUsageAndVersion(t *testing.T) {
	if _, _, code := runCLI(t); code != 2 {
		t.Errorf("no args: code %d", code)
	}
	if _, _, code := runCLI(t, "frobnicate"); code != 2 {
		t.Errorf("unknown command: code %d", code)
	}
	if out, _, code := runCLI(t, "version"); code != 0 || !strings.Contains(out, "BuildKit v0.34.2") {
		t.Errorf("version: %d %q", code, out)
	}
	if _, stderr, code := runCLI(t, "lower", "/nonexistent"); code != 1 || !strings.Contains(stderr, "/nonexistent/Dockerfile") {
		t.Errorf("missing file: %d %q", code, stderr)
	}
}
