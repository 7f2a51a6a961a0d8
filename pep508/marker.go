package pep508

import (
	"fmt"
	"regexp"
	"sort"
	"strings"
)

// Marker is a PEP 508 environment marker in poetry-core's representation:
// Any, Empty, a single comparison, an atomic and/or of comparisons of one
// name, or a conjunction (MultiMarker) / disjunction (MarkerUnion).
type Marker interface {
	// String prints the marker exactly as poetry-core's str(marker).
	String() string
	IsAny() bool
	IsEmpty() bool

	// The algebra is reached through the package functions (Intersect,
	// Union, ...), which serialise access to the shared simplification state.
	meet(o Marker) Marker
	join(o Marker) Marker
	exclude(name string) Marker
	only(names ...string) Marker
	validate(env map[string]any) bool

	key() string
	complexity() [2]int
}

func markerEq(a, b Marker) bool { return a.key() == b.key() }

func containsMarker(list []Marker, m Marker) bool {
	k := m.key()
	for _, x := range list {
		spend(1)
		if x.key() == k {
			return true
		}
	}
	return false
}

func cmpComplexity(a, b [2]int) int {
	for i := 0; i < 2; i++ {
		if a[i] != b[i] {
			if a[i] < b[i] {
				return -1
			}
			return 1
		}
	}
	return 0
}

// AnyMarker matches every environment.
type AnyMarker struct{}

// EmptyMarker matches no environment.
type EmptyMarker struct{}

func (AnyMarker) String() string               { return "" }
func (AnyMarker) meet(o Marker) Marker         { return o }
func (a AnyMarker) join(Marker) Marker         { return a }
func (AnyMarker) IsAny() bool                  { return true }
func (AnyMarker) IsEmpty() bool                { return false }
func (a AnyMarker) exclude(string) Marker      { return a }
func (a AnyMarker) only(...string) Marker      { return a }
func (AnyMarker) validate(map[string]any) bool { return true }
func (AnyMarker) key() string                  { return "any" }
func (AnyMarker) complexity() [2]int           { return [2]int{1, 1} }

func (EmptyMarker) String() string               { return "<empty>" }
func (e EmptyMarker) meet(Marker) Marker         { return e }
func (EmptyMarker) join(o Marker) Marker         { return o }
func (EmptyMarker) IsAny() bool                  { return false }
func (EmptyMarker) IsEmpty() bool                { return true }
func (e EmptyMarker) exclude(string) Marker      { return e }
func (e EmptyMarker) only(...string) Marker      { return e }
func (EmptyMarker) validate(map[string]any) bool { return false }
func (EmptyMarker) key() string                  { return "empty" }
func (EmptyMarker) complexity() [2]int           { return [2]int{1, 1} }

// singleLike is poetry-core's SingleMarkerLike: a marker on one name.
type singleLike interface {
	Marker
	name() string
	// exactly one of these is non-nil
	gc() genericC
	vc() VersionConstraint
}

var aliases = map[string]string{
	"os.name":                        "os_name",
	"sys.platform":                   "sys_platform",
	"platform.version":               "platform_version",
	"platform.machine":               "platform_machine",
	"platform.python_implementation": "platform_python_implementation",
	"python_implementation":          "platform_python_implementation",
}

var pythonVersionMarkers = map[string]bool{"python_version": true, "python_full_version": true}

var versionLikeMarkers = map[string]bool{"python_version": true, "python_full_version": true, "platform_release": true}

// SingleMarker is one comparison, e.g. python_version >= "3.8".
type SingleMarker struct {
	nm      string
	op      string
	value   string
	swapped bool // `"value" in name`
	k       string
	gcon    genericC
	vcon    VersionConstraint
}

func (m *SingleMarker) name() string          { return m.nm }
func (m *SingleMarker) gc() genericC          { return m.gcon }
func (m *SingleMarker) vc() VersionConstraint { return m.vcon }

// Name, Op and Value expose the comparison.
func (m *SingleMarker) Name() string  { return m.nm }
func (m *SingleMarker) Op() string    { return m.op }
func (m *SingleMarker) Value() string { return m.value }

