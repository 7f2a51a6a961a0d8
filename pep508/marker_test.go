package pep508

import (
	"strings"
	"testing"
)

func mustParseT(t *testing.T, s string) Marker {
	t.Helper()
	m, err := Parse(s)
	if err != nil {
		t.Fatalf("Parse(%q): %v", s, err)
	}
	return m
}

func TestParseRoundTrip(t *testing.T) {
	for _, s := range roundTripCases {
		if got := mustParseT(t, s).String(); got != s {
			t.Errorf("Parse(%q) prints %q", s, got)
		}
	}
}

func TestParseSimplifies(t *testing.T) {
	for _, c := range parseCases {
		if got := mustParseT(t, c[0]).String(); got != c[1] {
			t.Errorf("Parse(%q)\n got  %q\n want %q", c[0], got, c[1])
		}
	}
}

func TestParseErrors(t *testing.T) {
	for _, s := range []string{
		`python_version != "4.9.253-tegra"`,
		`python_version >=`,
		`foo == "1"`,
		`python_version == "3.6" and`,
		`(python_version == "3.6"`,
		`"a" == "b"`,
		`python_version == "3.6")`,
	} {
		if m, err := Parse(s); err == nil {
			t.Errorf("Parse(%q) = %q, want an error", s, m)
		}
	}
}

func TestSingleMarkerConstraints(t *testing.T) {
	for _, c := range singleConstraintCases {
		m, ok := mustParseT(t, c[0]).(*SingleMarker)
		if !ok {
			t.Errorf("Parse(%q) is not a single marker", c[0])
			continue
		}
		var got string
		if m.vcon != nil {
			got = m.vcon.String()
		} else {
			got = m.gcon.String()
		}
		if m.Name() != c[1] || got != c[2] {
			t.Errorf("Parse(%q): name %q constraint %q, want %q %q", c[0], m.Name(), got, c[1], c[2])
		}
	}
}

func TestIntersect(t *testing.T) {
	for _, c := range intersectCases {
		got := Intersect(mustParseT(t, c[0]), mustParseT(t, c[1])).String()
		if got != c[2] {
			t.Errorf("(%s) and (%s)\n got  %q\n want %q", c[0], c[1], got, c[2])
		}
	}
}

func TestUnion(t *testing.T) {
	for _, c := range unionCases {
		got := Union(mustParseT(t, c[0]), mustParseT(t, c[1])).String()
		if got != c[2] {
			t.Errorf("(%s) or (%s)\n got  %q\n want %q", c[0], c[1], got, c[2])
		}
	}
	for _, c := range unionSymmetricCases {
		for _, ab := range [][2]string{{c[0], c[1]}, {c[1], c[0]}} {
			got := Union(mustParseT(t, ab[0]), mustParseT(t, ab[1])).String()
			if got != c[2] {
				t.Errorf("(%s) or (%s)\n got  %q\n want %q", ab[0], ab[1], got, c[2])
			}
		}
	}
}

func TestComplexUnion(t *testing.T) {
	var ms []Marker
	for _, s := range complexUnionCase {
		ms = append(ms, mustParseT(t, s))
	}
	if got := UnionAll(ms...).String(); got != complexUnionWant {
		t.Errorf("got  %q\nwant %q", got, complexUnionWant)
	}
}

func TestMergePythonVersionAndFullVersion(t *testing.T) {
	for _, c := range mergeCases {
		a, b := mustParseT(t, c[0]), mustParseT(t, c[1])
		if got := Intersect(a, b).String(); got != c[2] {
			t.Errorf("%s and %s\n got  %q\n want %q", c[0], c[1], got, c[2])
		}
		if got := Union(a, b).String(); got != c[3] {
			t.Errorf("%s or %s\n got  %q\n want %q", c[0], c[1], got, c[3])
		}
	}
}

func TestWithoutExtras(t *testing.T) {
	for _, c := range withoutExtrasCases {
		if got := WithoutExtras(mustParseT(t, c[0])).String(); got != c[1] {
			t.Errorf("WithoutExtras(%q)\n got  %q\n want %q", c[0], got, c[1])
		}
	}
}

