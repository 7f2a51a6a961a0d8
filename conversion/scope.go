package conversion

import (
	"maps"
	"slices"
	"strings"

	"github.com/containerd/platforms"
	"github.com/moby/buildkit/frontend/dockerfile/shell"
	ocispecs "github.com/opencontainers/image-spec/specs-go/v1"
)

// vars is a set of declared variables. A declared variable without a value
// (ARG NAME with no default and no --build-arg) is present in declared but
// not in vals, so ${NAME-x} and DEFINED behave as in the shell.
type vars struct {
	vals     map[string]string
	declared map[string]bool
}

func newVars() *vars {
	return &vars{vals: map[string]string{}, declared: map[string]bool{}}
}

func (v *vars) set(k, val string) { v.vals[k] = val; v.declared[k] = true }
func (v *vars) declare(k string)  { delete(v.vals, k); v.declared[k] = true }

func (v *vars) clone() *vars {
	return &vars{vals: maps.Clone(v.vals), declared: maps.Clone(v.declared)}
}

// Get and Keys make vars a shell.EnvGetter.
func (v *vars) Get(k string) (string, bool) { val, ok := v.vals[k]; return val, ok }
func (v *vars) Keys() []string              { return slices.Sorted(maps.Keys(v.vals)) }

// layered looks names up in each layer in turn: what a condition sees is
// the stage's own variables, then the global ARGs, then the automatic
// platform ARGs.
type layered []*vars

func (l layered) Get(k string) (string, bool) {
	for _, v := range l {
		if v.declared[k] {
			val, ok := v.vals[k]
			return val, ok
		}
	}
	return "", false
}

func (l layered) Keys() []string {
	seen := map[string]bool{}
	for _, v := range l {
		for k := range v.vals {
			seen[k] = true
		}
	}
	return slices.Sorted(maps.Keys(seen))
}

func (l layered) declared(k string) bool {
	for _, v := range l {
		if v.declared[k] {
			return true
		}
	}
	return false
}

// platformArgs are the automatic ARGs, computed as BuildKit computes them,
// --build-arg overrides included.
func platformArgs(target, build ocispecs.Platform, stage string, overrides map[string]string) *vars {
	if stage == "" {
		stage = "default"
	}
	v := newVars()
	for _, kv := range [...][2]string{
		{"BUILDPLATFORM", platforms.Format(build)},
		{"BUILDOS", build.OS},
		{"BUILDOSVERSION", build.OSVersion},
		{"BUILDARCH", build.Architecture},
		{"BUILDVARIANT", build.Variant},
		{"TARGETPLATFORM", platforms.FormatAll(target)},
		{"TARGETOS", target.OS},
		{"TARGETOSVERSION", target.OSVersion},
		{"TARGETARCH", target.Architecture},
		{"TARGETVARIANT", target.Variant},
		{"TARGETSTAGE", stage},
	} {
		val := kv[1]
		if o, ok := overrides[kv[0]]; ok {
			val = o
		}
		v.set(kv[0], val)
	}
	return v
}

// wordLexer is BuildKit's shell lexer with a shortcut for the words that
// need none of it, most of what conditions, stage references and ARG or
// ENV values are made of: a literal, "a literal", 'a literal', $NAME and
// ${NAME}. Lowering expands thousands of them in a large file, and the
// lexer's set-up per word costs more than the expansion; the lexer itself
// (a kilobyte) is made on first use.
type wordLexer struct {
	escape rune
	lex    *shell.Lex
}

func (x *wordLexer) shell() *shell.Lex {
	if x.lex == nil {
		x.lex = shell.NewLex(x.escape)
	}
	return x.lex
}

// ProcessWords is the lexer's.
func (x *wordLexer) ProcessWords(word string, env shell.EnvGetter) ([]string, error) {
	return x.shell().ProcessWords(word, env)
}

// expand is ProcessWordWithMatches, less the Words of the result.
func (x *wordLexer) expand(word string, env shell.EnvGetter) (shell.ProcessWordResult, error) {
	if len(word) >= 2 && (word[0] == '"' || word[0] == '\'') && word[len(word)-1] == word[0] &&
		x.literal(word[1:len(word)-1]) {
		return shell.ProcessWordResult{Result: word[1 : len(word)-1]}, nil
	}
	if x.literal(word) {
		return shell.ProcessWordResult{Result: word}, nil
	}
	name, ok := strings.CutPrefix(word, "$")
	if braced, ok2 := strings.CutPrefix(name, "{"); ok && ok2 {
		name, ok = strings.CutSuffix(braced, "}")
	}
	if !ok || !isName(name) {
		return x.shell().ProcessWordWithMatches(word, env)
	}
	found := map[string]struct{}{name: {}}
	if v, ok := env.Get(name); ok {
		return shell.ProcessWordResult{Result: v, Matched: found}, nil
	}
	return shell.ProcessWordResult{Unmatched: found}, nil
}

// literal reports whether the lexer would return s unchanged: printable
// ASCII with no quote, no $, no < and no escape character.
func (x *wordLexer) literal(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c <= ' ' || c >= 0x7f || c == '$' || c == '"' || c == '\'' || c == '<' || rune(c) == x.escape {
			return false
		}
	}
	return true
}

// isName reports whether s is a variable name the lexer reads whole
// after a $.
func isName(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c == '_' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || i > 0 && '0' <= c && c <= '9') {
			return false
		}
	}
	return s != ""
}