func (m *SingleMarker) String() string {
	if m.swapped {
		return fmt.Sprintf(`"%s" %s %s`, m.value, m.op, m.nm)
	}
	return fmt.Sprintf(`%s %s "%s"`, m.nm, m.op, m.value)
}

func (m *SingleMarker) key() string {
	if m.k == "" {
		m.k = fmt.Sprintf("S(%q,%q,%q)", m.nm, m.op, m.value)
	}
	return m.k
}

func (m *SingleMarker) complexity() [2]int { return [2]int{1, 1} }

var (
	constraintRE1  = regexp.MustCompile(`(?i)^(?P<op>~=|!=|>=?|<=?|==?=?|not in|in)?\s*(?P<value>(?s:.+))$`)
	valueSeparator = regexp.MustCompile(`[ ,|]+`)
)

// newSingleMarker is SingleMarker.__init__ with a constraint string such as
// ">=3.8" or `"tegra" in` (swapped).
func newSingleMarker(name, constraint string, swapped bool) (*SingleMarker, error) {
	orig := constraint
	var op, value string
	if swapped {
		v, o, ok := matchStrCmp(constraint)
		if !ok {
			return nil, fmt.Errorf("Invalid marker for '%s': %s", name, constraint)
		}
		op, value = o, v
	} else {
		mm := constraintRE1.FindStringSubmatch(constraint)
		if mm == nil {
			return nil, fmt.Errorf("Invalid marker for '%s': %s", name, constraint)
		}
		op, value = mm[1], mm[2]
		if op == "" {
			op = "=="
		}
	}
	m := &SingleMarker{nm: name, op: op, value: value, swapped: swapped}
	if a, ok := aliases[name]; ok {
		m.nm = a
	}
	isExtra := name == "extra"
	useVersion := false
	switch {
	case swapped && !pythonVersionMarkers[name]:
	case versionLikeMarkers[name]:
		useVersion = true
		if op == "in" || op == "not in" {
			constraint = versionListConstraint(op, valueSeparator.Split(value, -1))
		} else if name == "python_full_version" && !swapped {
			if padded := threeParts(value); padded != value {
				constraint = strings.TrimSuffix(constraint, value) + padded
				m.value = padded
			}
		}
	default:
		if op != "in" && op != "not in" && strings.ContainsAny(value, "|,") {
			// poetry-core would split the value as a list of constraints
			// and build a marker that prints as something else
			return nil, fmt.Errorf("Invalid marker for '%s': %s", name, constraint)
		}
		if op == "in" || op == "not in" {
			o, glue := "==", " || "
			if op == "not in" {
				o, glue = "!=", ", "
			}
			var parts []string
			for _, v := range valueSeparator.Split(value, -1) {
				parts = append(parts, o+" "+v)
			}
			constraint = strings.Join(parts, glue)
		}
	}
	var err error
	if useVersion {
		m.vcon, err = parseMarkerVersionConstraint(constraint)
		if err != nil && name == "platform_release" {
			// not a PEP 440 version ("4.9.253-tegra"): compare as a string
			m.vcon, err = nil, nil
			m.gcon, err = parseGeneric(constraint, false)
		}
	} else {
		m.gcon, err = parseGeneric(constraint, isExtra)
	}
	if err != nil {
		return nil, fmt.Errorf("Invalid marker for '%s': %s", name, orig)
	}
	return m, nil
}

// threeParts gives a version's release three parts, after any epoch and
// before any pre-release tag: "3.13" is 3.13.0, "3.13b1" 3.13.0b1, "1!3"
// 1!3.0.0.
func threeParts(v string) string {
	epoch, rest := "", v
	if e, r, ok := strings.Cut(v, "!"); ok {
		epoch, rest = e+"!", r
	}
	release := len(rest) - len(strings.TrimLeft(rest, "0123456789."))
	if p := strings.Count(rest[:release], ".") + 1; p < 3 && release > 0 {
		return epoch + rest[:release] + strings.Repeat(".0", 3-p) + rest[release:]
	}
	return v
}

