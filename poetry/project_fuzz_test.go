package poetry

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/xdockerfile/xdockerfile/pep508"
)

// FuzzProject reads a pyproject.toml as POETRY INSTALL does, with a lock
// made for it: its content-hash matches, so every input that reads gets
// past the freshness check, which a mutated pyproject.toml next to a fixed
// lock never would. The project is then asked for its groups, extras,
// sources, root package and install options, and exported with them (the
// lock has no packages: what is exercised is the project). Whatever the
// input: no panic, recovered or not (but for a marker too complex to
// normalise, which is refused); errors are *Error about
// pyproject.toml at one of its lines; names come back normalised; the
// groups and extras the project lists are accepted by Export; reading
// twice gives the same answers.
func FuzzProject(f *testing.F) {
	var paths []string
	for _, pattern := range []string{"../testdata/poetry/*/pyproject.toml", "../testdata/examples/*/pyproject.toml", "../testdata/examples/*/*/*/pyproject.toml"} {
		found, _ := filepath.Glob(pattern)
		paths = append(paths, found...)
	}
	if len(paths) < 50 {
		f.Fatalf("only %d pyproject.toml seeds", len(paths))
	}
	for i, p := range paths {
		py, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(py, uint8(i))
	}
	f.Fuzz(func(t *testing.T, py []byte, choice uint8) {
		if len(py) > 64<<10 {
			return
		}
		lines := bytes.Count(py, []byte("\n")) + 1
		hash, hashErr := ContentHash(py)
		lockVersion := "2.1" // groups and markers in the lock
		if choice&1 != 0 {
			lockVersion = "2.0" // the dependency walk
		}
		lock := fmt.Appendf(nil, "[metadata]\nlock-version = %q\npython-versions = \"*\"\ncontent-hash = %q\n", lockVersion, hash)
		proj, err := Parse("/src/app", py, "pyproject.toml", lock, "poetry.lock")
		if err != nil {
			checkProjectError(t, err, lines)
			return
		}
		if hashErr != nil {
			t.Fatalf("read, but ContentHash fails: %v", hashErr)
		}
		first := describeProject(t, proj, choice, lines)
		again, err := Parse("/src/app", py, "pyproject.toml", lock, "poetry.lock")
		if err != nil {
			t.Fatalf("read once, then failed: %v", err)
		}
		if second := describeProject(t, again, choice, lines); second != first {
			t.Fatalf("read twice, answered\n%s\nthen\n%s", first, second)
		}
	})
}

// plainName is a normalised name that the group and extra flags take as
// written: no comma, no space.
var plainName = regexp.MustCompile(`^[a-z0-9]+(-[a-z0-9]+)*$`)

// describeProject checks what a read project answers and prints it.
func describeProject(t *testing.T, proj *Project, choice uint8, lines int) string {
	t.Helper()
	var b strings.Builder
	names, optional := proj.Groups()
	for i, g := range names {
		if pep508.NormalizeName(g) != g || slices.Contains(names[:i], g) {
			t.Fatalf("groups %q: %q is not normalised, or listed twice", names, g)
		}
		if _, ok := optional[g]; !ok {
			t.Fatalf("group %q: optional or not, Groups does not say", g)
		}
		fmt.Fprintf(&b, "group %s optional=%v\n", g, optional[g])
	}
	extras := proj.Extras()
	for _, e := range extras {
		if pep508.NormalizeName(e) != e {
			t.Fatalf("extra %q is not normalised", e)
		}
		fmt.Fprintf(&b, "extra %s\n", e)
	}
	for _, s := range proj.Sources() {
		switch s.Priority {
		case "primary", "supplemental", "explicit", "default":
		default:
			t.Fatalf("source %q: priority %q", s.Name, s.Priority)
		}
		fmt.Fprintf(&b, "source %q %q %s\n", s.Name, s.URL, s.Priority)
	}
	for _, ix := range proj.SearchIndexes() {
		fmt.Fprintf(&b, "index %q %q %v\n", ix.Name, ix.URL, ix.Default)
	}
	root := proj.Root()
	if root.PackageModeLine < 0 || root.PackageModeLine > lines {
		t.Fatalf("package-mode at line %d of %d", root.PackageModeLine, lines)
	}
	fmt.Fprintf(&b, "root %+v\n", root)
	install := proj.InstallOptions()
	for _, g := range install.Only {
		if !slices.Contains(names, g) || optional[g] {
			t.Fatalf("poetry install would take group %q of %q (optional: %v)", g, names, optional)
		}
	}
	fmt.Fprintf(&b, "install %q\n", install.Only)

	all, err := proj.Export(Options{AllGroups: true, AllExtras: true, WithoutHashes: choice&2 != 0})
	if err != nil {
		checkProjectError(t, err, lines)
		fmt.Fprintf(&b, "export: %v\n", err)
		return b.String()
	}
	fmt.Fprintf(&b, "export:\n%s", all)
	// The names the project lists, given back one by one, select the same.
	opt := Options{WithoutHashes: choice&2 != 0}
	for _, g := range names {
		if !plainName.MatchString(g) {
			return b.String()
		}
		opt.With = append(opt.With, g)
	}
	for _, e := range extras {
		if !plainName.MatchString(e) {
			return b.String()
		}
		if !slices.Contains(opt.Extras, e) {
			opt.Extras = append(opt.Extras, e)
		}
	}
	named, err := proj.Export(opt)
	if err != nil {
		t.Fatalf("exported with --all-groups --all-extras, but not with --with=%s --extras=%s: %v",
			strings.Join(opt.With, ","), strings.Join(opt.Extras, " "), err)
	}
	if named.String() != all.String() {
		t.Fatalf("--all-groups --all-extras exported\n%s\nnaming every group and extra exported\n%s", all, named)
	}
	return b.String()
}

// checkProjectError: with a lock made for the input, any problem is
// pyproject.toml's, at one of its lines, and never a recovered panic.
func checkProjectError(t *testing.T, err error, lines int) {
	t.Helper()
	var pe *Error
	if !errors.As(err, &pe) {
		t.Fatalf("%T %v, not an *Error", err, err)
	}
	if pe.File != "pyproject.toml" || pe.Line < 0 || pe.Line > lines {
		t.Fatalf("error at %s:%d, about a pyproject.toml of %d lines: %v", pe.File, pe.Line, lines, err)
	}
	// A marker too complex to normalise is refused; any other panic is a bug.
	recovered := strings.Contains(pe.Msg, "cannot read the project:") || strings.Contains(pe.Msg, "cannot compute the requirements:")
	if recovered && !strings.Contains(pe.Msg, "too complex") {
		t.Fatalf("a panic, recovered: %v", err)
	}
}
