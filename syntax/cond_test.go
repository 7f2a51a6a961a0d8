package syntax

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/xdockerfile/xdockerfile/internal/golden"
)

func TestParseCondition(t *testing.T) {
	for _, c := range []struct{ src, want string }{
		{`$A == 1`, `$A == 1`},
		{`$BUILD_VERSION==1`, `$BUILD_VERSION == 1`},
		{`$A!=1&&$B=~x||!$C`, `(($A != 1 && $B =~ x) || !$C)`},
		{`!($A || $B) && $C`, `(!($A || $B) && $C)`},
		{`EXISTS "src/*.py"`, `EXISTS "src/*.py"`},
		{`exists go.mod && defined GOFLAGS`, `(EXISTS go.mod && DEFINED GOFLAGS)`},
		{`$X == exists`, `$X == exists`},
		{`EXISTS`, `EXISTS`},
		{`${A:-a b} == "a b"`, `${A:-a b} == "a b"`},
		{`'it''s' != "say \"hi\""`, `'it''s' != "say \"hi\""`},
		{`$V =~ ^v(1|2)\.[0-9]+$ && $W`, `($V =~ ^v(1|2)\.[0-9]+$ && $W)`},
		{`($V =~ ^a$)`, `$V =~ ^a$`},
		{`$A==$B`, `$A == $B`},
		{`a=b`, `a=b`},
	} {
		e, err := ParseCondition(c.src, '\\')
		if err != nil {
			t.Errorf("%s: %v", c.src, err)
			continue
		}
		if got := e.String(); got != c.want {
			t.Errorf("%s: got %s, want %s", c.src, got, c.want)
		}
	}
}

func TestParseConditionErrors(t *testing.T) {
	for src, want := range map[string]string{
		``:            "missing condition",
		`$A ==`:       "expected an operand",
		`$A = 1`:      "'=' is not an operator",
		`($A`:         "missing ')'",
		`$A)`:         "unexpected \")\"",
		`"open`:       "unterminated quote",
		`${A`:         "missing '}'",
		`DEFINED 1x`:  "DEFINED takes a variable name",
		`$A =~ (`:     "invalid regular expression",
		`$A && || $B`: "expected an operand",
		`!`:           "expected an operand",
	} {
		_, err := ParseCondition(src, '\\')
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: got %v, want an error containing %q", src, err, want)
		}
	}
}

func TestTruthy(t *testing.T) {
	for _, s := range []string{"1", "true", "yes", "on", "x", " 2 "} {
		if !Truthy(s) {
			t.Errorf("%q should be true", s)
		}
	}
	for _, s := range []string{"", "0", "false", "FALSE", "No", "off", " "} {
		if Truthy(s) {
			t.Errorf("%q should be false", s)
		}
	}
}

// TestParseGolden runs testdata/parse/*.txt: a Dockerfile section in, the
// block structure ("tree") or the errors ("error") out.
func TestParseGolden(t *testing.T) {
	for _, path := range golden.Glob(t, "parse/*.txt") {
		t.Run(strings.TrimSuffix(filepath.Base(path), ".txt"), func(t *testing.T) {
			dt, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			a := golden.Parse(dt)
			df, _ := a.Get("Dockerfile")
			tree, errText := "", ""
			f, err := Parse("Dockerfile", []byte(df))
			if err != nil {
				errText = err.Error() + "\n"
			} else {
				tree = dump(f.Body, "")
			}
			changed := a.Check(t, "tree", tree)
			if a.Check(t, "error", errText) || changed {
				golden.Write(t, path, a)
			}
		})
	}
}

// dump prints a body as an indented outline with line ranges.
func dump(body []Node, indent string) string {
	var b strings.Builder
	for _, n := range body {
		switch n := n.(type) {
		case *Instruction:
			b.WriteString(indent + rangeString(n.Range()) + " " + n.Keyword() + "\n")
		case *Block:
			for i, br := range n.Branches {
				head := "ELSE"
				if br.Cond != nil {
					head = "IF " + br.Cond.String()
					if i > 0 {
						head = "ELSE " + head
					}
				}
				b.WriteString(indent + rangeString(br.Head) + " " + head + "\n")
				b.WriteString(dump(br.Body, indent+"  "))
			}
			b.WriteString(indent + rangeString(n.End) + " END\n")
		}
	}
	return b.String()
}

func rangeString(r Range) string {
	if r.Start == r.End {
		return strconv.Itoa(r.Start)
	}
	return strconv.Itoa(r.Start) + "-" + strconv.Itoa(r.End)
}
