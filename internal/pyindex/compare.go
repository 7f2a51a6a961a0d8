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
// and modes, the same RECORD rows, but for INSTALLER, which names the
// installer. pipOnly tells files only pip may write (its own, say). It
// returns the differences and how many files were equal.
func CompareInstalls(ours, pip map[string]testfs.Entry, installer string, pipOnly func(string) bool) (diffs []string, equal int) {
	for _, p := range slices.Sorted(maps.Keys(pip)) {
		e := pip[p]
		o, ok := ours[p]
		switch {
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
			if or, pr := recordRows(o.Data), recordRows(e.Data); !slices.Equal(or, pr) {
				diffs = append(diffs, fmt.Sprintf("%s differs:\n%s\npip's:\n%s", p, strings.Join(or, "\n"), strings.Join(pr, "\n")))
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

// recordRows are RECORD's rows but INSTALLER's, whose hash names the installer.
func recordRows(record string) []string {
	rows, _ := csv.NewReader(strings.NewReader(record)).ReadAll()
	var out []string
	for _, r := range rows {
		if !strings.HasSuffix(r[0], ".dist-info/INSTALLER") {
			out = append(out, strings.Join(r, ","))
		}
	}
	return out
}
