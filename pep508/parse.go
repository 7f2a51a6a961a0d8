package pep508

import (
	"fmt"
	"strings"
	"unicode"
)

// The PEP 508 marker grammar of poetry-core:
//
//	marker: atom (("and" | "or") atom)*
//	atom:   item | "(" marker ")"
//	item:   NAME OP STRING | STRING OP NAME

var markerNames = []string{
	"implementation_version", "platform_python_implementation", "implementation_name",
	"python_full_version", "platform_release", "platform_version", "platform_machine",
	"platform_system", "python_version", "sys_platform", "os_name", "os.name",
	"sys.platform", "platform.version", "platform.machine",
	"platform.python_implementation", "python_implementation", "extra",
}

var markerOps = []string{"===", "==", ">=", "<=", ">", "<", "!=", "~=", "not in", "in"}

type tokKind int

const (
	tName tokKind = iota
	tOp
	tString // text includes the quotes
	tBool
	tLParen
	tRParen
)

type token struct {
	kind tokKind
	text string
	pos  int
}

func longestPrefix(s string, words []string) string {
	best := ""
	for _, w := range words {
		if strings.HasPrefix(s, w) && len(w) > len(best) {
			best = w
		}
	}
	return best
}

func lexMarker(s string) ([]token, error) {
	var toks []token
	for i := 0; i < len(s); {
		c := s[i]
		switch {
		case c == ' ' || c == '\t':
			i++
			continue
		case c == '(':
			toks = append(toks, token{tLParen, "(", i})
			i++
			continue
		case c == ')':
			toks = append(toks, token{tRParen, ")", i})
			i++
			continue
		case c == '\'':
			j := strings.IndexByte(s[i+1:], '\'')
			if j < 0 {
				return nil, fmt.Errorf("unterminated string at column %d", i+1)
			}
			toks = append(toks, token{tString, s[i : i+j+2], i})
			i += j + 2
			continue
		case c == '"':
			j := i + 1
			for ; j < len(s); j++ {
				if s[j] == '"' {
					bs := 0
					for k := j - 1; k > i && s[k] == '\\'; k-- {
						bs++
					}
					if bs%2 == 0 {
						break
					}
				}
			}
			if j >= len(s) {
				return nil, fmt.Errorf("unterminated string at column %d", i+1)
			}
			toks = append(toks, token{tString, s[i : j+1], i})
			i = j + 1
			continue
		}
		rest := s[i:]
		cands := []struct {
			kind tokKind
			w    string
		}{
			{tName, longestPrefix(rest, markerNames)},
			{tOp, longestPrefix(rest, markerOps)},
			{tBool, longestPrefix(rest, []string{"and", "or"})},
		}
		best := -1
		for k, cd := range cands {
			if cd.w != "" && (best < 0 || len(cd.w) > len(cands[best].w)) {
				best = k
			}
		}
		if best < 0 {
			return nil, fmt.Errorf("unexpected character %q at column %d", c, i+1)
		}
		toks = append(toks, token{cands[best].kind, cands[best].w, i})
		i += len(cands[best].w)
	}
	return toks, nil
}

type markerParser struct {
	src  string
	toks []token
	pos  int
}

func (p *markerParser) peek() *token {
	if p.pos < len(p.toks) {
		return &p.toks[p.pos]
	}
	return nil
}

func (p *markerParser) errorf(format string, args ...any) error {
	return fmt.Errorf("Invalid marker %q: %s", p.src, fmt.Sprintf(format, args...))
}

// level parses `atom (BOOL atom)*` and compacts it: "and" binds tighter
// than "or"; only the top level simplifies.
func (p *markerParser) level(top bool) (Marker, error) {
	groups := [][]Marker{{}}
	for {
		t := p.peek()
		if t == nil {
			return nil, p.errorf("unexpected end")
		}
		var sub Marker
		switch t.kind {
		case tLParen:
			p.pos++
			m, err := p.level(false)
			if err != nil {
				return nil, err
			}
			if r := p.peek(); r == nil || r.kind != tRParen {
				return nil, p.errorf("missing closing parenthesis")
			}
			p.pos++
			sub = m
		case tName, tString:
			m, err := p.item()
			if err != nil {
				return nil, err
			}
			sub = m
		default:
			return nil, p.errorf("unexpected %q at column %d", t.text, t.pos+1)
		}
		groups[len(groups)-1] = append(groups[len(groups)-1], sub)
		t = p.peek()
		if t == nil || t.kind != tBool {
			break
		}
		p.pos++
		if t.text == "or" {
			groups = append(groups, []Marker{})
		}
	}
	subs := make([]Marker, len(groups))
	for i, g := range groups {
		if len(g) == 1 {
			subs[i] = g[0]
		} else {
			subs[i] = newMulti(g...)
		}
	}
	if !top {
		return newUnion(subs...), nil
	}
	return union(subs...), nil
}

