package main

import (
	"bytes"
	"compress/gzip"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"

	"github.com/xdockerfile/xdockerfile/internal/lab"
)

// conversionRows runs the conversion benchmarks of ./conversion: for each
// case, BenchmarkConversion/<case>/upstream against …/xdockerfile. The test
// binary is built once and each sample is a process of its own, the two
// sides alternating, so drift on the machine falls on both alike.
func conversionRows(ctx context.Context, root, work string, count int) ([]row, error) {
	bin := filepath.Join(work, "conversion.test")
	if err := goBuildTest(ctx, root, bin, "./conversion"); err != nil {
		return nil, err
	}
	re := regexp.MustCompile(`(?m)^BenchmarkConversion/\S+?(-\d+)?\s+\d+\s+([\d.]+) ns/op`)
	sample := func(c, impl string) (float64, error) {
		cmd := exec.CommandContext(ctx, bin, "-test.run", "^$", "-test.bench", "^BenchmarkConversion$/^"+c+"$/^"+impl+"$", "-test.count", "1")
		cmd.Dir = filepath.Join(root, "conversion")
		out, err := cmd.Output()
		if err != nil {
			return 0, fmt.Errorf("BenchmarkConversion/%s/%s: %w\n%s", c, impl, err, tail(string(out), 20))
		}
		m := re.FindStringSubmatch(string(out))
		if m == nil {
			return 0, fmt.Errorf("BenchmarkConversion/%s/%s printed no ns/op:\n%s", c, impl, tail(string(out), 20))
		}
		v, err := strconv.ParseFloat(m[2], 64)
		return v / 1000, err
	}
	var rows []row
	for _, c := range []string{"corpus", "ext30", "ext300", "ext3000"} {
		var up, ours []float64
		for i := 0; i < count; i++ {
			u, err := sample(c, "upstream")
			if err != nil {
				return nil, err
			}
			o, err := sample(c, "xdockerfile")
			if err != nil {
				return nil, err
			}
			up, ours = append(up, u), append(ours, o)
		}
		limit := 1.2
		if c == "corpus" {
			limit = 1.05
		}
		rows = append(rows, newRow("conversion, "+c+" (per op)", "µs", "upstream dockerfile2llb", summarize(up), summarize(ours), limit))
	}
	return rows, nil
}

func goBuildTest(ctx context.Context, root, out, pkg string) error {
	cmd := exec.CommandContext(ctx, "go", "test", "-c", "-o", out, pkg)
	cmd.Dir = root
	if dt, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("go test -c %s: %w\n%s", pkg, err, tail(string(dt), 20))
	}
	return nil
}

// ifElseRows builds testdata/examples/branch-if-else through the frontend
// against the same build written as alias stages (branch-stages-classic)
// and as a shell `if` in RUN, both with upstream's built-in frontend: cold
// (after `buildctl prune --all`) and warm (the other branch, cache kept).
func ifElseRows(ctx context.Context, l *lab.Lab, root, work string, runs int) ([]row, error) {
	read := func(name string) (string, error) {
		dt, err := os.ReadFile(filepath.Join(root, "testdata/examples", name, "Dockerfile"))
		return l.Localize(string(dt)), err
	}
	ours, err := read("branch-if-else")
	if err != nil {
		return nil, err
	}
	alias, err := read("branch-stages-classic")
	if err != nil {
		return nil, err
	}
	_, alias, _ = strings.Cut(alias, "\n") // upstream's frontend: no # syntax= line
	shell := l.Localize(`FROM 127.0.0.1:5000/busybox
RUN echo base > /base
ARG BUILD_VERSION=1
RUN if [ "$BUILD_VERSION" = 1 ]; then touch /version1; elif [ "$BUILD_VERSION" = 2 ]; then touch /version2; fi
RUN ls / > /listing
`)
	cases := []struct{ key, dockerfile string }{{"alias stages", alias}, {"shell if in RUN", shell}, {"ours", ours}}
	type meas struct{ cold, warm, vertices, images []float64 }
	got := map[string]*meas{}
	done, err := freshBuildkitd(ctx, l, filepath.Join(work, "ifelse-buildkitd"))
	if err != nil {
		return nil, err
	}
	defer done()
	for i := 0; i < runs; i++ {
		for _, c := range cases {
			dir := filepath.Join(work, "ifelse", strings.ReplaceAll(c.key, " ", "-"))
			if err := writeTree(dir, map[string]string{"Dockerfile": c.dockerfile}); err != nil {
				return nil, err
			}
			if _, err := l.Run(ctx, l.Buildctl, "--addr", l.Addr, "prune", "--all"); err != nil {
				return nil, err
			}
			m := got[c.key]
			if m == nil {
				m = &meas{}
				got[c.key] = m
			}
			out := filepath.Join(work, "ifelse-out")
			cold, err := build(ctx, l, dir, dir, "--opt", "build-arg:BUILD_VERSION=1", "--output", "type=local,dest="+out)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", c.key, err)
			}
			warm, err := build(ctx, l, dir, dir, "--opt", "build-arg:BUILD_VERSION=2", "--output", "type=local,dest="+out)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", c.key, err)
			}
			if _, err := os.Stat(filepath.Join(out, "version2")); err != nil {
				return nil, fmt.Errorf("%s: the BUILD_VERSION=2 build has no /version2", c.key)
			}
			m.cold = append(m.cold, cold.wall.Seconds())
			m.warm = append(m.warm, warm.wall.Seconds())
			m.vertices = append(m.vertices, float64(len(cold.vertices)))
			m.images = append(m.images, float64(cold.imagesResolved()))
			_ = os.RemoveAll(out)
		}
	}
	o := got["ours"]
	var rows []row
	for _, measure := range []struct {
		name, unit string
		pick       func(*meas) []float64
	}{
		{"IF/ELSE: build after prune --all", "s", func(m *meas) []float64 { return m.cold }},
		{"IF/ELSE: rebuild, other branch", "s", func(m *meas) []float64 { return m.warm }},
		{"IF/ELSE: vertices in the solve (cold)", "count", func(m *meas) []float64 { return m.vertices }},
		{"IF/ELSE: images resolved (cold)", "count", func(m *meas) []float64 { return m.images }},
	} {
		for _, c := range cases[:2] {
			rows = append(rows, newRow(measure.name, measure.unit, c.key, summarize(measure.pick(got[c.key])), summarize(measure.pick(o)), 0))
		}
	}
	return rows, nil
}

