package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func corpusCase(t *testing.T, name string) string {
	t.Helper()
	dir := filepath.Join("..", "..", "testdata", "poetry", name)
	if _, err := os.Stat(dir); err != nil {
		t.Fatal(err)
	}
	return dir
}

func TestPoetryExport(t *testing.T) {
	dir := corpusCase(t, "088-t-with-legacy-packages-lock11")
	want, err := os.ReadFile(filepath.Join(dir, "expected.txt"))
	if err != nil {
		t.Fatal(err)
	}
	// flags may follow DIR and use either spelling
	out, stderr, code := runCLI(t, "poetry", "export", dir, "--with=dev")
	if code != 0 || out != string(want) {
		t.Fatalf("code %d, stderr %q, out\n%s\nwant\n%s", code, stderr, out, want)
	}
	out, _, code = runCLI(t, "poetry", "export", "--with", "dev", "--without-hashes", "--without-urls", dir)
	if code != 0 || strings.Contains(out, "--hash") || strings.Contains(out, "index-url") {
		t.Fatalf("code %d, out\n%s", code, out)
	}
}

func TestPoetryExportErrors(t *testing.T) {
	stale := corpusCase(t, "224-h-error-stale-lock")
	_, stderr, code := runCLI(t, "poetry", "export", stale)
	want := filepath.Join(stale, "poetry.lock") + ":28: pyproject.toml changed significantly since poetry.lock was last generated. Run `poetry lock` to fix the lock file.\n"
	if code == 0 || stderr != want {
		t.Fatalf("code %d, stderr %q, want %q", code, stderr, want)
	}
	dir := corpusCase(t, "180-c-export-groups-default-lock21")
	_, stderr, code = runCLI(t, "poetry", "export", "--with", "missing", dir)
	want = filepath.Join(dir, "pyproject.toml") + ": Group(s) not found: missing (via --with)\n"
	if code == 0 || stderr != want {
		t.Fatalf("code %d, stderr %q, want %q", code, stderr, want)
	}
	_, stderr, code = runCLI(t, "poetry", "export", "--frobnicate", dir)
	if code == 0 || !strings.Contains(stderr, "--frobnicate") {
		t.Fatalf("code %d, stderr %q", code, stderr)
	}
	_, stderr, code = runCLI(t, "poetry", "export", t.TempDir())
	if code == 0 || !strings.Contains(stderr, "pyproject.toml: cannot read") {
		t.Fatalf("code %d, stderr %q", code, stderr)
	}
	_, _, code = runCLI(t, "poetry", "lock")
	if code == 0 {
		t.Fatal("unknown subcommand accepted")
	}
}

func TestPoetryHelp(t *testing.T) {
	out, _, code := runCLI(t, "poetry", "export", "--help")
	if code != 0 || !strings.Contains(out, "xdockerfile poetry export") {
		t.Fatalf("code %d, out %q", code, out)
	}
	out, _, code = runCLI(t, "help")
	if code != 0 || !strings.Contains(out, "poetry export") {
		t.Fatalf("code %d, usage lacks the poetry command: %q", code, out)
	}
}
