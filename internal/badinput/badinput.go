// Package badinput reads the catalogue of bad inputs in testdata/bad,
// which the CLI's tests and the end-to-end tests both run.
//
// Each case is an archive like the goldens' (internal/golden): a line
// saying what it is, then the files of its build context, each after a
// "-- name --" line. Sections with a special name:
//
//   - "args": build arguments, K=V, one a line;
//   - "want": "ok", or the expected errors, one a line, each
//     "<file>:<line>: <part of the message>";
//   - "X.tmpl": rendered with text/template into X, for inputs too big or
//     too binary to keep as text. Besides the builtins, a template has
//     repeat N "text", seq N (0…N-1), add A B and contentHash "pyproject.toml"
//     (the content-hash a fresh lock for that file of the case carries).
//     Go's escapes in template strings give any byte: "\x00", "\xff";
//     `{{"" -}}` at the end drops the final newline;
//   - "X.symlink": a symbolic link X whose target is the content.
//
// A case that is ok must also lower to a file that builds; a branch that
// must not be taken says RUN exit 1, which the runners look for.
package badinput

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"text/template"

	"github.com/xdockerfile/xdockerfile/poetry"
)

// Case is one bad input.
type Case struct {
	Name  string
	About string
	Files map[string][]byte // path → content, the Dockerfile included
	Links map[string]string // path → target
	Args  []string          // K=V
	// Want is what `xdockerfile lower` and a build both do: the CLI runs
	// upstream's conversion too.
	Want Want
}

// Want is an outcome: OK, or errors.
type Want struct {
	OK     bool
	Errors []Expect
}

// Expect is an error at a line of a file.
type Expect struct {
	File string
	Line int
	Msg  string
}

func (e Expect) String() string { return fmt.Sprintf("%s:%d: %s", e.File, e.Line, e.Msg) }

// Load reads every case under dir.
func Load(t testing.TB, dir string) []*Case {
	t.Helper()
	paths, err := filepath.Glob(filepath.Join(dir, "*.txtar"))
	if err != nil || len(paths) == 0 {
		t.Fatalf("no cases in %s", dir)
	}
	var out []*Case
	for _, p := range paths {
		dt, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		c, err := parse(strings.TrimSuffix(filepath.Base(p), ".txtar"), dt)
		if err != nil {
			t.Fatalf("%s: %v", p, err)
		}
		out = append(out, c)
	}
	return out
}

// section is one file of an archive.
type section struct{ Name, Data string }

// sections splits an archive into its comment and its sections. (It is
// golden.Parse, which this package cannot import: the end-to-end tests
// have their own -update flag.)
func sections(dt []byte) (comment string, out []section) {
	for _, line := range strings.SplitAfter(string(dt), "\n") {
		h := strings.TrimRight(line, "\r\n")
		if strings.HasPrefix(h, "-- ") && strings.HasSuffix(h, " --") && len(h) >= 7 {
			out = append(out, section{Name: strings.TrimSpace(h[3 : len(h)-3])})
		} else if len(out) == 0 {
			comment += line
		} else {
			out[len(out)-1].Data += line
		}
	}
	return comment, out
}

func parse(name string, dt []byte) (*Case, error) {
	comment, files := sections(dt)
	c := &Case{Name: name, About: strings.TrimSpace(comment), Files: map[string][]byte{}, Links: map[string]string{}}
	var templates []section
	var want string
	for _, f := range files {
		switch {
		case f.Name == "args":
			c.Args = append(c.Args, strings.Fields(f.Data)...)
		case f.Name == "want":
			want = f.Data
		case strings.HasSuffix(f.Name, ".tmpl"):
			templates = append(templates, f)
		case strings.HasSuffix(f.Name, ".symlink"):
			c.Links[strings.TrimSuffix(f.Name, ".symlink")] = strings.TrimSpace(f.Data)
		default:
			c.Files[f.Name] = []byte(f.Data)
		}
	}
	for _, f := range templates {
		out, err := c.render(f)
		if err != nil {
			return nil, err
		}
		if name := strings.TrimSuffix(f.Name, ".tmpl"); name == "args" {
			c.Args = append(c.Args, strings.Split(strings.TrimRight(out, "\n"), "\n")...)
		} else {
			c.Files[name] = []byte(out)
		}
	}
	if c.About == "" {
		return nil, fmt.Errorf("no line saying what the case is")
	}
	if _, ok := c.Files["Dockerfile"]; !ok {
		return nil, fmt.Errorf("no Dockerfile")
	}
	var err error
	if c.Want, err = parseWant(want); err != nil {
		return nil, err
	}
	return c, nil
}

func (c *Case) render(f section) (string, error) {
	funcs := template.FuncMap{
		"repeat": func(n int, s string) string { return strings.Repeat(s, n) },
		"add":    func(a, b int) int { return a + b },
		"seq": func(n int) []int {
			out := make([]int, n)
			for i := range out {
				out[i] = i
			}
			return out
		},
		"contentHash": func(name string) (string, error) {
			dt, ok := c.Files[name]
			if !ok {
				return "", fmt.Errorf("contentHash: no %s (templates render in file order)", name)
			}
			return poetry.ContentHash(dt)
		},
	}
	tmpl, err := template.New(f.Name).Funcs(funcs).Parse(f.Data)
	if err != nil {
		return "", err
	}
	var b strings.Builder
	if err := tmpl.Execute(&b, nil); err != nil {
		return "", err
	}
	return b.String(), nil
}

var expectLine = regexp.MustCompile(`^([^:]+):(\d+): (.+)$`)

func parseWant(s string) (Want, error) {
	s = strings.TrimSpace(s)
	if s == "ok" {
		return Want{OK: true}, nil
	}
	var w Want
	for _, line := range strings.Split(s, "\n") {
		m := expectLine.FindStringSubmatch(strings.TrimSpace(line))
		if m == nil {
			return w, fmt.Errorf("want: %q is neither ok nor <file>:<line>: <message>", line)
		}
		n, _ := strconv.Atoi(m[2])
		w.Errors = append(w.Errors, Expect{File: m[1], Line: n, Msg: m[3]})
	}
	return w, nil
}

// Write puts the case's files and links under dir; edit, when set, may
// change a file's content on the way (localize it, add a line).
func (c *Case) Write(t testing.TB, dir string, edit func(name string, dt []byte) []byte) {
	t.Helper()
	for name, dt := range c.Files {
		if edit != nil {
			dt = edit(name, dt)
		}
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, dt, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for name, target := range c.Links {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.Symlink(target, p); err != nil {
			t.Fatal(err)
		}
	}
}

// MustNotRun is what marks a branch that must not be taken.
const MustNotRun = "RUN exit 1"

// Line returns line n (1-based) of a file of the case, without its line
// ending.
func (c *Case) Line(file string, n int) string {
	lines := strings.Split(string(c.Files[file]), "\n")
	if n < 1 || n > len(lines) {
		return ""
	}
	return strings.TrimRight(lines[n-1], "\r")
}