// singleFromConstraint is SingleMarker(name, constraint_object): the
// constraint is printed and parsed again.
func singleFromConstraint(name string, c fmt.Stringer) Marker {
	m, err := newSingleMarker(name, c.String(), false)
	if err != nil {
		panic(err)
	}
	return m
}

func (m *SingleMarker) meet(o Marker) Marker     { return singleIntersect(m, o) }
func (m *SingleMarker) join(o Marker) Marker     { return singleUnion(m, o) }
func (m *SingleMarker) IsAny() bool              { return false }
func (m *SingleMarker) IsEmpty() bool            { return false }
func (m *SingleMarker) exclude(n string) Marker  { return singleExclude(m, n) }
func (m *SingleMarker) only(ns ...string) Marker { return singleOnly(m, ns) }

func (m *SingleMarker) validate(env map[string]any) bool {
	val, ok := env[m.nm]
	if !ok {
		return true
	}
	if m.nm == "extra" {
		c, ok := m.gcon.(*gConstraint)
		if !ok {
			return true
		}
		active := map[string]bool{}
		switch v := val.(type) {
		case string:
			active[NormalizeName(v)] = true
		case []string:
			for _, x := range v {
				active[NormalizeName(x)] = true
			}
		}
		in := active[NormalizeName(c.value)]
		if c.op == "==" {
			return in
		}
		return !in
	}
	s, _ := val.(string)
	if m.vcon != nil {
		v, err := parseMarkerVersionConstraint(s)
		if err != nil {
			return false
		}
		return m.vcon.AllowsAll(v)
	}
	g, err := parseGeneric(s, false)
	if err != nil {
		return false
	}
	return m.gcon.allowsAll(g)
}

func singleIntersect(m singleLike, o Marker) Marker {
	if os, ok := o.(singleLike); ok {
		if merged := mergeSingleMarkers(m, os, false); merged != nil {
			return merged
		}
		return newMulti(m, os)
	}
	return o.meet(m)
}

func singleUnion(m singleLike, o Marker) Marker {
	if os, ok := o.(singleLike); ok {
		if merged := mergeSingleMarkers(m, os, true); merged != nil {
			return merged
		}
		return newUnion(m, os)
	}
	return o.join(m)
}

func singleExclude(m singleLike, n string) Marker {
	if m.name() == n {
		return AnyMarker{}
	}
	return m
}

func singleOnly(m singleLike, ns []string) Marker {
	for _, n := range ns {
		if m.name() == n {
			return m
		}
	}
	return AnyMarker{}
}

// atomicMulti is `name != "a" and name != "b"` (or any extra comparisons).
type atomicMulti struct {
	nm string
	c  *gMulti
}

// atomicUnion is `name == "a" or name == "b"` (or any extra comparisons).
type atomicUnion struct {
	nm string
	c  *gUnion
}

func (m *atomicMulti) name() string          { return m.nm }
func (m *atomicMulti) gc() genericC          { return m.c }
func (m *atomicMulti) vc() VersionConstraint { return nil }
func (m *atomicUnion) name() string          { return m.nm }
func (m *atomicUnion) gc() genericC          { return m.c }
func (m *atomicUnion) vc() VersionConstraint { return nil }

func (m *atomicMulti) String() string {
	parts := make([]string, len(m.c.cs))
	for i, c := range m.c.cs {
		parts[i] = fmt.Sprintf(`%s %s "%s"`, m.nm, c.op, c.value)
	}
	return strings.Join(parts, " and ")
}

func (m *atomicUnion) String() string {
	parts := make([]string, len(m.c.cs))
	for i, c := range m.c.cs {
		gc := c.(*gConstraint)
		parts[i] = fmt.Sprintf(`%s %s "%s"`, m.nm, gc.op, gc.value)
	}
	return strings.Join(parts, " or ")
}

