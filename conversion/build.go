package conversion

import (
	"context"
	"errors"
	"slices"
	"strings"

	"github.com/containerd/platforms"
	"github.com/moby/buildkit/client/llb"
	"github.com/moby/buildkit/frontend/dockerfile/dockerfile2llb"
	"github.com/moby/buildkit/frontend/dockerfile/linter"
	"github.com/moby/buildkit/frontend/dockerfile/parser"
	"github.com/moby/buildkit/frontend/subrequests/convertllb"
	"github.com/moby/buildkit/frontend/subrequests/lint"
	"github.com/moby/buildkit/frontend/subrequests/outline"
	"github.com/moby/buildkit/frontend/subrequests/targets"
	"github.com/moby/buildkit/solver/pb"
	"github.com/xdockerfile/xdockerfile/syntax"
)

// This file is the one place that calls dockerfile2llb: a BuildKit upgrade
// touches it and nothing else.

// ConvertOpt are upstream's conversion options; the build arguments,
// target and platforms in it also decide how the file lowers.
type ConvertOpt = dockerfile2llb.ConvertOpt

// LLBResult is upstream's conversion result.
type LLBResult = dockerfile2llb.Result

// Build is one xdockerfile in one build context.
type Build struct {
	File    *syntax.File
	Context Context
	// Register, when set, is given the contexts a lowering generated before
	// dockerfile2llb looks them up as named contexts.
	Register func(map[string]GeneratedContext)
}

// Lower lowers the file for the arguments, target and platform of opt.
func (b *Build) Lower(ctx context.Context, opt ConvertOpt) (*Result, error) {
	build := platforms.DefaultSpec()
	if len(opt.BuildPlatforms) > 0 {
		build = opt.BuildPlatforms[0]
	}
	target := build
	if opt.TargetPlatform != nil {
		target = *opt.TargetPlatform
	}
	res, err := Lower(ctx, b.File, Options{
		BuildArgs:      opt.BuildArgs,
		TargetPlatform: target,
		BuildPlatform:  build,
		Target:         opt.Target,
		Context:        b.Context,
	})
	if err != nil {
		return nil, withLocation(err)
	}
	res.Warnings = append(Check(b.File), res.Warnings...)
	slices.SortStableFunc(res.Warnings, func(a, b Warning) int { return a.Line - b.Line })
	if b.Register != nil && len(res.Inputs) > 0 {
		b.Register(res.Inputs)
	}
	return res, nil
}

// Plain lowers the file to the Dockerfile handed to dockerfile2llb, and
// runs the extensions' findings through upstream's linter (warn may be
// nil), so that # check=skip=… and # check=error=true apply to them too.
func (b *Build) Plain(ctx context.Context, opt ConvertOpt, warn linter.LintWarnFunc) (*Result, error) {
	res, err := b.Lower(ctx, opt)
	if err != nil || len(res.Warnings) == 0 {
		return res, err // no findings: a malformed # check= is left to dockerfile2llb, as upstream
	}
	cfg, err := lintConfig(b.File, opt)
	if err != nil {
		return nil, err
	}
	cfg.Warn = warn
	if cfg.Warn == nil {
		cfg.Warn = func(string, string, string, string, []parser.Range) {}
	}
	l := linter.New(cfg)
	for _, w := range res.Warnings {
		l.Run(w.Rule, w.Location(), w.Message)
	}
	if err := l.Error(); err != nil {
		// Point at the first finding that was not skipped.
		for _, w := range res.Warnings {
			if slices.Contains(*l.CalledRules, w.Rule.Name) {
				return nil, withLocation(&syntax.Error{File: b.File.Name, Line: w.Line, Msg: err.Error()})
			}
		}
		return nil, err
	}
	return res, nil
}

// ToLLB lowers the file and converts it, reporting the extensions' lint
// findings through opt.Warn like upstream's own.
func (b *Build) ToLLB(ctx context.Context, opt ConvertOpt) (*LLBResult, *Result, error) {
	plain, err := b.Plain(ctx, opt, opt.Warn)
	if err != nil {
		return nil, nil, err
	}
	res, err := dockerfile2llb.Dockerfile2LLB(ctx, plain.Dockerfile, opt)
	return res, plain, err
}

