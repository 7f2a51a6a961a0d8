package main

import (
	"context"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/xdockerfile/xdockerfile/internal/lab"
	"github.com/xdockerfile/xdockerfile/internal/pyindex"
)

// poetryBench holds what every run of every variant shares.
type poetryBench struct {
	lab            *lab.Lab
	index          *pyindex.Server
	python, poetry string          // base image references
	baseLayers     map[string]bool // layers of both base images
	poetryLayers   map[string]bool // layers the Poetry image adds
	wheels         []wheelFile
	bump           wheelFile
	sizes          map[string]int64 // wheel filename → bytes
	seed           uint64
	work           string
	verbose        bool
}

// samples are one variant's measurements, one entry per run.
type samples struct {
	coldStep, coldWall, editRan, editWall, bumpStep, bumpWall, bumpFiles, bumpMB, layerMB []float64
	poetryIn, bumpOnly                                                                    []bool
}

// variantSummary is one line of the per-variant overview.
type variantSummary struct {
	Key           string `json:"key"`
	Title         string `json:"title"`
	ColdStep      *stat  `json:"cold_step_s"`
	ColdWall      *stat  `json:"cold_build_s"`
	EditRan       *stat  `json:"source_edit_steps_rerun"`
	EditWall      *stat  `json:"source_edit_build_s"`
	BumpStep      *stat  `json:"bump_step_s"`
	BumpWall      *stat  `json:"bump_build_s"`
	BumpFiles     *stat  `json:"bump_files_fetched"`
	BumpMB        *stat  `json:"bump_mb_fetched"`
	BumpOnly      bool   `json:"bump_fetched_only_the_package"`
	LayerMB       *stat  `json:"layer_added_mb_gzip"`
	PoetryInImage bool   `json:"poetry_in_image"`
}

func (s *samples) summary(v variant) variantSummary {
	return variantSummary{
		Key: v.key, Title: v.title,
		ColdStep: summarize(s.coldStep), ColdWall: summarize(s.coldWall),
		EditRan: summarize(s.editRan), EditWall: summarize(s.editWall),
		BumpStep: summarize(s.bumpStep), BumpWall: summarize(s.bumpWall),
		BumpFiles: summarize(s.bumpFiles), BumpMB: summarize(s.bumpMB),
		BumpOnly: !slices.Contains(s.bumpOnly, false), LayerMB: summarize(s.layerMB),
		PoetryInImage: slices.Contains(s.poetryIn, true),
	}
}

// run measures every variant runs times, interleaved: a, b, c, …, a, b, c, …
func (p *poetryBench) run(ctx context.Context, runs int, chosen []variant) (map[string]*samples, error) {
	out := map[string]*samples{}
	for _, v := range chosen {
		out[v.key] = &samples{}
	}
	for i := 1; i <= runs; i++ {
		for _, v := range chosen {
			if err := p.once(ctx, v, i, out[v.key]); err != nil {
				return nil, fmt.Errorf("%s, run %d: %w", v.key, i, err)
			}
		}
	}
	return out, nil
}

