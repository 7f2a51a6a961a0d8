package conversion

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/moby/patternmatcher"
	"github.com/moby/patternmatcher/ignorefile"
)

// NewMatcher returns whether a context path (slash-separated, relative)
// is matched by an EXISTS pattern, with the semantics of BuildKit's include
// patterns: a pattern naming a directory matches what is inside it.
func NewMatcher(pattern string) func(string) bool {
	pm, err := patternmatcher.New([]string{pattern})
	if err != nil {
		return func(string) bool { return false }
	}
	return func(p string) bool {
		ok, _ := pm.MatchesOrParentMatches(p)
		return ok
	}
}

// DirContext is a build context on the local disk, as the CLI sees it.
type DirContext struct {
	Root string
}

func (d DirContext) dockerignore() (*patternmatcher.PatternMatcher, error) {
	var excludes []string
	if f, err := os.Open(filepath.Join(d.Root, ".dockerignore")); err == nil {
		excludes, err = ignorefile.ReadAll(f)
		f.Close()
		if err != nil {
			return nil, err
		}
	}
	return patternmatcher.New(excludes)
}

// ReadFiles reads files that .dockerignore does not exclude.
func (d DirContext) ReadFiles(_ context.Context, paths []string) (map[string][]byte, error) {
	ignored, err := d.dockerignore()
	if err != nil {
		return nil, err
	}
	out := map[string][]byte{}
	for _, p := range paths {
		if skip, _ := ignored.MatchesOrParentMatches(p); skip {
			continue
		}
		dt, err := os.ReadFile(filepath.Join(d.Root, filepath.FromSlash(p)))
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, err
		}
		out[p] = dt
	}
	return out, nil
}

// Exists walks the directory, honouring its .dockerignore.
func (d DirContext) Exists(_ context.Context, pattern string) (bool, error) {
	ignored, err := d.dockerignore()
	if err != nil {
		return false, err
	}
	match := NewMatcher(pattern)
	found := false
	err = filepath.WalkDir(d.Root, func(p string, e fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(d.Root, p)
		if rel == "." {
			return nil
		}
		rel = filepath.ToSlash(rel)
		if skip, _ := ignored.MatchesOrParentMatches(rel); skip {
			if e.IsDir() && !ignored.Exclusions() {
				return filepath.SkipDir
			}
			return nil
		}
		if match(rel) {
			found = true
			return fs.SkipAll
		}
		return nil
	})
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	return found, err
}