// Outline answers --call=outline.
func (b *Build) Outline(ctx context.Context, opt ConvertOpt) (*outline.Outline, error) {
	plain, err := b.Plain(ctx, opt, nil)
	if err != nil {
		return nil, err
	}
	o, err := dockerfile2llb.Dockerfile2Outline(ctx, plain.Dockerfile, opt)
	if o != nil {
		o.Sources = [][]byte{b.File.Data}
	}
	return o, err
}

// ListTargets answers --call=targets.
func (b *Build) ListTargets(ctx context.Context, opt ConvertOpt) (*targets.List, error) {
	plain, err := b.Plain(ctx, opt, nil)
	if err != nil {
		return nil, err
	}
	l, err := dockerfile2llb.ListTargets(ctx, plain.Dockerfile)
	if l != nil {
		l.Sources = [][]byte{b.File.Data}
	}
	return l, err
}

// ConvertLLB answers the convert-to-LLB subrequest.
func (b *Build) ConvertLLB(ctx context.Context, opt ConvertOpt) (*convertllb.Result, error) {
	plain, err := b.Plain(ctx, opt, nil)
	if err != nil {
		return nil, err
	}
	return dockerfile2llb.DockerfileConvertLLB(ctx, plain.Dockerfile, opt)
}

// Lint answers --call=check: upstream's rules on the plain file plus the
// rules of the extensions, in one result.
func (b *Build) Lint(ctx context.Context, opt ConvertOpt) (*lint.LintResults, error) {
	var ours []func(*lint.LintResults)
	warn := func(rulename, description, url, msg string, location []parser.Range) {
		ours = append(ours, func(r *lint.LintResults) {
			r.AddWarning(rulename, description, url, msg, 0, location)
		})
	}
	plain, err := b.Plain(ctx, opt, warn)
	if err != nil {
		results := &lint.LintResults{}
		results.AddSource(opt.SourceMap)
		results.Error = &lint.BuildError{Message: err.Error()}
		var se *syntax.Error
		if errors.As(err, &se) && se.Line > 0 {
			line := &pb.Position{Line: int32(se.Line)}
			results.Error.Location = pb.Location{Ranges: []*pb.Range{{Start: line, End: line}}}
		}
		return results, nil
	}
	results, err := dockerfile2llb.DockerfileLint(ctx, plain.Dockerfile, opt)
	if err != nil {
		return nil, err
	}
	for _, add := range ours {
		add(results)
	}
	return results, nil
}

// NameSteps gives the steps that generated contexts serve the user's own
// words in progress output: "[deps 2/3] POETRY INSTALL --only=main" rather
// than the RUN it lowered to. Names are metadata, so no cache key changes.
func NameSteps(def *llb.Definition, inputs map[string]GeneratedContext) {
	for dgst, md := range def.Metadata {
		name := md.Description["llb.customname"]
		at := strings.Index(name, "RUN ")
		if at < 0 {
			continue
		}
		for ctxName, g := range inputs {
			if strings.Contains(name, "from="+ctxName+",") {
				md.Description["llb.customname"] = name[:at] + g.Step
				def.Metadata[dgst] = md
			}
		}
	}
}

func lintConfig(f *syntax.File, opt ConvertOpt) (*linter.Config, error) {
	if opt.Client != nil && opt.Client.LinterConfig != nil {
		cfg := *opt.Client.LinterConfig
		return &cfg, nil
	}
	v, _, _, _ := parser.ParseDirective("check", f.Data)
	return linter.ParseLintOptions(v)
}

// withLocation turns the dialect's line errors into upstream's location
// errors, which the gateway reports with the file's source attached.
func withLocation(err error) error {
	var ranges []parser.Range
	var list syntax.ErrorList
	var one *syntax.Error
	switch {
	case errors.As(err, &list):
		for _, e := range list {
			ranges = append(ranges, lineRange(e.Line))
		}
	case errors.As(err, &one):
		ranges = append(ranges, lineRange(one.Line))
	default:
		return err
	}
	return parser.WithLocation(err, ranges)
}

func lineRange(line int) parser.Range {
	return parser.Range{Start: parser.Position{Line: line}, End: parser.Position{Line: line}}
}

// WithLocation is withLocation for errors from syntax.Parse, made outside
// this package.
func WithLocation(err error) error { return withLocation(err) }
