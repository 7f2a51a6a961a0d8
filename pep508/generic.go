package pep508

import (
	"fmt"
	"regexp"
	"strings"
)

// genericC is a constraint on a string-valued marker (sys_platform, extra,
// ...): poetry-core's generic constraints.
type genericC interface {
	allows(o *gConstraint) bool
	allowsAll(o genericC) bool
	allowsAny(o genericC) bool
	intersect(o genericC) genericC
	union(o genericC) genericC
	invert() genericC
	isAny() bool
	isEmpty() bool
	key() string
	String() string
}

type gAny struct{}
type gEmpty struct{}

func (gAny) allows(*gConstraint) bool        { return true }
func (gAny) allowsAll(genericC) bool         { return true }
func (gAny) allowsAny(genericC) bool         { return true }
func (gAny) intersect(o genericC) genericC   { return o }
func (a gAny) union(genericC) genericC       { return a }
func (gAny) invert() genericC                { return gEmpty{} }
func (gAny) isAny() bool                     { return true }
func (gAny) isEmpty() bool                   { return false }
func (gAny) key() string                     { return "*" }
func (gAny) String() string                  { return "*" }
func (gEmpty) allows(*gConstraint) bool      { return false }
func (gEmpty) allowsAll(o genericC) bool     { return o.isEmpty() }
func (gEmpty) allowsAny(genericC) bool       { return false }
func (e gEmpty) intersect(genericC) genericC { return e }
func (gEmpty) union(o genericC) genericC     { return o }
func (gEmpty) invert() genericC              { return gAny{} }
func (gEmpty) isAny() bool                   { return false }
func (gEmpty) isEmpty() bool                 { return true }
func (gEmpty) key() string                   { return "<empty>" }
func (gEmpty) String() string                { return "" }

// gConstraint is a single comparison; extra marks poetry-core's
// ExtraConstraint, for which "== a" and "== b" may hold together.
type gConstraint struct {
	value string
	op    string // "==", "!=", "in", "not in"
	extra bool
}

var invertOp = map[string]string{"==": "!=", "!=": "==", "in": "not in", "not in": "in"}

func newGConstraint(value, op string, extra bool) *gConstraint {
	if op == "=" {
		op = "=="
	}
	return &gConstraint{value: value, op: op, extra: extra}
}

func (c *gConstraint) key() string {
	k := "c"
	if c.extra {
		k = "e"
	}
	return fmt.Sprintf("%s(%q%q)", k, c.op, c.value)
}

func (c *gConstraint) String() string {
	switch c.op {
	case "in", "not in":
		return fmt.Sprintf("'%s' %s", c.value, c.op)
	case "==":
		return c.value
	}
	return c.op + c.value
}

func (c *gConstraint) isAny() bool   { return false }
func (c *gConstraint) isEmpty() bool { return false }

func (c *gConstraint) eq(o genericC) bool {
	oc, ok := o.(*gConstraint)
	return ok && oc.extra == c.extra && oc.value == c.value && oc.op == c.op
}

func (c *gConstraint) allows(o *gConstraint) bool {
	if o.op != "==" {
		return false
	}
	switch c.op {
	case "==":
		return o.value == c.value
	case "!=":
		return o.value != c.value
	case "in":
		return strings.Contains(o.value, c.value)
	case "not in":
		return !strings.Contains(o.value, c.value)
	}
	return false
}

func (c *gConstraint) allowsAll(o genericC) bool {
	switch o := o.(type) {
	case *gConstraint:
		if o.op == "==" {
			return c.allows(o)
		}
		if o.op == "in" && c.op == "in" {
			return strings.Contains(o.value, c.value)
		}
		if o.op == "not in" {
			if c.op == "not in" {
				return strings.Contains(c.value, o.value)
			}
			if c.op == "!=" {
				return !strings.Contains(o.value, c.value)
			}
		}
		return c.eq(o)
	case *gMulti:
		for _, x := range o.cs {
			if c.allowsAll(x) {
				return true
			}
		}
		return false
	case *gUnion:
		for _, x := range o.cs {
			if !c.allowsAll(x) {
				return false
			}
		}
		return true
	}
	return o.isEmpty()
}

