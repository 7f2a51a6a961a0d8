package pep508

import (
	"fmt"
	"regexp"
	"sort"
	"strings"
)

type opValue struct{ op, value string }

// convertedMarkers maps a marker name to one list of comparisons per
// conjunction of the marker's DNF (python_full_version counts as
// python_version), as poetry-core's convert_markers.
type convertedMarkers map[string][][]opValue

func convertMarkers(m Marker) convertedMarkers {
	req := convertedMarkers{}
	d := dnf(m)
	conj := []Marker{d}
	if u, ok := d.(*MarkerUnion); ok {
		conj = u.markers
	}
	add := func(name string, c opValue, i int) {
		if name == "python_full_version" {
			name = "python_version"
		}
		if _, ok := req[name]; !ok {
			req[name] = make([][]opValue, len(conj))
		}
		req[name][i] = append(req[name][i], c)
	}
	addSingle := func(x Marker, i int) {
		switch s := x.(type) {
		case *SingleMarker:
			add(s.nm, opValue{s.op, s.value}, i)
		case *atomicMulti:
			add(s.nm, opValue{"", s.c.String()}, i)
		case *atomicUnion:
			add(s.nm, opValue{"", s.c.String()}, i)
		}
	}
	for i, sub := range conj {
		if mm, ok := sub.(*MultiMarker); ok {
			for _, x := range mm.markers {
				addSingle(x, i)
			}
		} else {
			addSingle(sub, i)
		}
	}
	for name, groups := range req {
		var seen [][]opValue
		for _, g := range groups {
			dup := false
			for _, s := range seen {
				if sameOpValues(s, g) {
					dup = true
					break
				}
			}
			if !dup {
				seen = append(seen, g)
			}
		}
		req[name] = seen
	}
	return req
}

func sameOpValues(a, b []opValue) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func (c convertedMarkers) groupWithout(name string) bool {
	groups, ok := c[name]
	if !ok {
		return true
	}
	for _, g := range groups {
		if len(g) == 0 {
			return true
		}
	}
	return false
}

// pythonConstraint is get_python_constraint_from_marker: the python
// versions a marker allows.
func pythonConstraint(m Marker) VersionConstraint {
	pm := m.only("python_version", "python_full_version")
	if pm.IsAny() {
		return anyRange()
	}
	if pm.IsEmpty() {
		return EmptyVersion{}
	}
	conv := convertMarkers(m)
	if conv.groupWithout("python_version") {
		return anyRange()
	}
	c, err := parseMarkerVersionConstraint(normalizePythonVersionMarkers(conv["python_version"]))
	if err != nil {
		panic(err)
	}
	return c
}

var spaceCommaRE = regexp.MustCompile(`[ ,]+`)

func normalizePythonVersionMarkers(disj [][]opValue) string {
	var ors []string
	for _, or := range disj {
		var ands []string
		for _, ov := range or {
			op, version := ov.op, ov.value
			switch {
			case op == "==" && !strings.Contains(version, "*") && strings.Count(version, ".") < 2:
				version = "~" + version
				op = ""
			case op == "!=" && !strings.Contains(version, "*") && strings.Count(version, ".") < 2:
				version += ".*"
			case op == "<=" || op == ">":
				pv, err := ParseVersion(version)
				if err == nil {
					if pv.Precision() < 3 {
						if op == "<=" {
							op = "<"
						} else {
							op = ">="
						}
					}
					if pv.Precision() == 2 {
						version = pv.nextMinor().text
					}
				}
			case op == "in" || op == "not in":
				if values := spaceCommaRE.Split(version, -1); len(values) > 0 {
					ands = append(ands, versionListConstraint(op, values))
				}
				continue
			}
			ands = append(ands, op+version)
		}
		ors = append(ors, strings.Join(ands, " "))
	}
	return strings.Join(ors, " || ")
}

// CreateNestedMarker is poetry-core's create_nested_marker for a version
// constraint: the marker text for "name in constraint".
func CreateNestedMarker(name string, c VersionConstraint) string {
	if c.IsAny() {
		return ""
	}
	switch x := c.(type) {
	case *VersionUnion:
		parts := make([]string, len(x.ranges))
		for i, r := range x.ranges {
			parts[i] = "(" + CreateNestedMarker(name, r) + ")"
		}
		return strings.Join(parts, " or ")
	case *Version:
		if name == "python_version" && x.Precision() >= 3 {
			name = "python_full_version"
		}
		return fmt.Sprintf(`%s == "%s"`, name, x.text)
	case *VersionRange:
		var parts []string
		if x.min != nil {
			op := ">"
			if x.incMin {
				op = ">="
			}
			n := name
			if n == "python_version" && x.min.Precision() >= 3 {
				n = "python_full_version"
			}
			if n == "python_version" && !x.incMin && x.min.Precision() < 3 {
				pad := strings.Repeat(".0", 3-x.min.Precision())
				parts = append(parts, fmt.Sprintf(`python_full_version > "%s%s"`, x.min.text, pad))
			} else {
				parts = append(parts, fmt.Sprintf(`%s %s "%s"`, n, op, x.min.text))
			}
		}
		if x.max != nil {
			op := "<"
			if x.incMax {
				op = "<="
			}
			n := name
			if n == "python_version" && x.max.Precision() >= 3 {
				n = "python_full_version"
			}
			if n == "python_version" && x.incMax && x.max.Precision() < 3 {
				pad := strings.Repeat(".0", 3-x.max.Precision())
				parts = append(parts, fmt.Sprintf(`python_full_version <= "%s%s"`, x.max.text, pad))
			} else {
				parts = append(parts, fmt.Sprintf(`%s %s "%s"`, n, op, x.max.text))
			}
		}
		return strings.Join(parts, " and ")
	}
	return ""
}