func (m *atomicMulti) key() string              { return fmt.Sprintf("AM(%q,%s)", m.nm, m.c.key()) }
func (m *atomicUnion) key() string              { return fmt.Sprintf("AU(%q,%s)", m.nm, m.c.key()) }
func (m *atomicMulti) complexity() [2]int       { return [2]int{len(m.c.cs), 1} }
func (m *atomicUnion) complexity() [2]int       { return [2]int{len(m.c.cs), 1} }
func (m *atomicMulti) meet(o Marker) Marker     { return singleIntersect(m, o) }
func (m *atomicUnion) meet(o Marker) Marker     { return singleIntersect(m, o) }
func (m *atomicMulti) join(o Marker) Marker     { return singleUnion(m, o) }
func (m *atomicUnion) join(o Marker) Marker     { return singleUnion(m, o) }
func (m *atomicMulti) IsAny() bool              { return false }
func (m *atomicUnion) IsAny() bool              { return false }
func (m *atomicMulti) IsEmpty() bool            { return false }
func (m *atomicUnion) IsEmpty() bool            { return false }
func (m *atomicMulti) exclude(n string) Marker  { return singleExclude(m, n) }
func (m *atomicUnion) exclude(n string) Marker  { return singleExclude(m, n) }
func (m *atomicMulti) only(ns ...string) Marker { return singleOnly(m, ns) }
func (m *atomicUnion) only(ns ...string) Marker { return singleOnly(m, ns) }

func (m *atomicMulti) validate(env map[string]any) bool {
	if m.nm == "extra" {
		for _, c := range m.c.cs {
			if !(&SingleMarker{nm: m.nm, op: c.op, value: c.value, gcon: c}).validate(env) {
				return false
			}
		}
		return true
	}
	return genericValidate(m.nm, m.c, env)
}

func (m *atomicUnion) validate(env map[string]any) bool {
	if m.nm == "extra" {
		for _, c := range m.c.cs {
			gc := c.(*gConstraint)
			if (&SingleMarker{nm: m.nm, op: gc.op, value: gc.value, gcon: gc}).validate(env) {
				return true
			}
		}
		return false
	}
	return genericValidate(m.nm, m.c, env)
}

func genericValidate(name string, c genericC, env map[string]any) bool {
	val, ok := env[name]
	if !ok {
		return true
	}
	s, _ := val.(string)
	g, err := parseGeneric(s, false)
	if err != nil {
		return false
	}
	return c.allowsAll(g)
}

// MultiMarker is a conjunction.
type MultiMarker struct {
	markers []Marker
	k       string // memoised key (markers are immutable)
}

// MarkerUnion is a disjunction.
type MarkerUnion struct {
	markers []Marker
	k       string
}

// flattenMarkers inlines nested markers of the same kind and drops
// duplicates, as _flatten_markers does.
func flattenMarkers(ms []Marker, multi bool) []Marker {
	var out []Marker
	for _, m := range ms {
		var inner []Marker
		switch x := m.(type) {
		case *MultiMarker:
			if multi {
				inner = flattenMarkers(x.markers, multi)
			}
		case *MarkerUnion:
			if !multi {
				inner = flattenMarkers(x.markers, multi)
			}
		}
		if inner != nil {
			for _, y := range inner {
				if !containsMarker(out, y) {
					out = append(out, y)
				}
			}
			continue
		}
		if !containsMarker(out, m) {
			out = append(out, m)
		}
	}
	return out
}

func newMulti(ms ...Marker) *MultiMarker  { return &MultiMarker{markers: flattenMarkers(ms, true)} }
func newUnion(ms ...Marker) *MarkerUnion  { return &MarkerUnion{markers: flattenMarkers(ms, false)} }
func (m *MultiMarker) Markers() []Marker  { return m.markers }
func (m *MarkerUnion) Markers() []Marker  { return m.markers }
func (m *MultiMarker) IsAny() bool        { return false }
func (m *MultiMarker) IsEmpty() bool      { return false }
func (m *MarkerUnion) IsAny() bool        { return false }
func (m *MarkerUnion) IsEmpty() bool      { return false }
func (m *MultiMarker) complexity() [2]int { return sumComplexity(m.markers) }
func (m *MarkerUnion) complexity() [2]int { return sumComplexity(m.markers) }