func TestExclude(t *testing.T) {
	for _, c := range excludeCases {
		m := mustParseT(t, c[0])
		mu.Lock()
		got := m.exclude(c[1]).String()
		mu.Unlock()
		if got != c[2] {
			t.Errorf("exclude(%q, %s)\n got  %q\n want %q", c[0], c[1], got, c[2])
		}
	}
}

func TestOnly(t *testing.T) {
	for _, c := range onlyCases {
		if got := Only(mustParseT(t, c.marker), c.names...).String(); got != c.want {
			t.Errorf("Only(%q, %v)\n got  %q\n want %q", c.marker, c.names, got, c.want)
		}
	}
}

func TestValidateExtras(t *testing.T) {
	for _, c := range validateExtrasCases {
		if got := Validate(mustParseT(t, c.marker), map[string]any{"extra": c.extras}); got != c.want {
			t.Errorf("Validate(%q, %v) = %v", c.marker, c.extras, got)
		}
	}
}

func TestResolveExtras(t *testing.T) {
	for _, c := range []struct {
		marker string
		extras []string
		want   string
	}{
		{`extra == "a" or extra == "b"`, nil, "<empty>"},
		{`extra == "a" or extra == "b"`, []string{"b"}, ""},
		{`implementation_name != "pypy" and (extra == "postgres" or extra == "all")`, []string{"all"}, `implementation_name != "pypy"`},
		{`python_version < "3.11" and extra == "x" or sys_platform == "win32"`, nil, `python_version < "3.11" or sys_platform == "win32"`},
		{`sys_platform == "linux"`, []string{"a"}, `sys_platform == "linux"`},
	} {
		if got := ResolveExtras(mustParseT(t, c.marker), c.extras).String(); got != c.want {
			t.Errorf("ResolveExtras(%q, %v)\n got  %q\n want %q", c.marker, c.extras, got, c.want)
		}
	}
}

func TestPythonMarker(t *testing.T) {
	for _, c := range [][2]string{
		{"~2.7 || ^3.6", `python_version == "2.7" or python_version >= "3.6" and python_version < "4.0"`},
		{"*", `python_version == "2.7" or python_version >= "3.4"`},
		{">=3.10", `python_version >= "3.10"`},
		{">=3.10,<4", `python_version >= "3.10" and python_version < "4"`},
		{"~3.9", `python_version == "3.9"`},
		{"^3.6.2", `python_full_version >= "3.6.2" and python_full_version < "4.0.0"`},
		{">3.7", `python_full_version > "3.7.0"`},
		{"<=3.11", `python_full_version <= "3.11.0"`},
		{"==3.10.4", `python_full_version == "3.10.4"`},
	} {
		pc, err := ProjectPythonConstraint(c[0])
		if err != nil {
			t.Fatal(err)
		}
		if got := PythonMarker(pc).String(); got != c[1] {
			t.Errorf("PythonMarker(%q)\n got  %q\n want %q", c[0], got, c[1])
		}
	}
}

func TestRegionMarkers(t *testing.T) {
	var cs []VersionConstraint
	for _, s := range []string{">=3.6", ">=2.7,<3.0 || >=3.4"} {
		c, err := ParseConstraint(s)
		if err != nil {
			t.Fatal(err)
		}
		cs = append(cs, c)
	}
	var got []string
	for _, m := range RegionMarkers(cs) {
		got = append(got, m.String())
	}
	want := `python_version < "2.7"|python_version >= "2.7" and python_version < "3.0"|python_version >= "3.0" and python_version < "3.4"|python_version >= "3.4" and python_version < "3.6"|python_version >= "3.6"`
	if strings.Join(got, "|") != want {
		t.Errorf("got  %s\nwant %s", strings.Join(got, "|"), want)
	}
}

// A python_full_version bound of fewer than three parts gets them before
// its pre-release tag, not after it.
func TestPythonFullVersionPadsThePreRelease(t *testing.T) {
	for in, want := range map[string]string{
		`python_full_version >= "3.13b1"`: `python_full_version >= "3.13.0b1"`,
		`python_full_version < "3"`:       `python_full_version < "3.0.0"`,
		`python_full_version >= "0a0"`:    `python_full_version >= "0.0.0a0"`,
		`python_full_version >= "1!3"`:    `python_full_version >= "1!3.0.0"`,
	} {
		if got := mustParseT(t, in).String(); got != want {
			t.Errorf("%s: %s, want %s", in, got, want)
		}
	}
}
