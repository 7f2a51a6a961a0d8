package conversion

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/containerd/platforms"
	"github.com/moby/buildkit/frontend/dockerfile/parser"
	digest "github.com/opencontainers/go-digest"
	"github.com/xdockerfile/xdockerfile/internal/golden"
	"github.com/xdockerfile/xdockerfile/internal/testfs"
	"github.com/xdockerfile/xdockerfile/syntax"
)

// FuzzLower runs a file through what the frontend does with it: Read,
// lowering, dockerfile2llb, Marshal, for fuzzed build arguments (lines of
// NAME=value, and --target=stage), a target platform from fuzzPlatforms
// and one of the build contexts of the goldens and examples. Images
// resolve to a fixed config and contexts are directories written once, so
// nothing leaves the machine. Whatever the input:
//
//   - nothing panics, and no input takes longer than fuzzBudget;
//   - an error of ours names the file and a line inside it, and every
//     location an error carries is inside the file;
//   - a file that converts converts again to the same definition, lowers
//     to as many lines as it has, and, when Plain proves it uses no
//     extension, the full parser lowers it to itself.
func FuzzLower(f *testing.F) {
	contexts := []Context{DirContext{Root: f.TempDir()}} // 0: an empty context
	add := func(df, args string, platform string, c Context) {
		p := slices.Index(fuzzPlatforms, platform)
		if p < 0 {
			f.Fatalf("platform %s is not in fuzzPlatforms", platform)
		}
		ci := 0
		if c != nil {
			ci = len(contexts)
			contexts = append(contexts, c)
		}
		f.Add([]byte(df), args, uint8(p), uint8(ci))
	}
	seeds := 0
	goldens, _ := filepath.Glob("testdata/lower/*.txt")
	for _, path := range goldens {
		add(goldenSeed(f, path))
		seeds++
	}
	examples, _ := filepath.Glob("../testdata/examples/*/Dockerfile")
	for _, path := range examples {
		dir, err := filepath.Abs(filepath.Dir(path))
		if err != nil {
			f.Fatal(err)
		}
		add(readSeed(f, path), "", "", DirContext{Root: dir})
		seeds++
	}
	plain, _ := filepath.Glob("../testdata/corpus/plain/*.Dockerfile")
	for _, path := range plain {
		platform := ""
		if strings.Contains(path, "windows") || strings.Contains(path, "nanoserver") {
			platform = "windows/amd64"
		}
		add(readSeed(f, path), "", platform, nil)
		seeds++
	}
	if len(goldens) == 0 || len(examples) == 0 || len(plain) == 0 || len(contexts) > 255 {
		f.Fatalf("seeds: %d goldens, %d examples, %d plain files, %d contexts", len(goldens), len(examples), len(plain), len(contexts))
	}
	f.Logf("%d seeds, %d build contexts", seeds, len(contexts))

	f.Fuzz(func(t *testing.T, df []byte, args string, platform, ctxIndex uint8) {
		if len(df) > maxFuzzFile || len(args) > maxFuzzArgs {
			return
		}
		timer := time.AfterFunc(fuzzBudget, func() {
			panic(fmt.Sprintf("FuzzLower: one input took over %s:\n%q\nargs %q", fuzzBudget, df, args))
		})
		defer timer.Stop()

		c := contexts[int(ctxIndex)%len(contexts)]
		opt := fuzzOpt(df, args, fuzzPlatforms[int(platform)%len(fuzzPlatforms)])
		first, lowered, err := fuzzConvert(df, opt, c)
		if err != nil {
			checkFuzzError(t, df, err)
			return
		}
		if got, want := bytes.Count(lowered, []byte("\n")), bytes.Count(df, []byte("\n")); got != want {
			t.Fatalf("lowered to %d lines, the file has %d", got, want)
		}
		again, _, err := fuzzConvert(df, opt, c)
		if err != nil {
			t.Fatalf("converted once, then failed: %v", err)
		}
		if again != first {
			t.Fatalf("converted twice to different definitions:\n%s", firstDifference(first, again))
		}
		if !syntax.Plain(df) {
			return
		}
		if !bytes.Equal(lowered, df) {
			t.Fatalf("a plain file was changed by lowering:\n%q", lowered)
		}
		file, err := syntax.Parse("Dockerfile", df)
		if err != nil {
			t.Fatalf("Read lowered a plain file that Parse rejects: %v", err)
		}
		res, err := (&Build{File: file, Context: c}).Plain(context.Background(), cloneOpt(opt), nil)
		if err == nil && !bytes.Equal(res.Dockerfile, df) {
			t.Fatalf("a plain file, parsed in full, lowered to something else:\n%q", res.Dockerfile)
		}
	})
}

const (
	maxFuzzFile = 32 << 10 // above the largest corpus file
	maxFuzzArgs = 4 << 10
	// fuzzBudget is far above what converting any input twice takes; an
	// input that runs past it is a hang, and the panic makes the fuzzer
	// keep it as a crasher instead of stalling.
	fuzzBudget = 30 * time.Second
)

// fuzzPlatforms are the target platforms an input can choose; "" is the
// build platform.
var fuzzPlatforms = []string{"", "linux/amd64", "linux/arm64", "linux/arm/v7", "linux/s390x", "linux/386", "linux/riscv64", "windows/amd64"}

