// Command bench is `make bench`: it measures POETRY INSTALL against the
// ways Python dependencies are installed without it, on a generated,
// deterministic lock served from a loopback index, under a real buildkitd
// whose root is a fresh file system for every cold run; then the cost of
// conversion, of IF/ELSE against its workarounds, and the frontend image's
// size against upstream's. It prints one table (ours against each
// baseline) and writes bench/results.json and the figures section of
// docs/performance.md.
//
// It runs as root (loop mounts, buildkitd with runc) and needs what
// hack/deps.sh installs and the trixie root file systems of
// hack/poetry-rootfs.sh; it runs both scripts itself (both are cached).
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"time"

	"github.com/xdockerfile/xdockerfile/internal/lab"
	"github.com/xdockerfile/xdockerfile/internal/pyindex"
)

type options struct {
	runs, benchCount int
	quick, verbose   bool
	keep             bool
	seed             uint64
	out, doc         string
	variants         string
	sections         string
}

func main() {
	var o options
	flag.IntVar(&o.runs, "runs", 5, "runs of every variant, interleaved; medians are reported")
	flag.BoolVar(&o.quick, "quick", false, "a smoke run: one run of everything, nothing written unless -out/-doc are given")
	flag.BoolVar(&o.verbose, "v", false, "show the dependency steps of every build")
	flag.BoolVar(&o.keep, "keep", false, "keep the registry, the index and the work directory until interrupted, to look into them")
	flag.Uint64Var(&o.seed, "seed", 6, "seed of the generated lock and source")
	flag.StringVar(&o.out, "out", "bench/results.json", "where to write the results (empty: nowhere)")
	flag.StringVar(&o.doc, "doc", "docs/performance.md", "the document whose figures section to rewrite (empty: none)")
	flag.StringVar(&o.variants, "variants", "", "comma-separated subset of: seed,poetry,ours,pip,pip-nocompile,limit")
	flag.StringVar(&o.sections, "sections", "poetry,conversion,ifelse,frontend", "what to measure")
	flag.Parse()
	if o.quick {
		o.runs, o.benchCount = 1, 1
		set := map[string]bool{}
		flag.Visit(func(f *flag.Flag) { set[f.Name] = true })
		if !set["out"] {
			o.out = ""
		}
		if !set["doc"] {
			o.doc = ""
		}
	} else {
		o.benchCount = max(o.runs, 9)
	}
	ctx, cancel := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer cancel()
	if err := run(ctx, o); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

func logf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, time.Now().Format("15:04:05 ")+format+"\n", args...)
}

