// Package golden reads and writes the test archives of the packages that
// own golden tests: a comment, then files each introduced by a
// "-- name --" line, like Go's txtar.
package golden

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Update makes tests rewrite their expectations: go test ./... -update.
var Update = flag.Bool("update", false, "rewrite golden files")

// Archive is a parsed test file.
type Archive struct {
	Comment string
	Files   []File
}

// File is one section.
type File struct {
	Name string
	Data string
}

// Parse reads an archive.
func Parse(dt []byte) *Archive {
	a := &Archive{}
	var cur *File
	for _, line := range strings.SplitAfter(string(dt), "\n") {
		if name, ok := header(line); ok {
			a.Files = append(a.Files, File{Name: name})
			cur = &a.Files[len(a.Files)-1]
			continue
		}
		if cur == nil {
			a.Comment += line
		} else {
			cur.Data += line
		}
	}
	return a
}

func header(line string) (string, bool) {
	line = strings.TrimRight(line, "\r\n")
	if !strings.HasPrefix(line, "-- ") || !strings.HasSuffix(line, " --") || len(line) < 7 {
		return "", false
	}
	return strings.TrimSpace(line[3 : len(line)-3]), true
}

// Format writes an archive back.
func (a *Archive) Format() []byte {
	var b bytes.Buffer
	b.WriteString(a.Comment)
	for _, f := range a.Files {
		b.WriteString("-- " + f.Name + " --\n")
		b.WriteString(f.Data)
		if f.Data != "" && !strings.HasSuffix(f.Data, "\n") {
			b.WriteString("\n")
		}
	}
	return b.Bytes()
}

// Get returns a section's content and whether it exists.
func (a *Archive) Get(name string) (string, bool) {
	for _, f := range a.Files {
		if f.Name == name {
			return f.Data, true
		}
	}
	return "", false
}

// Set replaces a section, adds it, or with an empty value removes it.
func (a *Archive) Set(name, data string) {
	for i, f := range a.Files {
		if f.Name == name {
			if data == "" {
				a.Files = append(a.Files[:i], a.Files[i+1:]...)
			} else {
				a.Files[i].Data = data
			}
			return
		}
	}
	if data != "" {
		a.Files = append(a.Files, File{Name: name, Data: data})
	}
}

// Check compares got with a section; with -update it records got instead.
// It returns whether the archive changed.
func (a *Archive) Check(t *testing.T, name, got string) bool {
	t.Helper()
	want, _ := a.Get(name)
	if got == want {
		return false
	}
	if *Update {
		a.Set(name, got)
		return true
	}
	t.Errorf("%s differs (run with -update to accept)\n--- want\n%s--- got\n%s", name, want, got)
	return false
}

// Files returns the archives matching a glob under testdata.
func Glob(t *testing.T, pattern string) []string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join("testdata", pattern))
	if err != nil || len(files) == 0 {
		t.Fatalf("no golden files match testdata/%s", pattern)
	}
	return files
}

// Write saves an archive that Check changed.
func Write(t *testing.T, path string, a *Archive) {
	t.Helper()
	if err := os.WriteFile(path, a.Format(), 0o644); err != nil {
		t.Fatal(err)
	}
}