// fuzzOpt is corpusOpt for the fuzzed arguments: NAME=value lines are
// build arguments, --target=name the target.
func fuzzOpt(df []byte, args, platform string) ConvertOpt {
	opt := corpusOpt(df, "Dockerfile")
	for _, line := range strings.Split(args, "\n") {
		if target, ok := strings.CutPrefix(line, "--target="); ok {
			opt.Target = target
			continue
		}
		if k, v, ok := strings.Cut(line, "="); ok && k != "" {
			opt.BuildArgs[k] = v
		}
	}
	if platform != "" {
		p := platforms.Normalize(platforms.MustParse(platform))
		opt.TargetPlatform = &p
	}
	return opt
}

// cloneOpt gives a conversion its own build arguments, as the frontend
// gives each platform's.
func cloneOpt(opt ConvertOpt) ConvertOpt {
	opt.BuildArgs = maps.Clone(opt.BuildArgs)
	return opt
}

// fuzzConvert is the frontend's way from the file's bytes to a marshalled
// definition. It returns the conversion in short (the lowered file, the
// generated contexts, the ops in order and the image config) and the
// lowered file.
func fuzzConvert(df []byte, opt ConvertOpt, c Context) (string, []byte, error) {
	ctx := context.Background()
	f, err := syntax.Read("Dockerfile", df)
	if err != nil {
		return "", nil, WithLocation(err)
	}
	b := &Build{File: f, Context: c}
	res, plain, err := b.ToLLB(ctx, cloneOpt(opt))
	if err != nil {
		return "", nil, err
	}
	def, err := res.State.Marshal(ctx)
	if err != nil {
		return "", nil, fmt.Errorf("converted, but cannot marshal: %w", err)
	}
	NameSteps(def, plain.Inputs)
	var out strings.Builder
	fmt.Fprintf(&out, "plain %s\n", digest.FromBytes(plain.Dockerfile))
	for _, name := range slices.Sorted(maps.Keys(plain.Inputs)) {
		st, err := plain.Inputs[name].State().Marshal(ctx)
		if err != nil {
			return "", nil, fmt.Errorf("generated context %s: %w", name, err)
		}
		fmt.Fprintf(&out, "input %s %s\n", name, lastOp(st))
	}
	for _, op := range def.Def {
		fmt.Fprintf(&out, "op %s\n", digest.FromBytes(op))
	}
	img, err := json.Marshal(res.Image)
	if err != nil {
		return "", nil, err
	}
	fmt.Fprintf(&out, "image %s\n", img)
	return out.String(), plain.Dockerfile, nil
}

// checkFuzzError holds an error to what the frontend shows the user: ours
// name the file and a line of it, and every location is inside the file.
// Upstream's own errors without a location (an unknown --target, a
// malformed # check=) are its words, unchanged.
func checkFuzzError(t *testing.T, df []byte, err error) {
	t.Helper()
	lines := bytes.Count(df, []byte("\n"))
	if len(df) > 0 && df[len(df)-1] != '\n' {
		lines++
	}
	var located *parser.LocationError
	if errors.As(err, &located) {
		for _, loc := range located.Locations {
			for _, r := range loc {
				if r.Start.Line < 0 || r.End.Line < r.Start.Line || r.End.Line > lines {
					t.Fatalf("error located at lines %d-%d of a file of %d lines: %v", r.Start.Line, r.End.Line, lines, err)
				}
			}
		}
	}
	var ours syntax.ErrorList
	var one *syntax.Error
	switch {
	case errors.As(err, &ours):
	case errors.As(err, &one):
		ours = syntax.ErrorList{one}
	default:
		return
	}
	if located == nil {
		t.Fatalf("error without a location: %v", err)
	}
	if !strings.HasPrefix(err.Error(), "Dockerfile:") {
		t.Fatalf("error does not name the file: %v", err)
	}
	for _, e := range ours {
		if e.File != "Dockerfile" || e.Line < 0 || e.Line > lines {
			t.Fatalf("error at %s:%d, in a file Dockerfile of %d lines: %v", e.File, e.Line, lines, err)
		}
	}
}

// goldenSeed reads a case of TestLowerGolden as a seed: its Dockerfile,
// its arguments as FuzzLower takes them, its platform and its build
// context, written once (nil when it has none).
func goldenSeed(f *testing.F, path string) (df, args, platform string, c Context) {
	a := golden.Parse([]byte(readSeed(f, path)))
	df, ok := a.Get("Dockerfile")
	if !ok {
		f.Fatalf("%s: no Dockerfile section", path)
	}
	files, named := goldenFiles(a)
	dir := DirContext{Named: map[string]string{}}
	for name, files := range named {
		dir.Named[name] = testfs.Dir(f, files)
	}
	var lines []string
	flags, _ := a.Get("args")
	fields := strings.Fields(flags)
	for i := 0; i+1 < len(fields); i += 2 {
		switch v := fields[i+1]; fields[i] {
		case "--build-arg":
			lines = append(lines, v)
		case "--target":
			lines = append(lines, "--target="+v)
		case "--platform":
			platform = v
		case "--build-context":
			k, v, _ := strings.Cut(v, "=")
			dir.Named[k] = v
		default:
			f.Fatalf("%s: unknown arg %s", path, fields[i])
		}
	}
	if len(files) == 0 && len(dir.Named) == 0 {
		return df, strings.Join(lines, "\n"), platform, nil
	}
	dir.Root = testfs.Dir(f, files)
	return df, strings.Join(lines, "\n"), platform, dir
}

func readSeed(f *testing.F, path string) string {
	dt, err := os.ReadFile(path)
	if err != nil {
		f.Fatal(err)
	}
	return string(dt)
}