func (c *gConstraint) allowsAny(o genericC) bool {
	if c.op == "==" {
		return o.allows(c)
	}
	switch o := o.(type) {
	case *gConstraint:
		if o.op == "==" {
			return c.allows(o)
		}
		if o.op == "not in" && c.op == "in" {
			return !strings.Contains(c.value, o.value)
		}
		if o.op == "in" && c.op == "not in" {
			return !strings.Contains(o.value, c.value)
		}
		return true
	case *gMulti:
		return c.op == "!="
	case *gUnion:
		if c.op != "!=" {
			return false
		}
		for _, x := range o.cs {
			if c.allowsAny(x) {
				return true
			}
		}
		return false
	}
	return o.isAny()
}

func (c *gConstraint) invert() genericC {
	return &gConstraint{value: c.value, op: invertOp[c.op], extra: c.extra}
}

func (c *gConstraint) intersect(o genericC) genericC {
	oc, ok := o.(*gConstraint)
	if !ok {
		return o.intersect(c)
	}
	if c.extra {
		if oc.eq(c) {
			return c
		}
		if c.value == oc.value && c.op != oc.op {
			return gEmpty{}
		}
		return &gMulti{cs: []*gConstraint{c, oc}, extra: true}
	}
	if oc.eq(c) {
		return c
	}
	if c.allowsAll(oc) {
		return oc
	}
	if oc.allowsAll(c) {
		return c
	}
	if !c.allowsAny(oc) || !oc.allowsAny(c) {
		return gEmpty{}
	}
	return &gMulti{cs: []*gConstraint{c, oc}}
}

func (c *gConstraint) union(o genericC) genericC {
	oc, ok := o.(*gConstraint)
	if !ok {
		if u, ok := o.(*gUnion); ok {
			return (&gUnion{cs: []genericC{c}}).union(u)
		}
		return o.union(c)
	}
	if c.extra {
		if oc.eq(c) {
			return c
		}
		if c.value == oc.value && c.op != oc.op {
			return gAny{}
		}
		return &gUnion{cs: []genericC{c, oc}}
	}
	if oc.eq(c) {
		return c
	}
	if c.allowsAll(oc) {
		return c
	}
	if oc.allowsAll(c) {
		return oc
	}
	ops := map[string]bool{c.op: true, oc.op: true}
	only := func(xs ...string) bool {
		if len(ops) != len(xs) {
			return false
		}
		for _, x := range xs {
			if !ops[x] {
				return false
			}
		}
		return true
	}
	if only("!=") || only("not in") ||
		((only("in", "!=") || only("in", "not in")) && c.op == "in" && strings.Contains(oc.value, c.value)) ||
		(oc.op == "in" && strings.Contains(c.value, oc.value)) ||
		c.invert().(*gConstraint).eq(oc) {
		return gAny{}
	}
	return &gUnion{cs: []genericC{c, oc}}
}

// gMulti is a conjunction of negative constraints (or, for extras, of any
// constraints).
type gMulti struct {
	cs    []*gConstraint
	extra bool
}

func (m *gMulti) isAny() bool   { return false }
func (m *gMulti) isEmpty() bool { return false }

func (m *gMulti) key() string {
	var b strings.Builder
	if m.extra {
		b.WriteString("EM(")
	} else {
		b.WriteString("M(")
	}
	for _, c := range m.cs {
		b.WriteString(c.key())
	}
	b.WriteString(")")
	return b.String()
}

func (m *gMulti) String() string {
	parts := make([]string, len(m.cs))
	for i, c := range m.cs {
		parts[i] = c.String()
	}
	return strings.Join(parts, ", ")
}

func (m *gMulti) has(c *gConstraint) bool {
	for _, x := range m.cs {
		if x.eq(c) {
			return true
		}
	}
	return false
}

func (m *gMulti) hasValue(v string) bool {
	for _, x := range m.cs {
		if x.value == v {
			return true
		}
	}
	return false
}

func (m *gMulti) allows(o *gConstraint) bool {
	for _, c := range m.cs {
		if !c.allows(o) {
			return false
		}
	}
	return true
}

