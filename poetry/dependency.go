package poetry

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/xdockerfile/xdockerfile/pep508"
)

// dependency is poetry-core's Dependency: a requirement of the project or
// of a locked package.
type dependency struct {
	name       string // PEP 503 normalised
	prettyName string
	constraint pep508.VersionConstraint
	features   []string // normalised extras, sorted and unique
	optional   bool
	allowPre   bool
	marker     pep508.Marker
	pyVersions string // derived from the marker, "*" when unrestricted
	pyConstr   pep508.VersionConstraint
	inExtras   []string

	sourceType  string // "", "git", "directory", "file", "url"
	sourceURL   string
	sourceRef   string
	resolvedRef string
	subdir      string
	develop     bool
	sourceName  string // [[tool.poetry.source]] the dependency is pinned to
}

func newDependency(name string, constraint pep508.VersionConstraint, extras []string) *dependency {
	d := &dependency{
		name:       pep508.NormalizeName(name),
		prettyName: name,
		constraint: constraint,
		features:   normalizeSet(extras),
		marker:     pep508.AnyMarker{},
		pyVersions: "*",
	}
	d.pyConstr, _ = pep508.ParseConstraint("*")
	if r, ok := constraint.(*pep508.VersionRange); ok && r.Min() != nil && r.Min().IsUnstable() {
		d.allowPre = true
	}
	return d
}

func normalizeSet(xs []string) []string {
	seen := map[string]bool{}
	var out []string
	for _, x := range xs {
		n := pep508.NormalizeName(x)
		if !seen[n] {
			seen[n] = true
			out = append(out, n)
		}
	}
	sort.Strings(out)
	return out
}

func (d *dependency) clone() *dependency {
	c := *d
	c.features = append([]string(nil), d.features...)
	c.inExtras = append([]string(nil), d.inExtras...)
	return &c
}

// setMarker mirrors the Dependency.marker setter: a marker on extras makes
// the dependency optional, and its python part becomes the python
// constraint.
func (d *dependency) setMarker(m pep508.Marker) {
	d.marker = m
	pv, extras := pep508.DependencyMarkerInfo(m)
	if pep508.HasExtraMarker(m) {
		d.optional = true
		for _, e := range extras {
			d.inExtras = append(d.inExtras, pep508.NormalizeName(e))
		}
	}
	d.pyVersions = pv
	c, err := pep508.ParseConstraint(pv)
	if err != nil {
		c, _ = pep508.ParseConstraint("*")
	}
	d.pyConstr = c
}

// setPythonVersions mirrors the Dependency.python_versions setter.
func (d *dependency) setPythonVersions(v string) error {
	c, err := pep508.ParseConstraint(v)
	if err != nil {
		return err
	}
	d.pyVersions, d.pyConstr = v, c
	if !c.IsAny() {
		pm, err := pep508.Parse(pep508.CreateNestedMarker("python_version", c))
		if err != nil {
			return err
		}
		d.marker = pep508.Intersect(d.marker, pm)
	}
	return nil
}

func (d *dependency) isDirect() bool { return d.sourceType != "" }

func (d *dependency) completeName() string {
	if len(d.features) == 0 {
		return d.name
	}
	return d.name + "[" + strings.Join(d.features, ",") + "]"
}

func (d *dependency) completePrettyName() string {
	if len(d.features) == 0 {
		return d.prettyName
	}
	return d.prettyName + "[" + strings.Join(d.features, ",") + "]"
}

// sameSource is PackageSpecification.is_same_source_as.
func sameSource(aType, aURL, aSub, aRef, aRes, bType, bURL, bSub, bRef, bRes string) bool {
	if aType != bType {
		return false
	}
	if aType == "" {
		return true
	}
	if (aURL != "" || bURL != "") && aURL != bURL {
		return false
	}
	if (aSub != "" || bSub != "") && aSub != bSub {
		return false
	}
	if aRes != "" && bRes != "" && aRes == bRes {
		return true
	}
	if aRef != "" || bRef != "" {
		if aRef == "" || bRef == "" {
			return false
		}
		if !(aRef == bRef || strings.HasPrefix(aRef, bRef) || strings.HasPrefix(bRef, aRef)) {
			return false
		}
		if aRes != "" && bRes != "" && aRes != bRes {
			return false
		}
	}
	return true
}

func (d *dependency) sameSourceAs(p *lockedPackage) bool {
	return sameSource(d.sourceType, d.sourceURL, d.subdir, d.sourceRef, d.resolvedRef,
		p.sourceType, p.sourceURL, p.subdir, p.sourceRef, p.resolvedRef)
}

// equal is Dependency.__eq__: same package (name, extras, source) and, for
// index dependencies, the same constraint.
func (d *dependency) equal(o *dependency) bool {
	if d.completeName() != o.completeName() {
		return false
	}
	if !sameSource(d.sourceType, d.sourceURL, d.subdir, d.sourceRef, d.resolvedRef,
		o.sourceType, o.sourceURL, o.subdir, o.sourceRef, o.resolvedRef) {
		return false
	}
	return d.isDirect() || pep508.ConstraintsEqual(d.constraint, o.constraint)
}

func (d *dependency) String() string {
	if d.constraint == nil || d.constraint.IsAny() {
		return d.completePrettyName() + " (*)"
	}
	return fmt.Sprintf("%s (%s)", d.completePrettyName(), d.constraint)
}

// spec is one value of a dependency table: a constraint string or a table
// such as {version = "^1.0", markers = "...", python = "..."}.
type specError struct {
	line int
	msg  string
}

func (e *specError) Error() string { return e.msg }

