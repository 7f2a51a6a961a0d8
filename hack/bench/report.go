package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

// stat is the summary of one measure's samples.
type stat struct {
	Median  float64   `json:"median"`
	Min     float64   `json:"min"`
	Max     float64   `json:"max"`
	Runs    int       `json:"runs"`
	Samples []float64 `json:"samples,omitempty"`
	Text    string    `json:"text,omitempty"` // for yes/no measures
}

func summarize(samples []float64) *stat {
	if len(samples) == 0 {
		return nil
	}
	s := slices.Clone(samples)
	slices.Sort(s)
	med := s[len(s)/2]
	if len(s)%2 == 0 {
		med = (s[len(s)/2-1] + s[len(s)/2]) / 2
	}
	return &stat{Median: med, Min: s[0], Max: s[len(s)-1], Runs: len(s), Samples: samples}
}

// row is one line of the table: a measure of ours against one baseline.
type row struct {
	Measure  string   `json:"measure"`
	Unit     string   `json:"unit"` // s, MB, count, µs, text
	Baseline string   `json:"baseline"`
	BaseVal  *stat    `json:"baseline_value"`
	Ours     *stat    `json:"ours"`
	Ratio    *float64 `json:"ratio,omitempty"` // ours / baseline, medians
	Target   string   `json:"target,omitempty"`
	Met      *bool    `json:"met,omitempty"`
}

// newRow fills the ratio and, for a target "≤ X×", whether it is met.
func newRow(measure, unit, baseline string, base, ours *stat, limit float64) row {
	r := row{Measure: measure, Unit: unit, Baseline: baseline, BaseVal: base, Ours: ours}
	if base != nil && ours != nil && base.Text == "" && base.Median > 0 {
		q := ours.Median / base.Median
		r.Ratio = &q
		if limit > 0 {
			met := q <= limit
			r.Met, r.Target = &met, fmt.Sprintf("≤ %g×", limit)
		}
	}
	return r
}

func (r row) withTarget(target string, met bool) row {
	r.Target, r.Met = target, &met
	return r
}

func format(s *stat, unit string) string {
	if s == nil {
		return "—"
	}
	if s.Text != "" {
		return s.Text
	}
	return formatValue(s.Median, unit)
}

func formatValue(v float64, unit string) string {
	switch unit {
	case "s":
		return fmt.Sprintf("%.2f s", v)
	case "MB":
		return fmt.Sprintf("%.2f MB", v)
	case "µs":
		if v >= 1000 {
			return fmt.Sprintf("%.2f ms", v/1000)
		}
		return fmt.Sprintf("%.1f µs", v)
	default:
		return fmt.Sprintf("%g", v)
	}
}

func spread(s *stat, unit string) string {
	if s == nil || s.Text != "" {
		return ""
	}
	if s.Min == s.Max {
		return formatValue(s.Min, unit)
	}
	return formatValue(s.Min, unit) + "–" + formatValue(s.Max, unit)
}

// table renders the rows as a Markdown table, which reads as well in a
// terminal as in the docs.
func table(rows []row) string {
	var b strings.Builder
	b.WriteString("| measure | baseline | baseline value | ours | ratio | target | runs | spread (ours; baseline) |\n")
	b.WriteString("| --- | --- | --- | --- | --- | --- | --- | --- |\n")
	for _, r := range rows {
		ratio := "—"
		if r.Ratio != nil {
			ratio = fmt.Sprintf("%.2f×", *r.Ratio)
		}
		target := r.Target
		if r.Met != nil {
			target += map[bool]string{true: " ✓", false: " ✗"}[*r.Met]
		}
		runs := 0
		if r.Ours != nil {
			runs = r.Ours.Runs
		}
		sp := spread(r.Ours, r.Unit)
		if b := spread(r.BaseVal, r.Unit); b != "" {
			sp += "; " + b
		}
		fmt.Fprintf(&b, "| %s | %s | %s | %s | %s | %s | %d | %s |\n",
			r.Measure, r.Baseline, format(r.BaseVal, r.Unit), format(r.Ours, r.Unit), ratio, strings.TrimSpace(target), runs, sp)
	}
	return b.String()
}

// results is bench/results.json.
type results struct {
	Generated time.Time         `json:"generated"`
	Machine   map[string]string `json:"machine"`
	Config    map[string]any    `json:"config"`
	Rows      []row             `json:"rows"`
	Variants  []variantSummary  `json:"variants,omitempty"`
	Notes     []string          `json:"notes,omitempty"`
}

func readJSON(path string) (results, error) {
	var r results
	dt, err := os.ReadFile(path)
	if err != nil {
		return r, err
	}
	return r, json.Unmarshal(dt, &r)
}

// sectionOf is the section of main's -sections that measures a row.
func sectionOf(r row) string {
	switch {
	case strings.HasPrefix(r.Measure, "conversion"):
		return "conversion"
	case strings.HasPrefix(r.Measure, "IF/ELSE"):
		return "ifelse"
	case strings.HasPrefix(r.Measure, "frontend image"):
		return "frontend"
	}
	return "poetry"
}

// keepOthers adds to a run of some sections the rows of an earlier run's
// other sections, in the earlier order, with that run's variants and notes
// when the poetry section was not run again; the date and machine of both
// runs are kept apart in Config.
func keepOthers(old results, rows []row, res results, ran map[string]bool) ([]row, results) {
	fresh := map[string][]row{}
	for _, r := range rows {
		fresh[sectionOf(r)] = append(fresh[sectionOf(r)], r)
	}
	var merged []row
	done := map[string]bool{}
	for _, r := range old.Rows {
		s := sectionOf(r)
		switch {
		case !ran[s]:
			merged = append(merged, r)
		case !done[s]:
			merged, done[s] = append(merged, fresh[s]...), true
		}
	}
	for _, r := range rows {
		if s := sectionOf(r); !done[s] {
			merged, done[s] = append(merged, fresh[s]...), true
		}
	}
	if !ran["poetry"] {
		res.Variants = old.Variants
		for k, v := range old.Config {
			if _, ok := res.Config[k]; !ok {
				res.Config[k] = v
			}
		}
		res.Notes = append(append([]string(nil), old.Notes...), res.Notes...)
	}
	res.Config["earlier_run"] = old.Generated.Format(time.RFC3339) + " (sections not run again: their rows, variants and notes)"
	return merged, res
}

func writeJSON(path string, r results) error {
	dt, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	return os.WriteFile(path, append(dt, '\n'), 0o644)
}

const docBegin, docEnd = "<!-- bench:begin -->", "<!-- bench:end -->"

// updateDoc replaces what lies between the markers of the doc with the
// latest figures.
func updateDoc(path string, r results, rendered string) error {
	dt, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	before, rest, ok1 := strings.Cut(string(dt), docBegin)
	_, after, ok2 := strings.Cut(rest, docEnd)
	if !ok1 || !ok2 {
		return fmt.Errorf("%s has no %s … %s section", path, docBegin, docEnd)
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%s\n<!-- written by `make bench` (go run ./hack/bench) on %s; do not edit by hand -->\n\n", docBegin, r.Generated.Format("2006-01-02 15:04 MST"))
	b.WriteString(rendered)
	b.WriteString(docEnd)
	return os.WriteFile(path, []byte(before+b.String()+after), 0o644)
}