func (m *gMulti) allowsAll(o genericC) bool {
	if om, ok := o.(*gMulti); ok {
		for _, c := range m.cs {
			if !om.has(c) {
				return false
			}
		}
		return true
	}
	for _, c := range m.cs {
		if !c.allowsAll(o) {
			return false
		}
	}
	return true
}

func (m *gMulti) allowsAny(o genericC) bool {
	switch o := o.(type) {
	case *gConstraint:
		if o.op == "==" {
			return m.allows(o)
		}
		return o.op == "!="
	case *gUnion:
		for _, c2 := range o.cs {
			all := true
			for _, c1 := range m.cs {
				if !c1.allowsAny(c2) {
					all = false
					break
				}
			}
			if all {
				return true
			}
		}
		return false
	case *gMulti:
		return true
	}
	return o.isAny()
}

func (m *gMulti) invert() genericC {
	cs := make([]genericC, len(m.cs))
	for i, c := range m.cs {
		cs[i] = c.invert()
	}
	return &gUnion{cs: cs}
}

func (m *gMulti) intersect(o genericC) genericC {
	if om, ok := o.(*gMulti); ok {
		if m.extra {
			eq, ne := map[string]bool{}, map[string]bool{}
			for _, c := range append(append([]*gConstraint(nil), m.cs...), om.cs...) {
				if c.op == "==" {
					eq[c.value] = true
				} else if c.op == "!=" {
					ne[c.value] = true
				}
			}
			for v := range eq {
				if ne[v] {
					return gEmpty{}
				}
			}
		}
		cs := append([]*gConstraint(nil), m.cs...)
		for _, c := range om.cs {
			if !m.has(c) {
				cs = append(cs, c)
			}
		}
		return &gMulti{cs: cs, extra: m.extra}
	}
	oc, ok := o.(*gConstraint)
	if !ok {
		return o.intersect(m)
	}
	if m.has(oc) {
		return m
	}
	if m.hasValue(oc.value) {
		return gEmpty{}
	}
	if oc.op == "==" && !m.extra {
		return oc
	}
	return &gMulti{cs: append(append([]*gConstraint(nil), m.cs...), oc), extra: m.extra}
}

func (m *gMulti) union(o genericC) genericC {
	if m.extra {
		switch o := o.(type) {
		case *gMulti:
			if o.allowsAllSet(m) {
				return m
			}
			if m.allowsAllSet(o) {
				return o
			}
			return &gUnion{cs: []genericC{m, o}}
		case *gConstraint:
			if m.has(o) {
				return o
			}
			if len(m.cs) == 2 && m.hasValue(o.value) {
				var cs []genericC
				for _, c := range m.cs {
					if c.value != o.value {
						cs = append(cs, c)
					}
				}
				return &gUnion{cs: append(cs, o)}
			}
			return &gUnion{cs: []genericC{m, o}}
		}
	}
	if om, ok := o.(*gMulti); ok {
		var common []*gConstraint
		for _, c := range m.cs {
			if om.has(c) {
				common = append(common, c)
			}
		}
		return &gMulti{cs: common, extra: m.extra}
	}
	oc, ok := o.(*gConstraint)
	if !ok {
		return o.union(m)
	}
	if m.has(oc) {
		return oc
	}
	if !m.hasValue(oc.value) {
		if oc.op == "!=" {
			return gAny{}
		}
		return m
	}
	var cs []*gConstraint
	for _, c := range m.cs {
		if c.value != oc.value {
			cs = append(cs, c)
		}
	}
	if len(cs) == 1 {
		return cs[0]
	}
	return &gMulti{cs: cs, extra: m.extra}
}

// allowsAllSet reports whether every constraint of o is one of m's
// (set(m) ⊇ set(o)).
func (m *gMulti) allowsAllSet(o *gMulti) bool {
	for _, c := range o.cs {
		if !m.has(c) {
			return false
		}
	}
	return true
}

// gUnion is a disjunction of constraints.
type gUnion struct {
	cs []genericC
}

func (u *gUnion) isAny() bool   { return false }
func (u *gUnion) isEmpty() bool { return false }