func (p *markerParser) item() (Marker, error) {
	if p.pos+3 > len(p.toks) {
		return nil, p.errorf("incomplete comparison")
	}
	a, op, b := p.toks[p.pos], p.toks[p.pos+1], p.toks[p.pos+2]
	if op.kind != tOp {
		return nil, p.errorf("expected an operator at column %d", op.pos+1)
	}
	var name, value string
	swapped := false
	switch {
	case a.kind == tName && b.kind == tString:
		name, value = a.text, b.text
	case a.kind == tString && b.kind == tName:
		name, value, swapped = b.text, a.text, true
	default:
		return nil, p.errorf("invalid comparison at column %d", a.pos+1)
	}
	p.pos += 3
	value = value[1 : len(value)-1]
	// poetry-core glues operator and value together before splitting them
	// again, so an empty value or one starting with "=" would come out as
	// another comparison (`extra == ""` prints `extra = "="`): refused.
	if v := strings.TrimLeftFunc(value, unicode.IsSpace); v == "" || v[0] == '=' {
		return nil, p.errorf("invalid value %q at column %d", value, b.pos+1)
	}
	// Markers print their values in double quotes: a single-quoted value
	// with a bare double quote could not be read back.
	if !doubleQuotable(value) {
		return nil, p.errorf("unsupported quote in value %q at column %d", value, b.pos+1)
	}
	constraint := op.text + value
	if swapped {
		constraint = `"` + value + `" ` + op.text
	}
	m, err := newSingleMarker(name, constraint, swapped)
	if err != nil {
		return nil, err
	}
	return m, nil
}

func parseMarker(s string) (Marker, error) {
	if s == "<empty>" {
		return EmptyMarker{}, nil
	}
	if s == "" || s == "*" {
		return AnyMarker{}, nil
	}
	toks, err := lexMarker(s)
	if err != nil {
		return nil, fmt.Errorf("Invalid marker %q: %v", s, err)
	}
	p := &markerParser{src: s, toks: toks}
	var m Marker
	if _, aborted := catchRecursion(func() Marker {
		m, err = p.level(true)
		return m
	}); aborted {
		return nil, fmt.Errorf("Invalid marker %q: too complex", s)
	}
	if err != nil {
		return nil, err
	}
	if p.pos != len(p.toks) {
		return nil, p.errorf("unexpected %q at column %d", p.toks[p.pos].text, p.toks[p.pos].pos+1)
	}
	return m, nil
}

func mustParse(s string) Marker {
	m, err := parseMarker(s)
	if err != nil {
		panic(err)
	}
	return m
}

// Parse parses a PEP 508 marker expression the way poetry-core's
// parse_marker does, simplifying it.
func Parse(s string) (m Marker, err error) {
	begin()
	defer mu.Unlock()
	trimCaches()
	defer func() {
		// an internal inconsistency must not take the caller down
		if r := recover(); r != nil {
			m, err = nil, fmt.Errorf("Invalid marker %q: %v", s, r)
		}
	}()
	return parseMarker(s)
}

// MustParse is Parse for known-good input.
func MustParse(s string) Marker {
	m, err := Parse(s)
	if err != nil {
		panic(err)
	}
	return m
}

// Intersect is a.intersect(b).
func Intersect(a, b Marker) Marker {
	begin()
	defer mu.Unlock()
	return a.meet(b)
}

// Union is a.union(b).
func Union(a, b Marker) Marker {
	begin()
	defer mu.Unlock()
	return a.join(b)
}

// WithoutExtras drops the extra comparisons of m.
func WithoutExtras(m Marker) Marker {
	begin()
	defer mu.Unlock()
	return m.exclude("extra")
}

// Only keeps the comparisons on the given names.
func Only(m Marker, names ...string) Marker {
	begin()
	defer mu.Unlock()
	return m.only(names...)
}

// Validate evaluates m against a partial environment (names missing from
// env count as satisfied); "extra" is a []string of active extras.
func Validate(m Marker, env map[string]any) bool {
	begin()
	defer mu.Unlock()
	return m.validate(env)
}

// ResolveExtras replaces the `extra` comparisons of m for the given set of
// active extras, as poetry-plugin-export does with poetry-core 2.x: a
// marker whose extras cannot hold becomes Empty, otherwise the extra
// comparisons are dropped and the other comparisons kept.
func ResolveExtras(m Marker, extras []string) Marker {
	begin()
	defer mu.Unlock()
	if !m.validate(map[string]any{"extra": extras}) {
		return EmptyMarker{}
	}
	return m.exclude("extra")
}

// PythonConstraint is the set of python versions a marker allows.
func PythonConstraint(m Marker) VersionConstraint {
	begin()
	defer mu.Unlock()
	return pythonConstraint(m)
}

// UnionAll is poetry-core's markers.union(*markers): the simplified
// disjunction (even of a single marker, which it normalises).
func UnionAll(ms ...Marker) Marker {
	begin()
	defer mu.Unlock()
	return union(ms...)
}

// IntersectAll is poetry-core's markers.intersection(*markers).
func IntersectAll(ms ...Marker) Marker {
	begin()
	defer mu.Unlock()
	return intersection(ms...)
}

// Equal is poetry-core's == between markers (structural).
func Equal(a, b Marker) bool {
	begin()
	defer mu.Unlock()
	return markerEq(a, b)
}

// doubleQuotable reports whether `"value"` lexes as one string token.
func doubleQuotable(v string) bool {
	bs := 0
	for i := 0; i < len(v); i++ {
		switch v[i] {
		case '\\':
			bs++
			continue
		case '"':
			if bs%2 == 0 {
				return false
			}
		}
		bs = 0
	}
	return bs%2 == 0
}
