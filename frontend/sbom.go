package frontend

import (
	"context"

	"github.com/moby/buildkit/client/llb"
	"github.com/moby/buildkit/client/llb/sourceresolver"
	"github.com/moby/buildkit/frontend"
	"github.com/moby/buildkit/frontend/attestations/sbom"
	"github.com/moby/buildkit/frontend/dockerui"
	"github.com/moby/buildkit/frontend/gateway/client"
	"github.com/moby/buildkit/solver/result"
	ocispecs "github.com/opencontainers/image-spec/specs-go/v1"
	"github.com/pkg/errors"
	"github.com/xdockerfile/xdockerfile/conversion"
	"sync"
)

// sbomScan runs the SBOM generator the user asked for (--sbom, or
// BUILDKIT_SBOM_SCAN_*) over each platform's result, as upstream does.
type sbomScan struct {
	scanner sbom.Scanner
	mu      sync.Mutex
	targets map[string]*conversion.LLBResult
}

func newSBOMScan(ctx context.Context, c client.Client, bc *dockerui.Client) (*sbomScan, error) {
	s := &sbomScan{targets: map[string]*conversion.LLBResult{}}
	if bc.SBOM == nil {
		return s, nil
	}
	p := bc.BuildPlatforms[0]
	var err error
	s.scanner, err = sbom.CreateSBOMScanner(ctx, c, bc.SBOM.Generator, p, sourceresolver.Opt{
		ImageOpt: &sourceresolver.ResolveImageOpt{
			ResolveMode: bc.BuildOpts().Opts["image-resolve-mode"],
			Platform:    &p,
		},
	}, bc.SBOM.Parameters)
	return s, err
}

func (s *sbomScan) store(id string, res *conversion.LLBResult) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.targets[id] = res
}

func (s *sbomScan) attach(ctx context.Context, c client.Client, rb *dockerui.ResultBuilder) error {
	if s.scanner == nil {
		return nil
	}
	return rb.EachPlatform(ctx, func(ctx context.Context, id string, _ ocispecs.Platform) error {
		target, ok := s.targets[id]
		if !ok {
			return errors.Errorf("no scan targets for %s", id)
		}
		var opts []llb.ConstraintsOpt
		if target.IsIgnoreCache {
			opts = append(opts, llb.IgnoreCache)
		}
		att, err := s.scanner(ctx, id, target.SBOM.Core, target.SBOM.Extras, opts...)
		if err != nil {
			return err
		}
		solved, err := result.ConvertAttestation(&att, func(st *llb.State) (client.Reference, error) {
			def, err := st.Marshal(ctx)
			if err != nil {
				return nil, err
			}
			r, err := c.Solve(ctx, frontend.SolveRequest{Definition: def.ToPB()})
			if err != nil {
				return nil, err
			}
			return r.Ref, nil
		})
		if err != nil {
			return err
		}
		rb.AddAttestation(id, *solved)
		return nil
	})
}
