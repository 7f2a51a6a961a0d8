package conversion

import (
	"context"
	"errors"
	"slices"

	"github.com/containerd/platforms"
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

// LowerFor lowers f for the arguments, target and platform of opt.
func LowerFor(ctx context.Context, f *syntax.File, opt ConvertOpt, c Context) (*Result, error) {
	build := platforms.DefaultSpec()
	if len(opt.BuildPlatforms) > 0 {
		build = opt.BuildPlatforms[0]
	}
	target := build
	if opt.TargetPlatform != nil {
		target = *opt.TargetPlatform
	}
	res, err := Lower(ctx, f, Options{
		BuildArgs:      opt.BuildArgs,
		TargetPlatform: target,
		BuildPlatform:  build,
		Target:         opt.Target,
		Context:        c,
	})
	if err != nil {
		return nil, withLocation(err)
	}
	res.Warnings = append(Check(f), res.Warnings...)
	slices.SortStableFunc(res.Warnings, func(a, b Warning) int { return a.Line - b.Line })
	return res, nil
}

// ToLLB lowers f and converts it, reporting the extensions' lint findings
// through opt.Warn like upstream's own.
func ToLLB(ctx context.Context, f *syntax.File, opt ConvertOpt, c Context) (*LLBResult, error) {
	plain, err := Plain(ctx, f, opt, c, opt.Warn)
	if err != nil {
		return nil, err
	}
	return dockerfile2llb.Dockerfile2LLB(ctx, plain, opt)
}

// Outline answers --call=outline.
func Outline(ctx context.Context, f *syntax.File, opt ConvertOpt, c Context) (*outline.Outline, error) {
	plain, err := Plain(ctx, f, opt, c, nil)
	if err != nil {
		return nil, err
	}
	o, err := dockerfile2llb.Dockerfile2Outline(ctx, plain, opt)
	if o != nil {
		o.Sources = [][]byte{f.Data}
	}
	return o, err
}

// ListTargets answers --call=targets.
func ListTargets(ctx context.Context, f *syntax.File, opt ConvertOpt, c Context) (*targets.List, error) {
	plain, err := Plain(ctx, f, opt, c, nil)
	if err != nil {
		return nil, err
	}
	l, err := dockerfile2llb.ListTargets(ctx, plain)
	if l != nil {
		l.Sources = [][]byte{f.Data}
	}
	return l, err
}

// ConvertLLB answers the convert-to-LLB subrequest.
func ConvertLLB(ctx context.Context, f *syntax.File, opt ConvertOpt, c Context) (*convertllb.Result, error) {
	plain, err := Plain(ctx, f, opt, c, nil)
	if err != nil {
		return nil, err
	}
	return dockerfile2llb.DockerfileConvertLLB(ctx, plain, opt)
}

// Lint answers --call=check: upstream's rules on the plain file plus the
// rules of the extensions, in one result.
func Lint(ctx context.Context, f *syntax.File, opt ConvertOpt, c Context) (*lint.LintResults, error) {
	var ours []func(*lint.LintResults)
	warn := func(rulename, description, url, msg string, location []parser.Range) {
		ours = append(ours, func(r *lint.LintResults) {
			r.AddWarning(rulename, description, url, msg, 0, location)
		})
	}
	plain, err := Plain(ctx, f, opt, c, warn)
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
	results, err := dockerfile2llb.DockerfileLint(ctx, plain, opt)
	if err != nil {
		return nil, err
	}
	for _, add := range ours {
		add(results)
	}
	return results, nil
}

// Plain lowers f to the Dockerfile handed to dockerfile2llb, and runs the
// extensions' findings through upstream's linter (warn may be nil), so that
// # check=skip=… and # check=error=true apply to them too.
func Plain(ctx context.Context, f *syntax.File, opt ConvertOpt, c Context, warn linter.LintWarnFunc) ([]byte, error) {
	res, err := LowerFor(ctx, f, opt, c)
	if err != nil {
		return nil, err
	}
	cfg, err := lintConfig(f, opt)
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
				return nil, withLocation(&syntax.Error{File: f.Name, Line: w.Line, Msg: err.Error()})
			}
		}
		return nil, err
	}
	return res.Dockerfile, nil
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

// WithLocation is withLocation for errors from Parse, made outside this
// package.
func WithLocation(err error) error { return withLocation(err) }
