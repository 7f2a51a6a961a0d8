package conversion

import (
	"fmt"

	"github.com/moby/buildkit/frontend/dockerfile/linter"
	"github.com/moby/buildkit/frontend/dockerfile/parser"
	"github.com/xdockerfile/xdockerfile/syntax"
)

const rulesURL = "https://github.com/xdockerfile/xdockerfile/blob/main/docs/dialect.md#lint-rules"

// The lint rules of the extensions, in upstream's format so that
// `--call=check`, `# check=skip=…` and `# check=error=true` treat them like
// BuildKit's own.
var (
	RuleConditionUndefinedVar = linter.LinterRule[func(string) string]{
		Name:        "ConditionUndefinedVar",
		Description: "Conditions should only read variables declared with ARG or ENV",
		URL:         rulesURL,
		Format: func(name string) string {
			return fmt.Sprintf("Condition reads $%s, which is not declared before this line", name)
		},
	}
	RuleConstantCondition = linter.LinterRule[func(string) string]{
		Name:        "ConstantCondition",
		Description: "Conditions should depend on a variable or the build context",
		URL:         rulesURL,
		Format: func(cond string) string {
			return fmt.Sprintf("Condition `%s` has the same value in every build", cond)
		},
	}
)

// Warning is a lint finding at a line.
type Warning struct {
	Rule    *linter.LinterRule[func(string) string]
	Message string
	Line    int
}

// Location is the warning's line in upstream's form.
func (w Warning) Location() []parser.Range {
	return []parser.Range{{Start: parser.Position{Line: w.Line}, End: parser.Position{Line: w.Line}}}
}

func (l *lowerer) warn(rule *linter.LinterRule[func(string) string], line int, msg string) {
	for _, w := range l.warnings {
		if w.Rule == rule && w.Line == line && w.Message == msg {
			return
		}
	}
	l.warnings = append(l.warnings, Warning{Rule: rule, Message: msg, Line: line})
}

// Check returns the findings that need no build: conditions that read no
// variable and test nothing in the context.
func Check(f *syntax.File) []Warning {
	var out []Warning
	lex := &wordLexer{escape: f.Escape}
	var walk func([]syntax.Node)
	walk = func(nodes []syntax.Node) {
		for _, n := range nodes {
			b, ok := n.(*syntax.Block)
			if !ok {
				continue
			}
			for _, br := range b.Branches {
				if br.Cond != nil && constant(lex, br.Cond) {
					out = append(out, Warning{Rule: &RuleConstantCondition, Line: br.Head.Start,
						Message: RuleConstantCondition.Format(br.Text)})
				}
				walk(br.Body)
			}
		}
	}
	walk(f.Body)
	return out
}

func constant(lex *wordLexer, e syntax.Expr) bool {
	switch e := e.(type) {
	case *syntax.Binary:
		return constant(lex, e.X) && constant(lex, e.Y)
	case *syntax.Not:
		return constant(lex, e.X)
	case *syntax.Exists, *syntax.Defined:
		return false
	}
	for _, w := range syntax.Words(e) {
		reads := false
		_, err := lex.expand(w.Raw, newVars(), func(string, bool) { reads = true })
		if err != nil || reads {
			return false
		}
	}
	return true
}
