package pep508

import (
	"fmt"
	"regexp"
	"strings"
)

var (
	anyVersionRE = regexp.MustCompile(`(?i)^v?[xX*](\.[xX*])*$`)
	tildeRE      = regexp.MustCompile(`(?i)^~\s*(?P<version>` + versionPattern + `)$`)
	tildePEP440  = regexp.MustCompile(`(?i)^~=\s*(?P<version>` + versionPattern + `)$`)
	caretRE      = regexp.MustCompile(`(?i)^\^\s*(?P<version>` + versionPattern + `)$`)
	xRangeRE     = regexp.MustCompile(`^(?P<op>!=|==)?\s*v?(?P<version>(\d+)(?:\.(\d+))?(?:\.(\d+))?)(?:\.\*)+$`)
	basicRE      = regexp.MustCompile(`(?i)^(?P<op><>|!=|>=?|<=?|==?)?\s*(?P<version>` + versionPattern + `|dev)(?P<wildcard>\.\*)?$`)
	orSplitRE    = regexp.MustCompile(`\s*\|\|?\s*`)
)

// ParseConstraint parses a Poetry version constraint ("^1.2", ">=3.8,<4",
// "~2.7 || ^3.6", "*", ...).
func ParseConstraint(s string) (VersionConstraint, error) {
	return parseVersionConstraint(s, false)
}

// parseMarkerVersionConstraint parses the constraint of a python_version
// marker, where "==3.6.*" means exactly the 3.6 series (no dev releases).
func parseMarkerVersionConstraint(s string) (VersionConstraint, error) {
	return parseVersionConstraint(s, true)
}

func parseVersionConstraint(s string, marker bool) (VersionConstraint, error) {
	if s == "*" {
		return anyRange(), nil
	}
	var groups []VersionConstraint
	for _, or := range orSplitRE.Split(strings.TrimSpace(s), -1) {
		or = strings.TrimRight(strings.TrimRight(or, ","), " \t\n\r\f\v")
		var c VersionConstraint
		for i, and := range splitAnd(or) {
			sc, err := parseSingleConstraint(and, marker)
			if err != nil {
				return nil, err
			}
			if i == 0 {
				c = sc
			} else {
				c = c.Intersect(sc)
			}
		}
		groups = append(groups, c)
	}
	if len(groups) == 1 {
		return groups[0], nil
	}
	return unionOf(groups...), nil
}

// splitAnd is re.split("(?<!^)(?<![~=>< ,]) *(?<!-)[, ](?!-) *(?!,|$)", s)
// written out, since Go's regexp has no look-around.
func splitAnd(s string) []string {
	var parts []string
	start := 0
	for p := 1; p < len(s); {
		end, ok := andSepAt(s, p)
		if !ok {
			p++
			continue
		}
		parts = append(parts, s[start:p])
		start, p = end, end
	}
	return append(parts, s[start:])
}

func andSepAt(s string, p int) (int, bool) {
	if strings.IndexByte("~=>< ,", s[p-1]) >= 0 {
		return 0, false
	}
	spaces := 0
	for p+spaces < len(s) && s[p+spaces] == ' ' {
		spaces++
	}
	for k := spaces; k >= 0; k-- {
		q := p + k
		if q >= len(s) || (s[q] != ',' && s[q] != ' ') {
			continue
		}
		if s[q-1] == '-' || (q+1 < len(s) && s[q+1] == '-') {
			continue
		}
		trail := 0
		for q+1+trail < len(s) && s[q+1+trail] == ' ' {
			trail++
		}
		for m := trail; m >= 0; m-- {
			r := q + 1 + m
			if r < len(s) && s[r] != ',' {
				return r, true
			}
		}
	}
	return 0, false
}

func parseErr(c string) error {
	return fmt.Errorf("Could not parse version constraint: %s", c)
}

func group(re *regexp.Regexp, m []string, name string) string {
	return m[re.SubexpIndex(name)]
}

func parseSingleConstraint(c string, marker bool) (VersionConstraint, error) {
	if anyVersionRE.MatchString(c) {
		return anyRange(), nil
	}
	if strings.HasPrefix(c, "~") && !strings.HasPrefix(c, "~=") {
		if m := tildeRE.FindStringSubmatch(c); m != nil {
			v, err := ParseVersion(group(tildeRE, m, "version"))
			if err != nil {
				return nil, parseErr(c)
			}
			high := v.stable().nextMinor()
			if v.Precision() == 1 {
				high = v.stable().nextMajor()
			}
			return NewVersionRange(v, high, true, false), nil
		}
	}
	if m := tildePEP440.FindStringSubmatch(c); m != nil {
		v, err := ParseVersion(group(tildePEP440, m, "version"))
		if err != nil {
			return nil, parseErr(c)
		}
		high := v.stable().nextMinor()
		if v.Precision() == 2 {
			high = v.stable().nextMajor()
		}
		return NewVersionRange(v, high, true, false), nil
	}
	if m := caretRE.FindStringSubmatch(c); m != nil {
		v, err := ParseVersion(group(caretRE, m, "version"))
		if err != nil {
			return nil, parseErr(c)
		}
		return NewVersionRange(v, v.nextBreaking(), true, false), nil
	}
	if m := xRangeRE.FindStringSubmatch(c); m != nil {
		v, err := ParseVersion(group(xRangeRE, m, "version"))
		if err != nil {
			return nil, parseErr(c)
		}
		return xConstraintRange(v, group(xRangeRE, m, "op") == "!=", marker), nil
	}
	if m := basicRE.FindStringSubmatch(c); m != nil {
		op := group(basicRE, m, "op")
		vs := group(basicRE, m, "version")
		if vs == "dev" {
			vs = "0.0-dev"
		}
		v, err := ParseVersion(vs)
		if err != nil {
			return nil, parseErr(c)
		}
		switch op {
		case "<":
			return NewVersionRange(nil, v, false, false), nil
		case "<=":
			return NewVersionRange(nil, v, false, true), nil
		case ">":
			return NewVersionRange(v, nil, false, false), nil
		case ">=":
			return NewVersionRange(v, nil, true, false), nil
		}
		if group(basicRE, m, "wildcard") != "" {
			return xConstraintRange(v, op == "!=", marker), nil
		}
		if op == "!=" {
			return &VersionUnion{ranges: []rangeC{NewVersionRange(nil, v, false, false), NewVersionRange(v, nil, false, false)}}, nil
		}
		return v, nil
	}
	return nil, parseErr(c)
}

func xConstraintRange(v *Version, invert, marker bool) VersionConstraint {
	var next *Version
	switch {
	case v.IsPostrelease():
		next = v.nextPostrelease()
	case v.IsStable():
		next = v.nextStable()
	case v.IsPrerelease():
		next = v.nextPrerelease()
	default:
		next = v.nextDevrelease()
	}
	lo, hi := v, next
	if !marker {
		lo = lo.firstDevrelease()
		if !hi.IsDevrelease() {
			hi = hi.firstDevrelease()
		}
	}
	r := NewVersionRange(lo, hi, true, false)
	if invert {
		return anyRange().Difference(r)
	}
	return r
}