// once is one run of a variant on a fresh buildkitd: a cold build, a
// rebuild after a source edit, a rebuild after a one-package version bump.
func (p *poetryBench) once(ctx context.Context, v variant, run int, s *samples) error {
	dir := filepath.Join(p.work, fmt.Sprintf("%s-%d", v.key, run))
	ctxDir, dfDir := filepath.Join(dir, "context"), filepath.Join(dir, "dockerfile")
	defer os.RemoveAll(dir)
	lock, err := lockFiles(p.index.URL(), p.wheels)
	if err != nil {
		return err
	}
	files := sourceFiles(p.seed)
	maps.Copy(files, lock)
	files["unzip.py"] = unzipPy
	if err := writeTree(ctxDir, files); err != nil {
		return err
	}
	if err := writeTree(dfDir, map[string]string{"Dockerfile": v.render(p.python, p.poetry, p.lab.Frontend)}); err != nil {
		return err
	}
	done, err := freshBuildkitd(ctx, p.lab, filepath.Join(dir, "buildkitd"))
	if err != nil {
		return err
	}
	defer done()
	repo := "bench-" + v.key
	push := func(tag string) []string {
		return []string{"--output", "type=image,name=" + p.lab.Registry + "/" + repo + ":" + tag + ",push=true"}
	}

	// Cold.
	tag := fmt.Sprint("cold-", run)
	cold, err := build(ctx, p.lab, ctxDir, dfDir, push(tag)...)
	if err != nil {
		return err
	}
	step, ran := cold.stepTime(v.steps)
	if ran != len(v.steps) {
		return fmt.Errorf("cold build ran %d of the %d dependency steps %q: the markers do not match", ran, len(v.steps), v.steps)
	}
	p.show(cold, v)
	s.coldStep = append(s.coldStep, step.Seconds())
	s.coldWall = append(s.coldWall, cold.wall.Seconds())
	img, err := layers(ctx, p.lab.Registry, repo+":"+tag)
	if err != nil {
		return err
	}
	var added int64
	poetryIn := false
	for i, l := range img {
		poetryIn = poetryIn || p.poetryLayers[l.digest]
		if !p.baseLayers[l.digest] && i < len(img)-1 { // the last is COPY . /app
			added += l.size
		}
	}
	s.layerMB = append(s.layerMB, float64(added)/1e6)
	s.poetryIn = append(s.poetryIn, poetryIn)

	// A source edit.
	if err := os.WriteFile(filepath.Join(ctxDir, "app", "__init__.py"), []byte(fmt.Sprintf("# edit %d\n", run)), 0o644); err != nil {
		return err
	}
	edit, err := build(ctx, p.lab, ctxDir, dfDir, push(fmt.Sprint("edit-", run))...)
	if err != nil {
		return err
	}
	_, ran = edit.stepTime(v.steps)
	s.editRan = append(s.editRan, float64(ran))
	s.editWall = append(s.editWall, edit.wall.Seconds())

	// A one-package version bump.
	bumpedWheels := slices.Clone(p.wheels)
	for i := range bumpedWheels {
		if bumpedWheels[i].name == p.bump.name {
			bumpedWheels[i] = p.bump
		}
	}
	if lock, err = lockFiles(p.index.URL(), bumpedWheels); err != nil {
		return err
	}
	if err := writeTree(ctxDir, lock); err != nil {
		return err
	}
	p.index.ResetLog()
	bump, err := build(ctx, p.lab, ctxDir, dfDir, push(fmt.Sprint("bump-", run))...)
	if err != nil {
		return err
	}
	step, _ = bump.stepTime(v.steps)
	fetched, bytes := p.fetched()
	s.bumpStep = append(s.bumpStep, step.Seconds())
	s.bumpWall = append(s.bumpWall, bump.wall.Seconds())
	s.bumpFiles = append(s.bumpFiles, float64(len(fetched)))
	s.bumpMB = append(s.bumpMB, float64(bytes)/1e6)
	s.bumpOnly = append(s.bumpOnly, len(fetched) == 1 && fetched[0] == p.bump.filename)
	logf("  %-14s run %d: cold %5.1f s (step %5.1f s), edit %4.1f s (%d re-run), bump %5.1f s (step %5.1f s, fetched %v), layer %.1f MB",
		v.key, run, cold.wall.Seconds(), s.coldStep[len(s.coldStep)-1], edit.wall.Seconds(), ran, bump.wall.Seconds(), step.Seconds(), fetched, float64(added)/1e6)
	return nil
}

// fetched lists the wheels downloaded since the log was reset, and their bytes.
func (p *poetryBench) fetched() ([]string, int64) {
	var names []string
	var total int64
	for _, line := range p.index.Log() {
		f := strings.Fields(line)
		if len(f) == 3 && f[0] == "GET" && strings.HasPrefix(f[1], "/files/") && (f[2] == "200" || f[2] == "206") {
			name := strings.TrimPrefix(f[1], "/files/")
			names = append(names, name)
			total += p.sizes[name]
		}
	}
	return names, total
}

func (p *poetryBench) show(r *buildResult, v variant) {
	if !p.verbose {
		return
	}
	for _, st := range r.steps(v.steps) {
		if st.Started != nil && st.Completed != nil {
			logf("    %s: %.2f s cached=%t", st.Name, st.Completed.Sub(*st.Started).Seconds(), st.Cached)
		}
	}
}