func run(ctx context.Context, o options) error {
	start := time.Now()
	root, err := os.Getwd()
	if err != nil {
		return err
	}
	if _, err := os.Stat(filepath.Join(root, "go.mod")); err != nil {
		return errors.New("run it from the repository root (make bench)")
	}
	sections := map[string]bool{}
	for _, s := range strings.Split(o.sections, ",") {
		sections[strings.TrimSpace(s)] = true
	}
	chosen := variants
	if o.variants != "" {
		chosen = nil
		for _, k := range strings.Split(o.variants, ",") {
			chosen = append(chosen, variantByKey(strings.TrimSpace(k)))
		}
	}

	bin := os.Getenv("XDOCKERFILE_BUILDKIT_BIN")
	if bin == "" {
		if bin, err = script(ctx, "hack/deps.sh"); err != nil {
			return err
		}
	}
	work, err := os.MkdirTemp("/var/tmp", "xdockerfile-bench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(work)
	logf("starting a registry and buildkitd under %s", work)
	if err := os.Mkdir(filepath.Join(work, "lab"), 0o755); err != nil {
		return err
	}
	// The registry runs under another name: hack/deps.sh, run by anyone
	// on the machine, ends with `pkill -x docker-registry`.
	registry, err := exec.LookPath("docker-registry")
	if err != nil {
		return err
	}
	if err := copyFile(registry, filepath.Join(work, "bench-registry")); err != nil {
		return err
	}
	l, err := lab.Start(ctx, lab.Options{BuildkitBin: filepath.Clean(bin), Dir: filepath.Join(work, "lab"),
		RegistryBinary: filepath.Join(work, "bench-registry")})
	if err != nil {
		return err
	}
	defer l.Close()

	res := results{Generated: time.Now().UTC(), Machine: machine(), Config: map[string]any{"runs": o.runs, "seed": o.seed, "quick": o.quick}}
	var rows []row
	if sections["poetry"] || sections["ifelse"] {
		logf("publishing the frontend image from %s and a busybox image", root)
		if err := l.PublishFrontend(ctx, root); err != nil {
			return err
		}
		if err := l.PublishBusybox(ctx); err != nil {
			return err
		}
	}
	if sections["poetry"] {
		p, err := setupPoetry(ctx, l, o, work)
		if err != nil {
			return err
		}
		defer p.index.Close()
		res.Config["lock"] = lockStats(p)
		logf("%d runs of %d variants, interleaved; each on a fresh buildkitd", o.runs, len(chosen))
		got, err := p.run(ctx, o.runs, chosen)
		if err != nil {
			return err
		}
		sum := map[string]variantSummary{}
		for _, v := range chosen {
			s := got[v.key].summary(v)
			sum[v.key] = s
			res.Variants = append(res.Variants, s)
		}
		rows = append(rows, poetryRows(sum)...)
		res.Notes = append(res.Notes, "`poetry install` runs with Poetry preinstalled in its base image (Debian's python3-poetry): "+
			"this leaves out the cost of installing Poetry, which real users pay.")
	}
	if sections["conversion"] {
		logf("conversion benchmarks (./conversion's BenchmarkConversion, %d alternating samples a side)", o.benchCount)
		r, err := conversionRows(ctx, root, work, o.benchCount)
		if err != nil {
			return err
		}
		rows = append(rows, r...)
	}
	if sections["ifelse"] {
		logf("IF/ELSE against alias stages and a shell if, %d runs", o.runs)
		r, err := ifElseRows(ctx, l, root, work, o.runs)
		if err != nil {
			return err
		}
		rows = append(rows, r...)
	}
	if sections["frontend"] {
		logf("frontend binary against upstream's dockerfile-frontend")
		r, err := frontendRows(ctx, root, work)
		if err != nil {
			return err
		}
		rows = append(rows, r...)
	}
	if o.out != "" && !o.quick {
		// A run of some sections keeps the other sections' figures.
		if old, err := readJSON(o.out); err == nil {
			rows, res = keepOthers(old, rows, res, sections)
		}
	}
	res.Rows = rows
	if dt, err := os.ReadFile("/proc/loadavg"); err == nil { // other work on the machine skews figures
		res.Machine["loadavg"] = strings.Join(strings.Fields(string(dt))[:3], " ")
	}
	res.Config["duration"] = time.Since(start).Round(time.Second).String()

	rendered := table(rows)
	fmt.Print(rendered)
	for _, n := range res.Notes {
		fmt.Println("\nnote:", n)
	}
	if o.out != "" {
		if err := writeJSON(o.out, res); err != nil {
			return err
		}
		logf("wrote %s", o.out)
	}
	if o.doc != "" {
		doc := rendered
		if len(res.Variants) > 0 {
			doc = "Every variant, medians:\n\n" + overview(res.Variants) + "\nOurs against each baseline:\n\n" + rendered
		}
		doc += "\n" + machineText(res) + "\n"
		for _, n := range res.Notes {
			doc += "\n* " + n
		}
		if len(res.Notes) > 0 {
			doc += "\n"
		}
		if err := updateDoc(o.doc, res, doc); err != nil {
			return err
		}
		logf("updated %s", o.doc)
	}
	logf("done in %s", time.Since(start).Round(time.Second))
	if o.keep {
		logf("registry %s and work directory %s kept until interrupted", l.Registry, work)
		<-ctx.Done()
	}
	return nil
}

// setupPoetry publishes the trixie images and serves the generated wheels.
func setupPoetry(ctx context.Context, l *lab.Lab, o options, work string) (*poetryBench, error) {
	paths, err := script(ctx, "hack/poetry-rootfs.sh")
	if err != nil {
		return nil, err
	}
	plain, delta, ok := strings.Cut(paths, "\n")
	if !ok {
		return nil, fmt.Errorf("hack/poetry-rootfs.sh printed %q", paths)
	}
	p := &poetryBench{lab: l, seed: o.seed, work: filepath.Join(work, "runs"), verbose: o.verbose,
		python: l.Registry + "/python:3.13-trixie", poetry: l.Registry + "/python:3.13-trixie-poetry"}
	logf("publishing %s and %s", p.python, p.poetry)
	if err := l.PublishRootfs(ctx, plain, p.python, "", "ENV LANG=C.UTF-8", `CMD ["python3"]`); err != nil {
		return nil, err
	}
	if err := l.PublishRootfs(ctx, delta, p.poetry, p.python); err != nil {
		return nil, err
	}
	py, err := layers(ctx, l.Registry, "python:3.13-trixie")
	if err != nil {
		return nil, err
	}
	po, err := layers(ctx, l.Registry, "python:3.13-trixie-poetry")
	if err != nil {
		return nil, err
	}
	p.baseLayers, p.poetryLayers = map[string]bool{}, map[string]bool{}
	for _, x := range py {
		p.baseLayers[x.digest] = true
	}
	for _, x := range po {
		if !p.baseLayers[x.digest] {
			p.poetryLayers[x.digest] = true
		}
		p.baseLayers[x.digest] = true
	}

	logf("generating the lock's wheels (seed %d)", o.seed)
	if p.wheels, p.bump, err = buildWheels(o.seed); err != nil {
		return nil, err
	}
	if p.index, err = pyindex.NewServer(); err != nil {
		return nil, err
	}
	p.sizes = map[string]int64{}
	for _, w := range append(p.wheels, p.bump) {
		p.index.Add(w.filename, w.data)
		p.sizes[w.filename] = int64(len(w.data))
	}
	st := lockStats(p)
	logf("lock: %d wheels, %.1f MB of wheels, %d files, %.1f MB unpacked; index %s", st["wheels"], st["wheels_mb"], st["files"], st["unpacked_mb"], p.index.URL())
	return p, nil
}

func lockStats(p *poetryBench) map[string]any {
	var files int
	var packed, unpacked int64
	for _, w := range p.wheels {
		packed += int64(len(w.data))
		n, size := zipStats(w.data)
		files += n
		unpacked += size
	}
	return map[string]any{"wheels": len(p.wheels), "wheels_mb": float64(packed) / 1e6, "files": files,
		"unpacked_mb": float64(unpacked) / 1e6, "bumped": p.bump.filename}
}

func copyFile(src, dst string) error {
	dt, err := os.ReadFile(src)
	if err != nil {
		return err
	}
	return os.WriteFile(dst, dt, 0o755)
}

// script runs a hack/ script and returns what it printed.
func script(ctx context.Context, path string) (string, error) {
	cmd := exec.CommandContext(ctx, "bash", path)
	cmd.Stderr = os.Stderr
	out, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("%s: %w", path, err)
	}
	return strings.TrimSpace(string(out)), nil
}

