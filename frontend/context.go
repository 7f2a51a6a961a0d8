package frontend

import (
	"context"
	"path"
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
	st, err := m.bc.MainContext(ctx,
		llb.IncludePatterns([]string{pattern}),
		dockerui.WithInternalName("check EXISTS "+pattern))
	if err != nil {
		return false, err
	}
	def, err := st.Marshal(ctx)
	if err != nil {
		return false, err
	}
	res, err := m.c.Solve(ctx, client.SolveRequest{Definition: def.ToPB()})
	if err != nil {
		return false, err
	}
	ref, err := res.SingleRef()
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
