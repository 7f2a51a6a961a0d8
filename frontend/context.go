package frontend

import (
	"context"
	"path"
	"strings"
	"sync"

	"github.com/moby/buildkit/client/llb"
	"github.com/moby/buildkit/frontend/dockerui"
	"github.com/moby/buildkit/frontend/gateway/client"
	"github.com/xdockerfile/xdockerfile/conversion"
)

// mainContext answers EXISTS from the main build context. Each tested
// pattern is transferred on its own, with .dockerignore applied, so a
// condition costs only the paths it names; answers are remembered for the
// other platforms of the build.
type mainContext struct {
	bc *dockerui.Client
	c  client.Client

	mu      sync.Mutex
	answers map[string]bool
	files   map[string][]byte // read so far; absent files map to nil
}

// ReadFiles transfers just the named files.
func (m *mainContext) ReadFiles(ctx context.Context, paths []string) (map[string][]byte, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.files == nil {
		m.files = map[string][]byte{}
	}
	var missing []string
	for _, p := range paths {
		if _, ok := m.files[p]; !ok {
			missing = append(missing, p)
		}
	}
	if len(missing) > 0 {
		ref, err := m.solve(ctx, missing, "load "+strings.Join(missing, ", "))
		if err != nil {
			return nil, err
		}
		for _, p := range missing {
			dt, err := ref.ReadFile(ctx, client.ReadRequest{Filename: p})
			if err != nil {
				dt = nil // not there, or excluded
			}
			m.files[p] = dt
		}
	}
	out := map[string][]byte{}
	for _, p := range paths {
		if dt := m.files[p]; dt != nil {
			out[p] = dt
		}
	}
	return out, nil
}

// solve transfers the paths matching patterns from the main context.
func (m *mainContext) solve(ctx context.Context, patterns []string, name string) (client.Reference, error) {
	st, err := m.bc.MainContext(ctx, llb.IncludePatterns(patterns), dockerui.WithInternalName(name))
	if err != nil {
		return nil, err
	}
	def, err := st.Marshal(ctx)
	if err != nil {
		return nil, err
	}
	res, err := m.c.Solve(ctx, client.SolveRequest{Definition: def.ToPB()})
	if err != nil {
		return nil, err
	}
	return res.SingleRef()
}

func (m *mainContext) Exists(ctx context.Context, pattern string) (bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if ok, seen := m.answers[pattern]; seen {
		return ok, nil
	}
	ok, err := m.exists(ctx, pattern)
	if err != nil {
		return false, err
	}
	if m.answers == nil {
		m.answers = map[string]bool{}
	}
	m.answers[pattern] = ok
	return ok, nil
}

func (m *mainContext) exists(ctx context.Context, pattern string) (bool, error) {
	ref, err := m.solve(ctx, []string{pattern}, "check EXISTS "+pattern)
	if err != nil {
		return false, err
	}
	match := conversion.NewMatcher(pattern)
	var walk func(dir string) (bool, error)
	walk = func(dir string) (bool, error) {
		entries, err := ref.ReadDir(ctx, client.ReadDirRequest{Path: dir})
		if err != nil {
			return false, err
		}
		for _, e := range entries {
			p := path.Join(dir, e.GetPath())
			if match(p) {
				return true, nil
			}
			if e.IsDir() {
				if ok, err := walk(p); ok || err != nil {
					return ok, err
				}
			}
		}
		return false, nil
	}
	return walk("")
}