// machine describes where the figures come from.
func machine() map[string]string {
	m := map[string]string{"nproc": fmt.Sprint(runtime.NumCPU()), "go": runtime.Version()}
	if dt, err := os.ReadFile("/proc/meminfo"); err == nil {
		var kb int64
		fmt.Sscanf(strings.TrimPrefix(strings.SplitN(string(dt), "\n", 2)[0], "MemTotal:"), "%d", &kb)
		m["memory"] = fmt.Sprintf("%.1f GiB", float64(kb)/(1<<20))
	}
	if dt, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, line := range strings.Split(string(dt), "\n") {
			if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
				m["cpu"] = strings.TrimSpace(v)
				break
			}
		}
	}
	if out, err := exec.Command("uname", "-sr").Output(); err == nil {
		m["kernel"] = strings.TrimSpace(string(out))
	}
	if out, err := exec.Command("findmnt", "-no", "SOURCE,FSTYPE,SIZE", "-T", "/var/tmp").Output(); err == nil {
		m["disk"] = strings.Join(strings.Fields(string(out)), " ") + " (holds the registry; buildkitd's root is a fresh loop-mounted ext4 image on it)"
	}
	return m
}

func machineText(r results) string {
	m := r.Machine
	return fmt.Sprintf("Machine: %s × %s, %s, %s, disk %s; %s; load average at the end %s. Runs per figure: %v; the whole run took %v.",
		m["nproc"], m["cpu"], m["memory"], m["kernel"], m["disk"], m["go"], m["loadavg"], r.Config["runs"], r.Config["duration"])
}
