// Package frontend is the gateway glue: it reads the xdockerfile, answers
// subrequests and builds each target platform, like upstream's
// builder.Build but with conversion.ToLLB in place of dockerfile2llb.
package frontend

import (
	"context"
	"maps"
	"strings"
	"unicode/utf8"

	"github.com/containerd/platforms"
	"github.com/moby/buildkit/client/llb"
	"github.com/moby/buildkit/frontend/dockerfile/linter"
	"github.com/moby/buildkit/frontend/dockerfile/parser"
	"github.com/moby/buildkit/frontend/dockerui"
	"github.com/moby/buildkit/frontend/gateway/client"
	"github.com/moby/buildkit/frontend/subrequests/convertllb"
	"github.com/moby/buildkit/frontend/subrequests/lint"
	"github.com/moby/buildkit/frontend/subrequests/outline"
	"github.com/moby/buildkit/frontend/subrequests/targets"
	"github.com/moby/buildkit/solver/errdefs"
	"github.com/moby/buildkit/solver/pb"
	ocispecs "github.com/opencontainers/image-spec/specs-go/v1"
	"github.com/pkg/errors"
	"github.com/xdockerfile/xdockerfile/conversion"
	"github.com/xdockerfile/xdockerfile/syntax"
)

// Build is the frontend's gateway entry point.
func Build(ctx context.Context, c client.Client) (_ *client.Result, err error) {
	if err := requireCaps(c.BuildOpts(), baseCaps); err != nil {
		return nil, err
	}
	gw := newGeneratedInputs(c)
	bc, err := dockerui.NewClient(gw)
	if err != nil {
		return nil, err
	}
	src, err := bc.ReadEntrypoint(ctx, "Dockerfile")
	if err != nil {
		return nil, err
	}
	defer func() {
		var el *parser.LocationError
		if errors.As(err, &el) {
			for _, l := range el.Locations {
				err = wrapSource(err, src.SourceMap, l)
			}
		}
		if err != nil && !utf8.ValidString(err.Error()) {
			err = validUTF8{err}
		}
	}()

	f, err := syntax.Read(src.Filename, src.Data)
	if err != nil {
		return nil, conversion.WithLocation(err)
	}
	b := &conversion.Build{File: f, Context: newMainContext(bc, c), Register: gw.register}

	convertOpt := conversion.ConvertOpt{
		Config:       bc.Config,
		Client:       bc,
		SourceMap:    src.SourceMap,
		MetaResolver: c,
		Warn: func(rulename, description, url, msg string, location []parser.Range) {
			startLine := 0
			if len(location) > 0 {
				startLine = location[0].Start.Line
			}
			msg = linter.LintFormatShort(rulename, msg, startLine)
			src.Warn(ctx, msg, warnOpts(location, [][]byte{[]byte(description)}, url))
		},
	}

	if res, ok, err := bc.HandleSubrequest(ctx, dockerui.RequestHandler{
		Outline: func(ctx context.Context) (*outline.Outline, error) {
			return b.Outline(ctx, convertOpt)
		},
		ListTargets: func(ctx context.Context) (*targets.List, error) {
			return b.ListTargets(ctx, convertOpt)
		},
		Lint: func(ctx context.Context) (*lint.LintResults, error) {
			return b.Lint(ctx, convertOpt)
		},
		ConvertLLB: func(ctx context.Context) (*convertllb.Result, error) {
			return b.ConvertLLB(ctx, convertOpt)
		},
	}); err != nil {
		return nil, err
	} else if ok {
		return res, nil
	}

	// Lower for every platform before building any: the contexts a
	// lowering generates must all be registered before dockerfile2llb runs
	// concurrently for the platforms and looks them up.
	for _, p := range targetPlatforms(bc) {
		opt := convertOpt
		opt.TargetPlatform = p
		if _, err := b.Lower(ctx, opt); err != nil {
			return nil, err
		}
	}
	gw.freeze()
	if gw.generated() {
		if err := requireCaps(c.BuildOpts(), poetryCaps); err != nil {
			return nil, err
		}
	}

	sboms, err := newSBOMScan(ctx, c, bc)
	if err != nil {
		return nil, err
	}
	rb, err := bc.Build(ctx, func(ctx context.Context, platform *ocispecs.Platform, idx int) (*dockerui.BuildResult, error) {
		opt := convertOpt
		opt.BuildArgs = maps.Clone(opt.BuildArgs)
		opt.TargetPlatform = platform
		if idx != 0 {
			opt.Warn = nil
		}
		res, plain, err := b.ToLLB(ctx, opt)
		if err != nil {
			return nil, err
		}
		def, err := res.State.Marshal(ctx)
		if err != nil {
			return nil, errors.Wrap(err, "failed to marshal LLB definition")
		}
		conversion.NameSteps(def, plain.Inputs)
		r, err := c.Solve(ctx, client.SolveRequest{Definition: def.ToPB(), CacheImports: bc.CacheImports})
		if err != nil {
			return nil, err
		}
		ref, err := r.SingleRef()
		if err != nil {
			return nil, err
		}
		p := platforms.DefaultSpec()
		if platform != nil {
			p = *platform
		}
		sboms.store(platforms.FormatAll(platforms.Normalize(p)), res)
		return &dockerui.BuildResult{Reference: ref, Image: res.Image, BaseImage: res.BaseImage, Epoch: res.Epoch}, nil
	})
	if err != nil {
		return nil, err
	}
	if err := sboms.attach(ctx, c, rb); err != nil {
		return nil, err
	}
	return rb.Finalize()
}

func warnOpts(r []parser.Range, detail [][]byte, url string) client.WarnOpts {
	opts := client.WarnOpts{Level: 1, Detail: detail, URL: url}
	for _, r := range r {
		opts.Range = append(opts.Range, pbRange(r))
	}
	return opts
}

func pbRange(r parser.Range) *pb.Range {
	return &pb.Range{
		Start: &pb.Position{Line: int32(r.Start.Line), Character: int32(r.Start.Character)},
		End:   &pb.Position{Line: int32(r.End.Line), Character: int32(r.End.Character)},
	}
}

// wrapSource attaches the user's file to an error at a location, so that
// clients print the offending lines.
func wrapSource(err error, sm *llb.SourceMap, ranges []parser.Range) error {
	if sm == nil {
		return err
	}
	s := &errdefs.Source{Info: &pb.SourceInfo{
		Data:       sm.Data,
		Filename:   sm.Filename,
		Language:   sm.Language,
		Definition: sm.Definition.ToPB(),
	}}
	for _, r := range ranges {
		s.Ranges = append(s.Ranges, pbRange(r))
	}
	return errdefs.WithSource(err, s)
}

// targetPlatforms lists the platforms bc.Build calls back for; nil is the
// default platform.
func targetPlatforms(bc *dockerui.Client) []*ocispecs.Platform {
	if len(bc.TargetPlatforms) == 0 {
		return []*ocispecs.Platform{nil}
	}
	out := make([]*ocispecs.Platform, len(bc.TargetPlatforms))
	for i := range bc.TargetPlatforms {
		out[i] = &bc.TargetPlatforms[i]
	}
	return out
}

// validUTF8 is an error whose message quotes bytes of the user's file
// that are not UTF-8 ("unknown instruction: \x7fELF…"): a message goes
// back to BuildKit as a protobuf string, which must be UTF-8, and one that
// is not would be lost with the process's exit code in its place.
type validUTF8 struct{ error }

func (e validUTF8) Error() string { return strings.ToValidUTF8(e.error.Error(), "\uFFFD") }
func (e validUTF8) Unwrap() error { return e.error }