func sumComplexity(ms []Marker) [2]int {
	var c [2]int
	for _, m := range ms {
		x := m.complexity()
		c[0] += x[0]
		c[1] += x[1]
	}
	return c
}

func keyList(prefix string, ms []Marker) string {
	var b strings.Builder
	b.WriteString(prefix)
	b.WriteString("(")
	for i, m := range ms {
		if i > 0 {
			b.WriteString(",")
		}
		b.WriteString(m.key())
	}
	b.WriteString(")")
	return b.String()
}

func (m *MultiMarker) key() string {
	if m.k == "" {
		m.k = keyList("M", m.markers)
	}
	return m.k
}

func (m *MarkerUnion) key() string {
	if m.k == "" {
		m.k = keyList("U", m.markers)
	}
	return m.k
}

func (m *MultiMarker) String() string {
	parts := make([]string, len(m.markers))
	for i, x := range m.markers {
		switch x.(type) {
		case *SingleMarker, *MultiMarker, *atomicMulti:
			parts[i] = x.String()
		default:
			parts[i] = "(" + x.String() + ")"
		}
	}
	return strings.Join(parts, " and ")
}

func (m *MarkerUnion) String() string {
	parts := make([]string, len(m.markers))
	for i, x := range m.markers {
		parts[i] = x.String()
	}
	return strings.Join(parts, " or ")
}

func (m *MultiMarker) meet(o Marker) Marker { return intersection(m, o) }
func (m *MultiMarker) join(o Marker) Marker { return union(m, o) }
func (m *MarkerUnion) meet(o Marker) Marker { return intersection(m, o) }
func (m *MarkerUnion) join(o Marker) Marker { return union(m, o) }

func (m *MultiMarker) exclude(n string) Marker {
	var out []Marker
	for _, x := range m.markers {
		if s, ok := x.(singleLike); ok && s.name() == n {
			continue
		}
		if y := x.exclude(n); !y.IsEmpty() {
			out = append(out, y)
		}
	}
	return intersection(out...)
}

func (m *MarkerUnion) exclude(n string) Marker {
	var out []Marker
	for _, x := range m.markers {
		if s, ok := x.(singleLike); ok && s.name() == n {
			continue
		}
		out = append(out, x.exclude(n))
	}
	if len(out) == 0 {
		return AnyMarker{}
	}
	return union(out...)
}

func (m *MultiMarker) only(ns ...string) Marker {
	out := make([]Marker, len(m.markers))
	for i, x := range m.markers {
		out[i] = x.only(ns...)
	}
	return multiOf(out...)
}

func (m *MarkerUnion) only(ns ...string) Marker {
	out := make([]Marker, len(m.markers))
	for i, x := range m.markers {
		out[i] = x.only(ns...)
	}
	return unionOf2(out...)
}

func (m *MultiMarker) validate(env map[string]any) bool {
	for _, x := range m.markers {
		if !x.validate(env) {
			return false
		}
	}
	return true
}

func (m *MarkerUnion) validate(env map[string]any) bool {
	for _, x := range m.markers {
		if x.validate(env) {
			return true
		}
	}
	return false
}

var nameNormRE = regexp.MustCompile(`[-_.]+`)

// NormalizeName is PEP 503 name normalisation.
func NormalizeName(s string) string {
	return strings.ToLower(nameNormRE.ReplaceAllString(s, "-"))
}

func sortStrings(s []string) { sort.Strings(s) }

// versionListConstraint is the constraint poetry-core reads a version list
// as, for "python_version in '3.8 3.9'" and "not in": a short version
// matches its whole series ("3.8" is 3.8.*), a full one exactly.
func versionListConstraint(op string, values []string) string {
	versions := make([]string, 0, len(values))
	for _, v := range values {
		split := strings.Split(v, ".")
		o := ""
		if len(split) <= 2 {
			split = append(split, "*")
		} else {
			o = "=="
		}
		if op != "in" {
			o = "!="
		}
		versions = append(versions, o+strings.Join(split, "."))
	}
	glue := ", "
	if op == "in" {
		glue = " || "
	}
	return strings.Join(versions, glue)
}
