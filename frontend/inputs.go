package frontend

import (
	"context"
	"maps"
	"sync"

	"github.com/moby/buildkit/client/llb"
	"github.com/moby/buildkit/frontend/gateway/client"
	gwpb "github.com/moby/buildkit/frontend/gateway/pb"
	"github.com/xdockerfile/xdockerfile/conversion"
)

// generatedInputs offers the contexts a lowering generates (the
// requirement sets of POETRY INSTALL) to dockerfile2llb as named contexts:
// `from=xdockerfile-poetry-…` resolves through dockerui's "input:" contexts
// to states made here, exactly like a context a client passed in.
type generatedInputs struct {
	client.Client
	opts client.BuildOpts // what dockerui sees; Opts is a map we own

	mu     sync.Mutex
	states map[string]llb.State
	frozen bool
}

func newGeneratedInputs(c client.Client) *generatedInputs {
	opts := c.BuildOpts()
	opts.Opts = maps.Clone(opts.Opts)
	if opts.Opts == nil {
		opts.Opts = map[string]string{}
	}
	return &generatedInputs{Client: c, opts: opts, states: map[string]llb.State{}}
}

func (g *generatedInputs) BuildOpts() client.BuildOpts { return g.opts }

// register adds contexts; once frozen (when conversions may run
// concurrently and read the options) it only accepts ones it already has.
func (g *generatedInputs) register(inputs map[string]conversion.GeneratedContext) {
	g.mu.Lock()
	defer g.mu.Unlock()
	for name, in := range inputs {
		if _, ok := g.states[name]; ok || g.frozen {
			continue
		}
		g.states[name] = in.State()
		g.opts.Opts["context:"+name] = "input:" + name
	}
}

func (g *generatedInputs) freeze() {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.frozen = true
}

// generated tells whether the lowering generated any context.
func (g *generatedInputs) generated() bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	return len(g.states) > 0
}

// Inputs adds the generated contexts to the client's. A daemon without
// frontend inputs has none from the client to add them to.
func (g *generatedInputs) Inputs(ctx context.Context) (map[string]llb.State, error) {
	var inputs map[string]llb.State
	if g.opts.Caps.Supports(gwpb.CapFrontendInputs) == nil {
		var err error
		if inputs, err = g.Client.Inputs(ctx); err != nil {
			return nil, err
		}
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	out := maps.Clone(inputs)
	if out == nil {
		out = map[string]llb.State{}
	}
	maps.Copy(out, g.states)
	return out, nil
}
