package poetry

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
)

// FuzzExport reads a pyproject.toml and a poetry.lock and exports them with
// a choice of groups and extras: whatever the input, it must return a
// requirement set or an *Error, never panic or hang. Seeded from the
// export corpus.
func FuzzExport(f *testing.F) {
	dirs, _ := filepath.Glob("../testdata/poetry/*")
	for _, d := range dirs {
		py, err1 := os.ReadFile(filepath.Join(d, "pyproject.toml"))
		lock, err2 := os.ReadFile(filepath.Join(d, "poetry.lock"))
		if err1 == nil && err2 == nil {
			f.Add(py, lock, uint8(0))
		}
	}
	f.Fuzz(func(t *testing.T, py, lock []byte, choice uint8) {
		proj, err := Parse("/src", py, "pyproject.toml", lock, "poetry.lock")
		if err != nil {
			var pe *Error
			if !errors.As(err, &pe) {
				t.Fatalf("Parse: %T %v, not an *Error", err, err)
			}
			return
		}
		groups, _ := proj.Groups()
		opt := Options{
			AllGroups:     choice&1 != 0,
			AllExtras:     choice&2 != 0,
			WithoutHashes: choice&4 != 0,
			WithoutURLs:   choice&8 != 0,
		}
		if choice&16 != 0 {
			opt.With = groups
		}
		if choice&32 != 0 {
			opt.Extras = proj.Extras()
		}
		exp, err := proj.Export(opt)
		if err != nil {
			return
		}
		_ = exp.String()
		_ = proj.SearchIndexes()
		_ = proj.InstallOptions()
	})
}
