package pep508

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// corpusMarkers collects the markers of the poetry export corpus: lock
// file markers and the markers of the expected requirement lines.
func corpusMarkers(tb testing.TB) []string {
	var out []string
	locks, _ := filepath.Glob("../testdata/poetry/*/poetry.lock")
	quoted := regexp.MustCompile(`(?m)^markers = "((?:[^"\\]|\\.)*)"`)
	inline := regexp.MustCompile(`markers = "((?:[^"\\]|\\.)*)"`)
	for _, l := range locks {
		data, err := os.ReadFile(l)
		if err != nil {
			tb.Fatal(err)
		}
		for _, re := range []*regexp.Regexp{quoted, inline} {
			for _, m := range re.FindAllStringSubmatch(string(data), -1) {
				out = append(out, strings.ReplaceAll(m[1], `\"`, `"`))
			}
		}
	}
	expected, _ := filepath.Glob("../testdata/poetry/*/expected.txt")
	for _, e := range expected {
		data, err := os.ReadFile(e)
		if err != nil {
			tb.Fatal(err)
		}
		for _, line := range strings.Split(string(data), "\n") {
			if _, m, ok := strings.Cut(line, " ; "); ok {
				out = append(out, strings.TrimSuffix(m, " \\"))
			}
		}
	}
	return out
}

func TestCorpusMarkersRoundTrip(t *testing.T) {
	ms := corpusMarkers(t)
	if len(ms) == 0 {
		t.Fatal("no markers found in ../testdata/poetry")
	}
	for _, s := range ms {
		checkRoundTrip(t, s)
	}
}

// checkRoundTrip: a printed marker parses again, and printing is stable
// from then on. poetry-core's simplification picks the least complex of
// several normal forms, which is not always idempotent on the first print
// (the text parsed back can simplify further, e.g. `(a or b) and c and d`
// printed as a disjunction that re-parses to a shorter conjunction); this
// implementation reproduces that, so the property allows one more round.
func checkRoundTrip(t *testing.T, s string) {
	m, err := Parse(s)
	if err != nil {
		return
	}
	printed := m.String()
	for round := 0; round < 2; round++ {
		if printed == "" || printed == "<empty>" {
			return
		}
		m2, err := Parse(printed)
		if err != nil {
			t.Fatalf("Parse(%q) printed %q, which does not parse: %v", s, printed, err)
		}
		again := m2.String()
		if again == printed {
			return
		}
		printed = again
	}
	t.Fatalf("Parse(%q): printing does not settle (last %q)", s, printed)
}

func FuzzParseMarker(f *testing.F) {
	for _, s := range corpusMarkers(f) {
		f.Add(s)
	}
	for _, s := range roundTripCases {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if len(s) > 300 {
			// normal forms grow exponentially, in poetry-core too
			return
		}
		checkRoundTrip(t, s)
	})
}
