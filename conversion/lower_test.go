package conversion

import (
	"bytes"
	"context"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/containerd/platforms"
	"github.com/moby/buildkit/frontend/dockerfile/parser"
	ocispecs "github.com/opencontainers/image-spec/specs-go/v1"
	"github.com/xdockerfile/xdockerfile/internal/golden"
	"github.com/xdockerfile/xdockerfile/internal/testfs"
	"github.com/xdockerfile/xdockerfile/syntax"
)

// The build machine of every golden case, so results do not depend on
// where the tests run.
var goldenBuildPlatform = ocispecs.Platform{OS: "linux", Architecture: "amd64"}

// TestLowerGolden runs testdata/lower/*.txt: sections "args" (flags as the
// CLI takes them), "Dockerfile", "context/<path>" and, for a named context,
// "build-context/<name>/<path>" in; "lowered", "warnings" and "error" out.
// A named context whose files are not read (an image, a repository) is
// an arg: --build-context name=docker-image://….
func TestLowerGolden(t *testing.T) {
	for _, path := range golden.Glob(t, "lower/*.txt") {
		t.Run(strings.TrimSuffix(filepath.Base(path), ".txt"), func(t *testing.T) {
			dt, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			a := golden.Parse(dt)
			lowered, inputs, warnings, errText := lowerCase(t, a)
			changed := a.Check(t, "lowered", lowered)
			changed = a.Check(t, "inputs", inputs) || changed
			changed = a.Check(t, "warnings", warnings) || changed
			changed = a.Check(t, "error", errText) || changed
			if changed {
				golden.Write(t, path, a)
			}
		})
	}
}

// goldenFiles returns a golden's build context (its context/… sections)
// and named contexts (build-context/NAME/…).
func goldenFiles(a *golden.Archive) (files map[string]string, named map[string]map[string]string) {
	files, named = map[string]string{}, map[string]map[string]string{}
	for _, f := range a.Files {
		if rel, ok := strings.CutPrefix(f.Name, "context/"); ok {
			files[rel] = f.Data
		}
		if rel, ok := strings.CutPrefix(f.Name, "build-context/"); ok {
			name, rel, _ := strings.Cut(rel, "/")
			if named[name] == nil {
				named[name] = map[string]string{}
			}
			named[name][rel] = f.Data
		}
	}
	return files, named
}

func lowerCase(t *testing.T, a *golden.Archive) (lowered, inputs, warnings, errText string) {
	df, ok := a.Get("Dockerfile")
	if !ok {
		t.Fatal("no Dockerfile section")
	}
	ctxFiles, namedFiles := goldenFiles(a)
	dirCtx := DirContext{Root: testfs.Dir(t, ctxFiles)}
	for name, files := range namedFiles {
		if dirCtx.Named == nil {
			dirCtx.Named = map[string]string{}
		}
		dirCtx.Named[name] = testfs.Dir(t, files)
	}
	opt := ConvertOpt{}
	opt.BuildArgs = map[string]string{}
	opt.BuildPlatforms = []ocispecs.Platform{goldenBuildPlatform}
	args, _ := a.Get("args")
	fields := strings.Fields(args)
	for i := 0; i+1 < len(fields); i += 2 {
		switch fields[i] {
		case "--build-arg":
			k, v, _ := strings.Cut(fields[i+1], "=")
			opt.BuildArgs[k] = v
		case "--platform":
			p := platforms.Normalize(platforms.MustParse(fields[i+1]))
			opt.TargetPlatform = &p
		case "--target":
			opt.Target = fields[i+1]
		case "--build-context":
			if dirCtx.Named == nil {
				dirCtx.Named = map[string]string{}
			}
			k, v, _ := strings.Cut(fields[i+1], "=")
			dirCtx.Named[k] = v
		default:
			t.Fatalf("unknown arg %s", fields[i])
		}
	}
	f, err := syntax.Parse("Dockerfile", []byte(df))
	if err != nil {
		return "", "", "", err.Error() + "\n"
	}
	var w strings.Builder
	warn := func(rule, _, _, msg string, loc []parser.Range) {
		fmt.Fprintf(&w, "%d: %s: %s\n", loc[0].Start.Line, rule, msg)
	}
	b := &Build{File: f, Context: dirCtx}
	res, err := b.Plain(context.Background(), opt, warn)
	if err != nil {
		return "", "", w.String(), err.Error() + "\n"
	}
	plain := res.Dockerfile
	if got, want := bytes.Count(plain, []byte("\n")), strings.Count(df, "\n"); got != want {
		t.Errorf("lowering moved lines: %d lines, input has %d", got, want)
	}
	return string(plain), dumpInputs(res.Inputs), w.String(), ""
}

// dumpInputs prints generated contexts, less the installer script, which
// is the same in all of them.
func dumpInputs(inputs map[string]GeneratedContext) string {
	var b strings.Builder
	for _, name := range slices.Sorted(maps.Keys(inputs)) {
		in := inputs[name]
		fmt.Fprintf(&b, "%s (%s)\n", name, in.Step)
		for _, file := range slices.Sorted(maps.Keys(in.Files)) {
			if file != "install.py" {
				fmt.Fprintf(&b, "  %s:\n%s", file, indentLines(string(in.Files[file])))
			}
		}
	}
	return b.String()
}

func indentLines(s string) string {
	var b strings.Builder
	for _, line := range strings.SplitAfter(s, "\n") {
		if line != "" {
			b.WriteString("    " + line)
		}
	}
	return b.String()
}