// createDependency is poetry-core's Factory.create_dependency.
func createDependency(name string, spec any, line int, root location) (*dependency, error) {
	errorf := func(format string, args ...any) error {
		return &specError{line: line, msg: fmt.Sprintf("dependency %s: ", name) + fmt.Sprintf(format, args...)}
	}
	if spec == nil {
		spec = "*"
	}
	switch s := spec.(type) {
	case string:
		c, err := parseDepConstraint(s)
		if err != nil {
			return nil, errorf("%v", err)
		}
		return newDependency(name, c, nil), nil
	case *table:
		var extras []string
		for _, e := range s.array("extras") {
			if es, ok := e.(string); ok {
				extras = append(extras, es)
			}
		}
		var d *dependency
		switch {
		case has(s, "git"):
			url, _ := s.str("git")
			d = newDependency(name, anyConstraint(), extras)
			d.sourceType, d.sourceURL = "git", url
			branch, _ := s.str("branch")
			tag, _ := s.str("tag")
			rev, _ := s.str("rev")
			d.sourceRef = firstNonEmpty(branch, tag, rev, "HEAD")
			d.subdir, _ = s.str("subdirectory")
			d.develop = s.boolean("develop")
			d.allowPre = true
		case has(s, "file"):
			p, _ := s.str("file")
			d = newDependency(name, anyConstraint(), extras)
			d.sourceType, d.sourceURL = "file", root.abs(p)
			d.subdir, _ = s.str("subdirectory")
		case has(s, "path"):
			p, _ := s.str("path")
			d = newDependency(name, anyConstraint(), extras)
			full := root.abs(p)
			d.sourceType, d.sourceURL = "directory", full
			if root.isFile(full) {
				d.sourceType = "file"
				d.subdir, _ = s.str("subdirectory")
			} else {
				d.develop = s.boolean("develop")
			}
		case has(s, "url"):
			u, _ := s.str("url")
			d = newDependency(name, anyConstraint(), extras)
			d.sourceType, d.sourceURL = "url", u
			d.subdir, _ = s.str("subdirectory")
		default:
			v, ok := s.str("version")
			if !ok {
				v = "*"
			}
			c, err := parseDepConstraint(v)
			if err != nil {
				return nil, errorf("%v", err)
			}
			d = newDependency(name, c, extras)
			if s.boolean("allow-prereleases") || s.boolean("allow_prereleases") {
				d.allowPre = true
			}
			d.develop = s.boolean("develop")
		}
		d.optional = s.boolean("optional")
		var m pep508.Marker = pep508.AnyMarker{}
		if ms, ok := s.str("markers"); ok && ms != "" {
			pm, err := pep508.Parse(ms)
			if err != nil {
				return nil, errorf("%v", err)
			}
			m = pm
		}
		if py, ok := s.str("python"); ok && py != "" {
			c, err := pep508.ParseConstraint(py)
			if err != nil {
				return nil, errorf("%v", err)
			}
			pm, err := pep508.Parse(pep508.CreateNestedMarker("python_version", c))
			if err != nil {
				return nil, errorf("%v", err)
			}
			m = pep508.Intersect(m, pm)
		}
		if pl, ok := s.str("platform"); ok && pl != "" {
			ms, err := pep508.CreateNestedGenericMarker("sys_platform", pl)
			if err != nil {
				return nil, errorf("%v", err)
			}
			pm, err := pep508.Parse(ms)
			if err != nil {
				return nil, errorf("%v", err)
			}
			m = pep508.Intersect(m, pm)
		}
		if !m.IsAny() {
			d.setMarker(m)
		}
		d.sourceName, _ = s.str("source")
		return d, nil
	}
	return nil, errorf("unsupported specification %T", spec)
}

func has(t *table, k string) bool {
	_, ok := t.get(k)
	return ok
}

func firstNonEmpty(xs ...string) string {
	for _, x := range xs {
		if x != "" {
			return x
		}
	}
	return ""
}

func anyConstraint() pep508.VersionConstraint {
	c, _ := pep508.ParseConstraint("*")
	return c
}

// parseDepConstraint parses a dependency's version constraint; like
// poetry-core, an unparsable constraint means "any version".
func parseDepConstraint(s string) (pep508.VersionConstraint, error) {
	c, err := pep508.ParseConstraint(s)
	if err != nil {
		return anyConstraint(), nil
	}
	return c, nil
}

// location is where relative paths are resolved: the project (or a path
// dependency's) directory. Only a project loaded from disk (fs) consults
// the filesystem, as Poetry does; one parsed from bytes, whose directory
// may exist only inside a build context, resolves paths lexically.
type location struct {
	dir string
	fs  bool
}

func (l location) at(dir string) location { return location{dir: dir, fs: l.fs} }

// abs resolves p the way pathlib's resolve() does: made absolute, "." and
// ".." removed, and (on disk) symlinks followed where they exist.
func (l location) abs(p string) string {
	if !filepath.IsAbs(p) {
		p = filepath.Join(l.dir, p)
	}
	p = filepath.Clean(p)
	if l.fs {
		if r, err := filepath.EvalSymlinks(p); err == nil {
			if ar, err := filepath.Abs(r); err == nil {
				return filepath.ToSlash(ar)
			}
		}
	}
	return filepath.ToSlash(p)
}

// isFile is Path.is_file(); without the filesystem, archives by name.
func (l location) isFile(p string) bool {
	if !l.fs {
		for _, ext := range []string{".whl", ".zip", ".tar.gz", ".tgz", ".tar", ".tar.bz2", ".tbz", ".tar.xz", ".txz"} {
			if strings.HasSuffix(strings.ToLower(p), ext) {
				return true
			}
		}
		return false
	}
	st, err := os.Stat(p)
	return err == nil && st.Mode().IsRegular()
}
