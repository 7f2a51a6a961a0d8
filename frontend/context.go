package frontend

import (
	"context"
	"path"
	"strings"
	"sync"

	"github.com/containerd/platforms"
	"github.com/moby/buildkit/client/llb"
	"github.com/moby/buildkit/frontend/dockerui"
	"github.com/moby/buildkit/frontend/gateway/client"
	"github.com/xdockerfile/xdockerfile/conversion"
)

// mainContext answers EXISTS and POETRY INSTALL from the main build
// context, and knows the named ones.
type mainContext struct {
	*contextFiles
	bc *dockerui.Client
	c  client.Client

	namedMu sync.Mutex
	named   map[string]*contextFiles // the local ones read so far
}

func newMainContext(bc *dockerui.Client, c client.Client) *mainContext {
	return &mainContext{
		contextFiles: &contextFiles{c: c, load: func(ctx context.Context, patterns []string, name string) (*llb.State, error) {
			return bc.MainContext(ctx, llb.IncludePatterns(patterns), dockerui.WithInternalName(name))
		}},
		bc: bc, c: c,
	}
}

// NamedContext is a context the client passed by name. Only a local
// directory is read while lowering; images, repositories and archives
// would have to be fetched whole.
func (m *mainContext) NamedContext(ctx context.Context, name string) (conversion.Context, bool, error) {
	if strings.EqualFold(name, "scratch") || strings.EqualFold(name, "context") {
		return nil, false, nil // names dockerfile2llb keeps for itself
	}
	nc, err := m.bc.NamedContext(name, dockerui.ContextOpt{})
	if err != nil || nc == nil {
		return nil, false, err
	}
	if !m.isLocal(name) {
		return nil, true, nil
	}
	m.namedMu.Lock()
	defer m.namedMu.Unlock()
	if f, ok := m.named[name]; ok {
		return f, true, nil
	}
	f := &contextFiles{c: m.c, load: func(ctx context.Context, patterns []string, what string) (*llb.State, error) {
		nc, err := m.bc.NamedContext(name, dockerui.ContextOpt{AsyncLocalOpts: func() []llb.LocalOption {
			return []llb.LocalOption{llb.IncludePatterns(patterns), llb.WithCustomName("[context " + name + "] " + what)}
		}})
		if err != nil {
			return nil, err
		}
		st, _, err := nc.Load(ctx)
		return st, err
	}}
	if m.named == nil {
		m.named = map[string]*contextFiles{}
	}
	m.named[name] = f
	return f, true, nil
}

// isLocal tells whether the named context is a directory of the client's,
// looked up as dockerui does for the default platform.
func (m *mainContext) isLocal(name string) bool {
	opts := m.c.BuildOpts().Opts
	for _, key := range []string{name + "::" + platforms.FormatAll(platforms.Normalize(platforms.DefaultSpec())), name} {
		if v, ok := opts["context:"+key]; ok {
			return strings.HasPrefix(v, "local:")
		}
	}
	return false
}

// contextFiles reads a build context: each tested pattern and file is
// transferred on its own, with .dockerignore applied, so a condition costs
// only the paths it names; answers are remembered for the other platforms
// of the build.
type contextFiles struct {
	c client.Client
	// load is the context with only what matches patterns, named for
	// progress output.
	load func(ctx context.Context, patterns []string, name string) (*llb.State, error)

	mu      sync.Mutex
	answers map[string]bool
	files   map[string][]byte // read so far; absent files map to nil
}

// ReadFiles transfers just the named files.
func (m *contextFiles) ReadFiles(ctx context.Context, paths []string) (map[string][]byte, error) {
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

// solve transfers the paths matching patterns from the context.
func (m *contextFiles) solve(ctx context.Context, patterns []string, name string) (client.Reference, error) {
	st, err := m.load(ctx, patterns, name)
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

func (m *contextFiles) Exists(ctx context.Context, pattern string) (bool, error) {
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

func (m *contextFiles) exists(ctx context.Context, pattern string) (bool, error) {
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
