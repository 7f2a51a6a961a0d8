// Package testfs writes the small file trees tests build from.
package testfs

import (
	"io/fs"
	"os"
	"path/filepath"
	"testing"
)

// Write creates each file (slash-separated path → content) under dir.
func Write(t testing.TB, dir string, files map[string]string) {
	t.Helper()
	for name, content := range files {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// Dir is Write into a fresh temporary directory, which it returns.
func Dir(t testing.TB, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	Write(t, dir, files)
	return dir
}

// Entry is a file of a snapshot: its mode and content (a symlink's is
// "-> target").
type Entry struct {
	Mode fs.FileMode
	Data string
}

// Snapshot reads every file and symlink under root, by slash-separated
// relative path.
func Snapshot(t testing.TB, root string) map[string]Entry {
	t.Helper()
	out := map[string]Entry{}
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		info, err := os.Lstat(p)
		if err != nil {
			return err
		}
		if info.Mode()&fs.ModeSymlink != 0 {
			target, err := os.Readlink(p)
			out[filepath.ToSlash(rel)] = Entry{info.Mode(), "-> " + target}
			return err
		}
		dt, err := os.ReadFile(p)
		out[filepath.ToSlash(rel)] = Entry{info.Mode(), string(dt)}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}