func (u *gUnion) key() string {
	var b strings.Builder
	b.WriteString("U(")
	for _, c := range u.cs {
		b.WriteString(c.key())
	}
	b.WriteString(")")
	return b.String()
}

func (u *gUnion) String() string {
	parts := make([]string, len(u.cs))
	for i, c := range u.cs {
		parts[i] = c.String()
	}
	return strings.Join(parts, " || ")
}

func containsG(list []genericC, c genericC) bool {
	for _, x := range list {
		if x.key() == c.key() {
			return true
		}
	}
	return false
}

func sameGSet(a, b []genericC) bool {
	for _, x := range a {
		if !containsG(b, x) {
			return false
		}
	}
	for _, x := range b {
		if !containsG(a, x) {
			return false
		}
	}
	return true
}

func subsetG(a, b []genericC) bool {
	for _, x := range a {
		if !containsG(b, x) {
			return false
		}
	}
	return true
}

func (u *gUnion) allows(o *gConstraint) bool {
	for _, c := range u.cs {
		if c.allows(o) {
			return true
		}
	}
	return false
}

func (u *gUnion) allowsAny(o genericC) bool {
	if ou, ok := o.(*gUnion); ok {
		for _, c1 := range u.cs {
			for _, c2 := range ou.cs {
				if c1.allowsAny(c2) {
					return true
				}
			}
		}
		return false
	}
	for _, c := range u.cs {
		if c.allowsAny(o) {
			return true
		}
	}
	return false
}

func (u *gUnion) allowsAll(o genericC) bool {
	if ou, ok := o.(*gUnion); ok {
		for _, c2 := range ou.cs {
			any := false
			for _, c1 := range u.cs {
				if c1.allowsAll(c2) {
					any = true
					break
				}
			}
			if !any {
				return false
			}
		}
		return true
	}
	for _, c := range u.cs {
		if c.allowsAll(o) {
			return true
		}
	}
	return false
}

func (u *gUnion) invert() genericC {
	cs := make([]*gConstraint, 0, len(u.cs))
	extra := false
	for _, c := range u.cs {
		ic, ok := c.invert().(*gConstraint)
		if !ok {
			// poetry-core does not implement this either
			return gEmpty{}
		}
		extra = extra || ic.extra
		cs = append(cs, ic)
	}
	return &gMulti{cs: cs, extra: extra}
}

func (u *gUnion) intersect(o genericC) genericC {
	if o.isAny() {
		return u
	}
	if o.isEmpty() {
		return o
	}
	if ou, ok := o.(*gUnion); ok && sameGSet(ou.cs, u.cs) {
		return u
	}
	if oc, ok := o.(*gConstraint); ok && oc.extra && containsG(u.cs, oc) {
		return oc
	}
	if oc, ok := o.(*gConstraint); ok {
		o = &gUnion{cs: []genericC{oc}}
	}
	var out []genericC
	seenMulti := map[string]bool{}
	add := func(c genericC) {
		if c.isEmpty() || containsG(out, c) {
			return
		}
		if m, ok := c.(*gMulti); ok {
			k := multiSetKey(m)
			if seenMulti[k] {
				return
			}
			seenMulti[k] = true
		}
		out = append(out, c)
	}
	if ou, ok := o.(*gUnion); ok {
		if subsetG(u.cs, ou.cs) {
			return u
		}
		if subsetG(ou.cs, u.cs) {
			if len(ou.cs) == 1 {
				return ou.cs[0]
			}
			return ou
		}
		for _, ours := range u.cs {
			for _, theirs := range ou.cs {
				add(ours.intersect(theirs))
			}
		}
	} else {
		om := o.(*gMulti)
		for _, ours := range u.cs {
			x := ours
			for _, theirs := range om.cs {
				x = x.intersect(theirs)
			}
			add(x)
		}
	}
	if len(out) == 0 {
		return gEmpty{}
	}
	if len(out) == 1 {
		return out[0]
	}
	return &gUnion{cs: out}
}

