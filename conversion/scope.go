package conversion

import (
	"maps"
	"slices"
	"strings"

	"github.com/containerd/platforms"
	"github.com/moby/buildkit/frontend/dockerfile/shell"
	ocispecs "github.com/opencontainers/image-spec/specs-go/v1"
)

// vars are the variables a scope declares, in the order of their
// declaration. A declared variable without a value (ARG NAME with no
// default and no --build-arg) is not set, so ${NAME-x} and DEFINED behave
// as in the shell. A scope declares a handful: a list is cheaper to build,
// copy and search than a map.
type vars struct{ list []variable }

type variable struct {
	name, value string
	set         bool
}

func newVars() *vars { return &vars{} }

func (v *vars) find(k string) *variable {
	for i := range v.list {
		if v.list[i].name == k {
			return &v.list[i]
		}
	}
	return nil
}

func (v *vars) put(k, val string, set bool) {
	if x := v.find(k); x != nil {
		x.value, x.set = val, set
		return
	}
	v.list = append(v.list, variable{k, val, set})
}

func (v *vars) set(k, val string) { v.put(k, val, true) }
func (v *vars) declare(k string)  { v.put(k, "", false) }
func (v *vars) clone() *vars      { return &vars{slices.Clone(v.list)} }

// Get and Keys make vars a shell.EnvGetter.
func (v *vars) Get(k string) (string, bool) { return layered{v}.Get(k) }
func (v *vars) Keys() []string              { return layered{v}.Keys() }

// layered looks names up in each layer in turn: what a condition sees is
// the stage's own variables, then the global ARGs, then the automatic
// platform ARGs.
type layered []*vars

func (l layered) Get(k string) (string, bool) {
	for _, v := range l {
		if x := v.find(k); x != nil {
			return x.value, x.set
		}
	}
	return "", false
}

func (l layered) Keys() []string {
	var keys []string
	for _, v := range l {
		for _, x := range v.list {
			if x.set && !slices.Contains(keys, x.name) {
				keys = append(keys, x.name)
			}
		}
	}
	slices.Sort(keys)
	return keys
}

func (l layered) declared(k string) bool {
	for _, v := range l {
		if v.find(k) != nil {
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
	v := &vars{list: make([]variable, 0, 11)}
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

// expand is ProcessWordWithMatches, less the Words of the result; read,
// when not nil, is told each variable the word reads and whether it is set.
func (x *wordLexer) expand(word string, env shell.EnvGetter, read func(name string, set bool)) (string, error) {
	if len(word) >= 2 && (word[0] == '"' || word[0] == '\'') && word[len(word)-1] == word[0] &&
		x.literal(word[1:len(word)-1]) {
		return word[1 : len(word)-1], nil
	}
	if x.literal(word) {
		return word, nil
	}
	name, ok := strings.CutPrefix(word, "$")
	if braced, ok2 := strings.CutPrefix(name, "{"); ok && ok2 {
		name, ok = strings.CutSuffix(braced, "}")
	}
	if !ok || !isName(name) {
		res, err := x.shell().ProcessWordWithMatches(word, env)
		if err != nil || read == nil {
			return res.Result, err
		}
		for _, name := range slices.Sorted(maps.Keys(res.Matched)) {
			read(name, true)
		}
		for _, name := range slices.Sorted(maps.Keys(res.Unmatched)) {
			read(name, false)
		}
		return res.Result, nil
	}
	v, set := env.Get(name)
	if read != nil {
		read(name, set)
	}
	return v, nil
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
