package conversion

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"

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

// NamedContexts is a Context that also knows the build's named contexts
// (docker buildx build --build-context name=…; buildctl's
// --opt context:name=…).
type NamedContexts interface {
	// NamedContext reports whether the build has a context called name,
	// and returns it when its files can be read while lowering (a local
	// directory); nil when they cannot (an image, a repository), though
	// a step may still bind it.
	NamedContext(ctx context.Context, name string) (c Context, given bool, err error)
}

// DirContext is a build context on the local disk, as the CLI sees it.
type DirContext struct {
	Root string
	// Named are the named contexts: a directory, or a URL
	// (docker-image://…, https://…), whose files are not read.
	Named map[string]string
}

// NamedContext answers from Named.
func (d DirContext) NamedContext(_ context.Context, name string) (Context, bool, error) {
	v, ok := d.Named[name]
	if !ok || strings.Contains(v, "://") {
		return nil, ok, nil
	}
	return DirContext{Root: v}, true, nil
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
	// the root with its own links followed, once: a path is compared to it
	root, rootErr := filepath.EvalSymlinks(d.Root)
	out := map[string][]byte{}
	for _, p := range paths {
		if skip, _ := ignored.MatchesOrParentMatches(p); skip {
			continue
		}
		name := filepath.Join(d.Root, filepath.FromSlash(p))
		if rootErr == nil && !within(root, name) {
			continue // a build transfers the link, never what it points at
		}
		dt, err := os.ReadFile(name)
		// a path below a file (x.tar.gz/pyproject.toml) is not there
		// either, as for the frontend's reads
		if errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ENOTDIR) {
			continue
		}
		if err != nil {
			return nil, err
		}
		out[p] = dt
	}
	return out, nil
}

// within reports whether a path, its symbolic links followed, stays in
// root (resolved already). One that cannot be resolved is left to the read.
func within(root, name string) bool {
	real, err := filepath.EvalSymlinks(name)
	if err != nil {
		return true
	}
	rel, err := filepath.Rel(root, real)
	return err == nil && rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator))
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
