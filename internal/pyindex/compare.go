package pyindex

import (
	"encoding/csv"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/xdockerfile/xdockerfile/internal/testfs"
)

// CompareInstalls holds what an installer wrote (ours) against what pip
// wrote for the same wheels into the same venv path: the same files, bytes
// and modes, the same RECORD rows, with two expected differences:
// INSTALLER names the installer, and pip's empty REQUESTED marker (with
// its RECORD row) is not there, as Poetry's installer writes none either.
// pipOnly tells files only pip may write (its own, say). It returns the
// differences and how many files were equal.
func CompareInstalls(ours, pip map[string]testfs.Entry, installer string, pipOnly func(string) bool) (diffs []string, equal int) {
	for _, p := range slices.Sorted(maps.Keys(pip)) {
		e := pip[p]
		o, ok := ours[p]
		switch {
		case strings.HasSuffix(p, ".dist-info/REQUESTED") && !pipOnly(p):
			if e.Data != "" {
				diffs = append(diffs, fmt.Sprintf("pip's %s is not empty: %q", p, e.Data))
			}
			if ok {
				diffs = append(diffs, installer+" wrote "+p+", which Poetry's installer does not")
			}
		case !ok:
			if !pipOnly(p) {
				diffs = append(diffs, "pip wrote "+p+", "+installer+" did not")
			}
		case pipOnly(p):
			diffs = append(diffs, installer+" wrote pip's own "+p)
		case strings.HasSuffix(p, ".dist-info/INSTALLER"):
			if e.Data != "pip\n" || o.Data != installer+"\n" || o.Mode != e.Mode {
				diffs = append(diffs, fmt.Sprintf("%s: %q %v, pip's %q %v", p, o.Data, o.Mode, e.Data, e.Mode))
			}
		case strings.HasSuffix(p, ".dist-info/RECORD"):
			or, pr := recordRows(o.Data), recordRows(e.Data)
			if !slices.Equal(or.rows, pr.rows) {
				diffs = append(diffs, fmt.Sprintf("%s differs:\n%s\npip's:\n%s", p, strings.Join(or.rows, "\n"), strings.Join(pr.rows, "\n")))
			}
			if or.requested || !pr.requested {
				diffs = append(diffs, fmt.Sprintf("%s: a REQUESTED row in %s's %t, in pip's %t; want only in pip's", p, installer, or.requested, pr.requested))
			}
		case o != e:
			diffs = append(diffs, fmt.Sprintf("%s differs: %v %q, pip's %v %q", p, o.Mode, o.Data, e.Mode, e.Data))
		default:
			equal++
		}
	}
	for _, p := range slices.Sorted(maps.Keys(ours)) {
		if _, ok := pip[p]; !ok {
			diffs = append(diffs, installer+" wrote "+p+", pip did not")
		}
	}
	return diffs, equal
}

// record is a RECORD's rows but INSTALLER's, whose hash names the
// installer, and REQUESTED's, which tells whether it had one.
type record struct {
	rows      []string
	requested bool
}

func recordRows(text string) record {
	rows, _ := csv.NewReader(strings.NewReader(text)).ReadAll()
	var out record
	for _, r := range rows {
		switch {
		case strings.HasSuffix(r[0], ".dist-info/INSTALLER"):
		case strings.HasSuffix(r[0], ".dist-info/REQUESTED"):
			out.requested = true
		default:
			out.rows = append(out.rows, strings.Join(r, ","))
		}
	}
	return out
}