// multiSetKey identifies a conjunction by its set of members.
func multiSetKey(m *gMulti) string {
	keys := make([]string, len(m.cs))
	for i, c := range m.cs {
		keys[i] = c.key()
	}
	sortStrings(keys)
	return strings.Join(keys, "|")
}

func (u *gUnion) union(o genericC) genericC {
	if o.isAny() {
		return o
	}
	if o.isEmpty() {
		return u
	}
	if o.key() == u.key() {
		return u
	}
	if oc, ok := o.(*gConstraint); ok {
		o = &gUnion{cs: []genericC{oc}}
	}
	var out []genericC
	if ou, ok := o.(*gUnion); ok {
		var ours, theirs, merged []genericC
		for _, their := range ou.cs {
			for _, our := range u.cs {
				x := our.union(their)
				if x.isAny() {
					return gAny{}
				}
				if xc, ok := x.(*gConstraint); ok {
					switch {
					case xc.key() == our.key():
						if !containsG(ours, x) {
							ours = append(ours, x)
						}
					case xc.key() == their.key():
						if !containsG(theirs, x) {
							theirs = append(theirs, their)
						}
					default:
						if !containsG(merged, x) {
							merged = append(merged, x)
						}
					}
				} else {
					if !containsG(ours, our) {
						ours = append(ours, our)
					}
					if !containsG(theirs, their) {
						theirs = append(theirs, their)
					}
				}
			}
		}
		out = ours
		for _, c := range append(theirs, merged...) {
			if !containsG(out, c) {
				out = append(out, c)
			}
		}
	} else {
		om := o.(*gMulti)
		for _, c := range u.cs {
			for _, x := range om.cs {
				if c.key() == x.key() {
					return u
				}
			}
		}
		out = append(append([]genericC(nil), u.cs...), om)
	}
	if len(out) == 1 {
		return out[0]
	}
	return &gUnion{cs: out}
}

var (
	basicGenericRE = regexp.MustCompile(`^(?P<op>!=|==?=?)?\s*(?P<value>\S+?)\s*$`)
	strCmpOpRE     = regexp.MustCompile(`(?i)^\s*(not\sin|in)$`)
	commaSplitRE   = regexp.MustCompile(`\s*,\s*`)
)

// parseGeneric is poetry-core's generic parse_constraint (extra selects
// parse_extra_constraint).
func parseGeneric(s string, extra bool) (genericC, error) {
	if s == "*" {
		return gAny{}, nil
	}
	var groups []genericC
	for _, or := range orSplitRE.Split(strings.TrimSpace(s), -1) {
		var c genericC
		for i, and := range commaSplitRE.Split(or, -1) {
			sc, err := parseGenericSingle(and, extra)
			if err != nil {
				return nil, err
			}
			if i == 0 {
				c = sc
			} else {
				c = c.intersect(sc)
			}
		}
		groups = append(groups, c)
	}
	if len(groups) == 1 {
		return groups[0], nil
	}
	return &gUnion{cs: groups}, nil
}

// matchStrCmp matches `"value" in` / `'value' not in`.
func matchStrCmp(s string) (value, op string, ok bool) {
	if len(s) < 3 || (s[0] != '"' && s[0] != '\'') {
		return "", "", false
	}
	q := s[0]
	for j := 2; j < len(s); j++ {
		if s[j] != q {
			continue
		}
		if m := strCmpOpRE.FindStringSubmatch(s[j+1:]); m != nil {
			op := strings.ToLower(m[1])
			if op != "in" {
				op = "not in"
			}
			return s[1:j], op, true
		}
	}
	return "", "", false
}

func parseGenericSingle(s string, extra bool) (*gConstraint, error) {
	if v, op, ok := matchStrCmp(s); ok {
		if extra {
			return nil, fmt.Errorf(`Only the operators "==" and "!=" are supported for extra constraints`)
		}
		return newGConstraint(strings.TrimSpace(v), op, extra), nil
	}
	if m := basicGenericRE.FindStringSubmatch(s); m != nil {
		op := m[1]
		if op == "" || op == "===" {
			op = "=="
		}
		return newGConstraint(strings.TrimSpace(m[2]), op, extra), nil
	}
	return nil, fmt.Errorf("Could not parse version constraint: %s", s)
}