// PythonMarker converts a Poetry python constraint ("~2.7 || ^3.6") into the
// marker poetry-core derives from it.
func PythonMarker(c VersionConstraint) Marker {
	begin()
	defer mu.Unlock()
	return mustParse(CreateNestedMarker("python_version", c))
}

// CheckPythonMarker reports whether c makes a marker PythonMarker can
// read: a constraint can hold versions a marker cannot (">=0a0" becomes
// python_full_version >= "0a0.0.0").
func CheckPythonMarker(c VersionConstraint) (err error) {
	begin()
	defer mu.Unlock()
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("%v", r)
		}
	}()
	_, err = parseMarker(CreateNestedMarker("python_version", c))
	return err
}

// ProjectPythonConstraint is the python constraint of a root project:
// "*" stands for "~2.7 || >=3.4", as in poetry-core's ProjectPackage.
func ProjectPythonConstraint(s string) (VersionConstraint, error) {
	if s == "*" {
		s = "~2.7 || >=3.4"
	}
	return ParseConstraint(s)
}

// DependencyMarkerInfo is what poetry-core's Dependency.marker setter
// derives from a marker: the python versions it restricts to ("*" when
// unrestricted) and the extras it mentions.
func DependencyMarkerInfo(m Marker) (pythonVersions string, extras []string) {
	begin()
	defer mu.Unlock()
	conv := convertMarkers(m)
	for _, g := range conv["extra"] {
		for _, ov := range g {
			extras = append(extras, ov.value)
		}
	}
	pythonVersions = "*"
	if !conv.groupWithout("python_version") {
		pythonVersions = normalizePythonVersionMarkers(conv["python_version"])
	}
	return pythonVersions, extras
}

// HasExtraMarker reports whether m mentions the extra marker.
func HasExtraMarker(m Marker) bool {
	begin()
	defer mu.Unlock()
	_, ok := convertMarkers(m)["extra"]
	return ok
}

// CreateNestedGenericMarker is create_nested_marker for a string constraint
// such as a dependency's platform ("linux || darwin").
func CreateNestedGenericMarker(name, constraint string) (string, error) {
	c, err := parseGeneric(constraint, name == "extra")
	if err != nil {
		return "", err
	}
	return nestedGeneric(name, c), nil
}

func nestedGeneric(name string, c genericC) string {
	switch x := c.(type) {
	case *gConstraint:
		return fmt.Sprintf(`%s %s "%s"`, name, x.op, x.value)
	case *gMulti:
		parts := make([]string, len(x.cs))
		for i, y := range x.cs {
			parts[i] = nestedGeneric(name, y)
		}
		return strings.Join(parts, " and ")
	case *gUnion:
		parts := make([]string, len(x.cs))
		for i, y := range x.cs {
			p := nestedGeneric(name, y)
			switch y.(type) {
			case *gMulti, *gUnion:
				p = "(" + p + ")"
			}
			parts[i] = p
		}
		return strings.Join(parts, " or ")
	}
	return ""
}

// RegionMarkers splits the python version space at every bound of the
// given constraints and returns one marker per region, as
// poetry-plugin-export's get_python_version_region_markers.
func RegionMarkers(cs []VersionConstraint) []Marker {
	begin()
	defer mu.Unlock()
	type edge struct {
		v    *Version
		flag bool
	}
	var edges []edge
	addEdge := func(e edge) {
		for _, x := range edges {
			if x.flag == e.flag && x.v.eqv(e.v) {
				return
			}
		}
		edges = append(edges, e)
	}
	var flat []rangeC
	for _, c := range cs {
		flat = append(flat, c.flatten()...)
	}
	for _, r := range flat {
		if r.lo() != nil {
			addEdge(edge{r.lo(), !r.incLo()})
		}
	}
	for _, r := range flat {
		if r.hi() != nil {
			addEdge(edge{r.hi(), r.incHi()})
		}
	}
	sort.SliceStable(edges, func(i, j int) bool {
		if c := edges[i].v.Compare(edges[j].v); c != 0 {
			return c < 0
		}
		return !edges[i].flag && edges[j].flag
	})
	var regions []*VersionRange
	if len(edges) == 0 {
		regions = []*VersionRange{anyRange()}
	} else {
		regions = append(regions, NewVersionRange(nil, edges[0].v, false, edges[0].flag))
		for i := 0; i+1 < len(edges); i++ {
			lo, hi := edges[i], edges[i+1]
			regions = append(regions, NewVersionRange(lo.v, hi.v, !lo.flag, hi.flag))
		}
		last := edges[len(edges)-1]
		regions = append(regions, NewVersionRange(last.v, nil, !last.flag, false))
	}
	var out []Marker
	for _, r := range regions {
		var m Marker = AnyMarker{}
		if r.min != nil {
			op := ">"
			if r.incMin {
				op = ">="
			}
			m = m.meet(pythonBound(op, r.min))
		}
		if r.max != nil {
			op := "<"
			if r.incMax {
				op = "<="
			}
			m = m.meet(pythonBound(op, r.max))
		}
		out = append(out, m)
	}
	return out
}

// pythonBound is the marker for one bound of a python range: on
// python_version, or python_full_version when the bound has a patch part.
func pythonBound(op string, v *Version) Marker {
	name := "python_version"
	if v.Precision() > 2 {
		name = "python_full_version"
	}
	m, err := newSingleMarker(name, op+" "+v.text, false)
	if err != nil {
		panic(err) // a bound of a parsed range always makes a valid marker
	}
	return m
}
