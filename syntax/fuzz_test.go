package syntax

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/xdockerfile/xdockerfile/internal/golden"
)

// seeds returns the Dockerfiles of this package's and conversion's goldens.
func seeds(f *testing.F) []string {
	var out []string
	for _, pattern := range []string{"testdata/parse/*.txt", "../conversion/testdata/lower/*.txt"} {
		files, _ := filepath.Glob(pattern)
		for _, p := range files {
			dt, err := os.ReadFile(p)
			if err != nil {
				f.Fatal(err)
			}
			if df, ok := golden.Parse(dt).Get("Dockerfile"); ok {
				out = append(out, df)
			}
		}
	}
	if len(out) == 0 {
		f.Fatal("no seeds")
	}
	return out
}

// FuzzParse checks that any file either parses into blocks whose ranges
// are ordered and inside the file, or fails with a located error; never a
// panic.
func FuzzParse(f *testing.F) {
	for _, s := range seeds(f) {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, src string) {
		file, err := Parse("Dockerfile", []byte(src))
		if err != nil {
			if !strings.HasPrefix(err.Error(), "Dockerfile") {
				t.Fatalf("error without the file name: %v", err)
			}
			return
		}
		lines := strings.Count(src, "\n") + 1
		last := 0
		var check func([]Node)
		check = func(body []Node) {
			for _, n := range body {
				r := n.Range()
				if r.Start < last || r.End < r.Start || r.End > lines {
					t.Fatalf("range %v out of order (after %d, %d lines)", r, last, lines)
				}
				last = r.Start
				if b, ok := n.(*Block); ok {
					for _, br := range b.Branches {
						check(br.Body)
					}
				}
			}
		}
		check(file.Body)
	})
}

// FuzzCondition checks that the condition parser never panics and that a
// parsed condition prints to text that parses to the same tree.
func FuzzCondition(f *testing.F) {
	for _, s := range seeds(f) {
		for _, line := range strings.Split(s, "\n") {
			if _, cond, ok := blockHead(line); ok {
				f.Add(cond)
			}
		}
	}
	f.Fuzz(func(t *testing.T, src string) {
		e, err := ParseCondition(src, '\\')
		if err != nil {
			return
		}
		again, err := ParseCondition(e.String(), '\\')
		if err != nil {
			t.Fatalf("%q printed as %q, which does not parse: %v", src, e.String(), err)
		}
		if again.String() != e.String() {
			t.Fatalf("%q: %q reparsed as %q", src, e.String(), again.String())
		}
	})
}

// FuzzBlockHead holds blockHead to the regular expression it stands for.
func FuzzBlockHead(f *testing.F) {
	re := regexp.MustCompile(`(?i)^\s*(else\s+if|if|else|end|done)(\s+|$)`)
	for _, s := range []string{"IF $A", "else if x", "ELSE\tIF", "ELSE IFX", "ELSE IF\vx", " end ", "Done",
		"ELSE\vIF", "EL\u017fE", "IF", "ELSE  IF  a b ", "IFELSE", "\u00a0IF"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, line string) {
		head, rest, ok := blockHead(line)
		m := re.FindStringSubmatchIndex(line)
		if ok != (m != nil) {
			t.Fatalf("%q: blockHead %v, the expression %v", line, ok, m != nil)
		}
		if !ok {
			return
		}
		wantHead := strings.ToUpper(strings.Join(strings.Fields(line[m[2]:m[3]]), " "))
		if wantRest := strings.TrimSpace(line[m[1]:]); head != wantHead || rest != wantRest {
			t.Fatalf("%q: blockHead %q %q, the expression %q %q", line, head, rest, wantHead, wantRest)
		}
	})
}