// frontendRows compares the size of the frontend binary, the frontend
// image's only file, with upstream's dockerfile-frontend of the BuildKit
// in go.mod, both built with the same flags.
func frontendRows(ctx context.Context, root, work string) ([]row, error) {
	flags := []string{"build", "-trimpath", "-ldflags", "-s -w", "-o"}
	ours := filepath.Join(work, "xdockerfile-frontend")
	if err := goBuild(ctx, root, append(flags, ours, "./cmd/xdockerfile-frontend")); err != nil {
		return nil, err
	}
	// A scratch module with our go.mod, so upstream's binary links the same
	// versions of everything both use.
	mod := filepath.Join(work, "upstream-frontend")
	if err := os.MkdirAll(mod, 0o755); err != nil {
		return nil, err
	}
	gomod, err := os.ReadFile(filepath.Join(root, "go.mod"))
	if err != nil {
		return nil, err
	}
	gomod = regexp.MustCompile(`(?m)^module .*$`).ReplaceAll(gomod, []byte("module xdockerfile.local/upstream-frontend"))
	gosum, _ := os.ReadFile(filepath.Join(root, "go.sum"))
	if err := writeTree(mod, map[string]string{"go.mod": string(gomod), "go.sum": string(gosum)}); err != nil {
		return nil, err
	}
	upstream := filepath.Join(work, "dockerfile-frontend")
	if err := goBuild(ctx, mod, append(append([]string{}, flags...), upstream, "-mod=mod", "github.com/moby/buildkit/frontend/dockerfile/cmd/dockerfile-frontend")); err != nil {
		return nil, err
	}
	size := func(p string, compress bool) (*stat, error) {
		dt, err := os.ReadFile(p)
		if err != nil {
			return nil, err
		}
		n := float64(len(dt))
		if compress {
			var b bytes.Buffer
			zw := gzip.NewWriter(&b)
			zw.Write(dt)
			zw.Close()
			n = float64(b.Len())
		}
		return &stat{Median: n / 1e6, Min: n / 1e6, Max: n / 1e6, Runs: 1}, nil
	}
	var rows []row
	for _, c := range []struct {
		name     string
		compress bool
	}{{"frontend image: binary, stripped", false}, {"frontend image: layer (gzip)", true}} {
		u, err := size(upstream, c.compress)
		if err != nil {
			return nil, err
		}
		o, err := size(ours, c.compress)
		if err != nil {
			return nil, err
		}
		rows = append(rows, newRow(c.name, "MB", "upstream dockerfile-frontend", u, o, 1.05))
	}
	return rows, nil
}

func goBuild(ctx context.Context, dir string, args []string) error {
	cmd := exec.CommandContext(ctx, "go", args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("go %s: %w\n%s", strings.Join(args, " "), err, tail(string(out), 20))
	}
	return nil
}

func tail(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
