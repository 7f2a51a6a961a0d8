// Command xdockerfile is the companion CLI of the xdockerfile frontend.
//
//	xdockerfile lower [-f Dockerfile] [--build-arg K=V]... [--platform os/arch[/variant]] [--target stage] [CONTEXT]
//	xdockerfile version
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/containerd/platforms"
	"github.com/moby/buildkit/frontend/dockerfile/parser"
	"github.com/moby/buildkit/frontend/dockerui"
	ocispecs "github.com/opencontainers/image-spec/specs-go/v1"
	"github.com/xdockerfile/xdockerfile/conversion"
	"github.com/xdockerfile/xdockerfile/syntax"
	"github.com/xdockerfile/xdockerfile/version"
)

const usage = `usage:
  xdockerfile lower [-f Dockerfile] [--build-arg K=V]... [--platform os/arch[/variant]] [--target stage] [--build-context NAME=DIR]... [--emit-contexts DIR] [CONTEXT]
      print the plain Dockerfile the frontend hands to BuildKit for these arguments,
      after running BuildKit's conversion on it offline (its errors and warnings at your lines)
  xdockerfile poetry export [--with G,..] [--without G,..] [--only G,..] [-E extra]... [DIR]   (what "poetry export -f requirements.txt" prints)
  xdockerfile version
`

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	var err error
	switch args[0] {
	case "lower":
		err = lower(args[1:], stdout, stderr)
	case "poetry":
		err = poetryCommand(args[1:], stdout, stderr)
	case "version", "--version", "-version":
		fmt.Fprintf(stdout, "xdockerfile %s (BuildKit %s)\n", version.Version, version.BuildKit)
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
	default:
		fmt.Fprintf(stderr, "xdockerfile: unknown command %q\n%s", args[0], usage)
		return 2
	}
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	if err != nil {
		fmt.Fprintln(stderr, strings.TrimSpace(err.Error()))
		return 1
	}
	return 0
}

// multi collects a repeatable flag.
type multi []string

func (m *multi) String() string     { return strings.Join(*m, ",") }
func (m *multi) Set(v string) error { *m = append(*m, v); return nil }

// parseInterleaved lets flags follow the positional CONTEXT, as docker build does.
func parseInterleaved(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		if fs.NArg() == 0 {
			return pos, nil
		}
		pos = append(pos, fs.Arg(0))
		args = fs.Args()[1:]
	}
}

func lower(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("xdockerfile lower", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var (
		file      = fs.String("f", "", "the Dockerfile (default CONTEXT/Dockerfile)")
		platform  = fs.String("platform", "", "target platform (default: this machine's)")
		target    = fs.String("target", "", "target stage")
		emit      = fs.String("emit-contexts", "", "write the contexts the frontend generates (POETRY INSTALL's requirement sets) under this directory")
		buildArgs multi
		contexts  multi
	)
	fs.StringVar(file, "file", "", "same as -f")
	fs.Var(&buildArgs, "build-arg", "a build argument K=V (repeatable)")
	fs.Var(&contexts, "build-context", "a named context NAME=DIR or NAME=URL, as docker buildx build takes it (repeatable)")
	pos, err := parseInterleaved(fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 1 {
		return fmt.Errorf("xdockerfile lower: one CONTEXT at most, got %q", pos)
	}
	dir := "."
	if len(pos) == 1 {
		dir = pos[0]
	}
	if *file == "" {
		*file = filepath.Join(dir, dockerui.DefaultDockerfileName)
	}
	dt, err := os.ReadFile(*file)
	if err != nil {
		return err
	}

	opt := conversion.ConvertOpt{}
	opt.Target = *target
	opt.BuildArgs = map[string]string{}
	for _, kv := range buildArgs {
		k, v, ok := strings.Cut(kv, "=")
		if !ok {
			// as with docker build, a bare name takes the value from the environment
			if v, ok = os.LookupEnv(k); !ok {
				continue
			}
		}
		opt.BuildArgs[k] = v
	}
	host := platforms.Normalize(platforms.DefaultSpec())
	opt.BuildPlatforms = []ocispecs.Platform{host}
	if *platform != "" {
		p, err := platforms.Parse(*platform)
		if err != nil {
			return fmt.Errorf("--platform: %w", err)
		}
		p = platforms.Normalize(p)
		opt.TargetPlatform = &p
	}

	f, err := syntax.Parse(*file, dt)
	if err != nil {
		return err
	}
	warn := func(rule, _, _, msg string, loc []parser.Range) {
		line := 0
		if len(loc) > 0 {
			line = loc[0].Start.Line
		}
		fmt.Fprintf(stderr, "%s:%d: warning: %s: %s\n", *file, line, rule, msg)
	}
	bctx := conversion.DirContext{Root: dir, Named: map[string]string{}}
	for _, kv := range contexts {
		name, v, ok := strings.Cut(kv, "=")
		if !ok || name == "" || v == "" {
			return fmt.Errorf("--build-context: want NAME=DIR or NAME=URL, got %q", kv)
		}
		bctx.Named[name] = v
	}
	// The build goes on to BuildKit's own conversion, and so does the
	// CLI, offline: what upstream rejects (an unknown instruction, stages
	// that depend on each other) fails here too, at the user's line, and
	// upstream's lint warnings are printed with the extensions'.
	opt = conversion.Offline(opt)
	opt.Warn = warn
	b := &conversion.Build{File: f, Context: bctx}
	_, res, err := b.ToLLB(context.Background(), opt)
	if err != nil {
		return located(*file, err)
	}
	if _, err := stdout.Write(res.Dockerfile); err != nil {
		return err
	}
	return emitContexts(*emit, res.Inputs, stderr)
}

// located names the file and line of an error upstream's conversion
// located; the dialect's own errors name them already. The lowered file
// keeps every line where the user wrote it, so its lines are the user's.
func located(file string, err error) error {
	var se *syntax.Error
	var list syntax.ErrorList
	var le *parser.LocationError
	if errors.As(err, &se) || errors.As(err, &list) || !errors.As(err, &le) || len(le.Locations) == 0 || len(le.Locations[0]) == 0 {
		return err
	}
	return fmt.Errorf("%s:%d: %w", file, le.Locations[0][0].Start.Line, err)
}

// emitContexts writes generated contexts so that the plain Dockerfile
// builds without this frontend, and says how to pass them.
func emitContexts(dir string, inputs map[string]conversion.GeneratedContext, stderr io.Writer) error {
	if len(inputs) == 0 {
		return nil
	}
	if dir == "" {
		fmt.Fprintf(stderr, "note: the plain Dockerfile uses %d generated build context(s); write them with --emit-contexts DIR\n", len(inputs))
		return nil
	}
	for name, in := range inputs {
		for file, dt := range in.Files {
			p := filepath.Join(dir, name, file)
			if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
				return err
			}
			if err := os.WriteFile(p, dt, 0o644); err != nil {
				return err
			}
		}
		fmt.Fprintf(stderr, "--build-context %s=%s\n", name, filepath.Join(dir, name))
	}
	return nil
}