// poetryRows compares ours with every baseline, with the targets.
func poetryRows(sum map[string]variantSummary) []row {
	ours, ok := sum["ours"]
	if !ok {
		return nil
	}
	var rows []row
	get := func(key string) (variantSummary, bool) { v, ok := sum[key]; return v, ok }
	baselines := []string{"poetry", "seed", "pip", "pip-nocompile", "limit"}
	limits := map[string]float64{"poetry": 0.6, "limit": 1.15}
	for _, k := range baselines {
		if b, ok := get(k); ok {
			rows = append(rows, newRow("dependency step, cold", "s", k, b.ColdStep, ours.ColdStep, limits[k]))
		}
	}
	fastest := ""
	for _, k := range []string{"seed", "poetry", "pip", "pip-nocompile"} {
		if b, ok := get(k); ok && (fastest == "" || b.ColdWall.Median < sum[fastest].ColdWall.Median) {
			fastest = k
		}
	}
	for _, k := range baselines {
		if b, ok := get(k); ok {
			limit := 0.0
			if k == fastest {
				limit = 1
			}
			r := newRow("whole build, cold", "s", k, b.ColdWall, ours.ColdWall, limit)
			if k == fastest {
				r.Target = "≤ 1× (fastest baseline)"
			}
			rows = append(rows, r)
		}
	}
	if b, ok := get("poetry"); ok {
		rows = append(rows,
			newRow("source edit: dependency steps re-run", "count", "poetry", b.EditRan, ours.EditRan, 0).withTarget("0", ours.EditRan.Max == 0),
			newRow("source edit: whole build", "s", "poetry", b.EditWall, ours.EditWall, 0))
	}
	for _, k := range []string{"poetry", "seed", "pip", "limit"} {
		if b, ok := get(k); ok {
			limit := 0.0
			if k == "poetry" {
				limit = 0.5
			}
			rows = append(rows, newRow("version bump: dependency step", "s", k, b.BumpStep, ours.BumpStep, limit))
		}
	}
	if b, ok := get("poetry"); ok {
		only := func(v variantSummary) string {
			return map[bool]string{true: "only " + bumped, false: "more than " + bumped}[v.BumpOnly]
		}
		rows = append(rows,
			newRow("version bump: files fetched", "count", "poetry", b.BumpFiles, ours.BumpFiles, 0).withTarget("only "+bumped, ours.BumpOnly),
			newRow("version bump: MB fetched", "MB", "poetry", b.BumpMB, ours.BumpMB, 0),
			newRow("version bump: what was fetched", "text", "poetry", &stat{Text: only(b), Runs: b.BumpFiles.Runs}, &stat{Text: only(ours), Runs: ours.BumpFiles.Runs}, 0))
	}
	for _, k := range baselines {
		if b, ok := get(k); ok {
			limit := 0.0
			if k == "poetry" {
				limit = 1
			}
			rows = append(rows, newRow("image: layers added by the dependency step (gzip)", "MB", k, b.LayerMB, ours.LayerMB, limit))
		}
	}
	if b, ok := get("poetry"); ok {
		yn := func(v variantSummary) *stat {
			return &stat{Text: map[bool]string{true: "yes", false: "no"}[v.PoetryInImage], Runs: v.ColdStep.Runs}
		}
		rows = append(rows, newRow("image: Poetry in it", "text", "poetry", yn(b), yn(ours), 0).withTarget("no", !ours.PoetryInImage))
	}
	return rows
}

// overview is the per-variant table of the docs, the layout.
func overview(list []variantSummary) string {
	var b strings.Builder
	b.WriteString("| what the build does | dependency step, cold | whole cold build | source edit: steps re-run | one-package bump: step | bump: fetched | image layer added (gzip) | Poetry in image |\n")
	b.WriteString("| --- | --- | --- | --- | --- | --- | --- | --- |\n")
	for _, v := range list {
		fmt.Fprintf(&b, "| %s | %s | %s | %s | %s | files: %s, %s | %s | %s |\n", v.Title,
			format(v.ColdStep, "s"), format(v.ColdWall, "s"), format(v.EditRan, "count"), format(v.BumpStep, "s"),
			format(v.BumpFiles, "count"), format(v.BumpMB, "MB"), format(v.LayerMB, "MB"),
			map[bool]string{true: "yes", false: "no"}[v.PoetryInImage])
	}
	return b.String()
}
