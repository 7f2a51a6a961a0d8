package poetry

import (
	"fmt"
	"sort"
	"strings"

	"github.com/xdockerfile/xdockerfile/pep508"
)

// Lock files before 2.1 do not say which group needs a package under which
// markers, so poetry-plugin-export walks the dependency graph from the
// project's requirements (get_project_dependency_packages). This file
// reproduces that walk.

// walkEntry is one exported package and the dependency reaching it.
type walkEntry struct {
	pkg *lockedPackage
	dep *dependency
}

func (p *Project) walk(groups map[string]bool, extras []string, pythonMarker pep508.Marker) ([]exportedPackage, error) {
	lockDir := p.loc
	for _, pkg := range p.lock.packages {
		if err := pkg.loadDependencies(lockDir); err != nil {
			return nil, fileError(p.lockName, err)
		}
	}
	var requires []*dependency
	for _, g := range p.py.groups {
		if groups[g.name] {
			requires = append(requires, p.py.dependencies(g, map[string]bool{})...)
		}
	}
	var marked []*dependency
	for _, r := range requires {
		c := r.clone()
		c.setMarker(pep508.Intersect(r.marker, pythonMarker))
		marked = append(marked, c)
	}

	extraNames := p.extraPackageNames(extras)
	var selected []*dependency
	for _, d := range marked {
		found := p.findPackages(d)
		if len(found) == 0 {
			continue
		}
		if found[0].optional && !extraNames[found[0].name] {
			continue
		}
		selected = append(selected, d)
	}

	byName := map[string][]*lockedPackage{}
	for _, pkg := range p.lock.packages {
		byName[pkg.name] = append(byName[pkg.name], pkg)
	}
	for _, list := range byName {
		sort.SliceStable(list, func(i, j int) bool { return list[i].version.Compare(list[j].version) > 0 })
	}
	entries, err := walkDependencies(selected, byName, pep508.NormalizeName(p.py.name))
	if err != nil {
		return nil, &Error{File: p.lockName, Msg: err.Error()}
	}
	out := make([]exportedPackage, len(entries))
	for i, e := range entries {
		out[i] = exportedPackage{pkg: e.pkg, marker: e.dep.marker}
	}
	return out, nil
}

// extraPackageNames is get_extra_package_names: every package needed by
// the chosen extras, following dependencies.
func (p *Project) extraPackageNames(extras []string) map[string]bool {
	seen := map[string]bool{}
	if len(extras) == 0 {
		return seen
	}
	byName := map[string]*lockedPackage{}
	for _, pkg := range p.lock.packages {
		byName[pkg.name] = pkg
	}
	var stack []string
	for _, e := range extras {
		for _, le := range p.lock.extras {
			if le.name == e {
				stack = append(stack, le.packages...)
			}
		}
	}
	for len(stack) > 0 {
		n := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		pkg := byName[n]
		if pkg == nil || seen[pkg.name] {
			continue
		}
		seen[pkg.name] = true
		for _, d := range pkg.requires {
			stack = append(stack, d.name)
		}
	}
	return seen
}

// findPackages is Repository.find_packages on the locked packages.
func (p *Project) findPackages(d *dependency) []*lockedPackage {
	var found, pre []*lockedPackage
	for _, pkg := range p.lock.packages {
		if pkg.name != d.name || !d.constraint.Allows(pkg.version) {
			continue
		}
		if pkg.version.IsUnstable() && !d.allowPre && !pkg.isDirect() {
			pre = append(pre, pkg)
			continue
		}
		found = append(found, pkg)
	}
	if len(found) == 0 {
		return pre
	}
	return found
}

type visitKey struct {
	dep    *dependency
	marker pep508.Marker
}

func walkDependencies(deps []*dependency, byName map[string][]*lockedPackage, root string) ([]*walkEntry, error) {
	var entries []*walkEntry
	index := map[string]*walkEntry{}
	var visited []visitKey
	isVisited := func(d *dependency) bool {
		for _, v := range visited {
			if v.dep.equal(d) && pep508.Equal(v.marker, d.marker) {
				return true
			}
		}
		return false
	}
	queue := append([]*dependency(nil), deps...)
	for len(queue) > 0 {
		req := queue[0]
		queue = queue[1:]
		if isVisited(req) || req.name == root {
			continue
		}
		visited = append(visited, visitKey{req, req.marker})

		pkg, err := lockedPackageFor(req, byName, index)
		if err != nil {
			return nil, err
		}
		if pkg == nil {
			return nil, fmt.Errorf("Dependency walk failed at %s", req)
		}
		if len(req.features) > 0 {
			pkg = pkg.withFeatures(req.features)
		}
		// the dependency is rebuilt from the locked package to keep its
		// metadata, with the requirement's marker and constraint
		reqd := toDependency(pkg)
		reqd.setMarker(pep508.Intersect(reqd.marker, req.marker))
		reqd.constraint = req.constraint

		for _, require := range pkg.requires {
			if require.optional && !inFeatures(pkg, require) {
				continue
			}
			base := pep508.WithoutExtras(pep508.Intersect(require.marker, reqd.marker))
			if base.IsEmpty() {
				continue
			}
			var pys []pep508.VersionConstraint
			for _, c := range byName[require.name] {
				pys = append(pys, c.pyConstr)
			}
			for _, region := range pep508.RegionMarkers(pys) {
				m := pep508.Intersect(region, base)
				if m.IsEmpty() {
					continue
				}
				r2 := require.clone()
				r2.setMarker(m)
				queue = append(queue, r2)
			}
		}

		k := pkg.key()
		if e, ok := index[k]; ok {
			e.dep.setMarker(pep508.Union(e.dep.marker, reqd.marker))
		} else {
			e := &walkEntry{pkg: pkg, dep: reqd}
			index[k] = e
			entries = append(entries, e)
		}
	}
	return entries, nil
}

// inFeatures reports whether an optional requirement is pulled in by one
// of the package's activated extras.
func inFeatures(pkg *lockedPackage, require *dependency) bool {
	for _, f := range pkg.features {
		for _, d := range pkg.extras[f] {
			if d.equal(require) {
				return true
			}
		}
	}
	return false
}

// lockedPackageFor is get_locked_package: the locked package satisfying a
// requirement, preferring one already chosen for overlapping markers.
func lockedPackageFor(d *dependency, byName map[string][]*lockedPackage, decided map[string]*walkEntry) (*lockedPackage, error) {
	candidates := byName[d.name]
	var overlapping []*lockedPackage
	for _, pkg := range candidates {
		if old, ok := decided[pkg.key()]; ok && !pep508.Intersect(old.dep.marker, d.marker).IsEmpty() {
			overlapping = append(overlapping, pkg)
		}
	}
	if len(overlapping) > 1 {
		return nil, nil
	}
	var compatible []*lockedPackage
	for _, pkg := range candidates {
		if pkg.pyConstr.AllowsAll(d.pyConstr) && d.constraint.Allows(pkg.version) &&
			(d.sourceType == "" || d.sameSourceAs(pkg)) {
			compatible = append(compatible, pkg)
		}
	}
	if len(overlapping) > 0 {
		var filtered []*lockedPackage
		for _, pkg := range compatible {
			if pkg == overlapping[0] {
				filtered = append(filtered, pkg)
			}
		}
		if len(filtered) == 0 {
			var names []string
			for _, c := range compatible {
				names = append(names, fmt.Sprintf("Package('%s', '%s')", c.prettyName, c.version.Text()))
			}
			return nil, fmt.Errorf("The `%s` package has the following compatible candidates `[%s]`;  but, the exporter dependency walker previously elected `Package('%s', '%s')` which is not compatible with the dependency `%s`. Please contribute to `poetry-plugin-export` to solve this problem.",
				d.name, strings.Join(names, ", "), overlapping[0].prettyName, overlapping[0].version.Text(), d)
		}
		compatible = filtered
	}
	if len(compatible) == 0 {
		return nil, nil
	}
	return compatible[0], nil
}

// toDependency is Package.to_dependency: the package as a requirement,
// restricted to its python versions.
func toDependency(pkg *lockedPackage) *dependency {
	d := newDependency(pkg.name, pkg.version, pkg.features)
	if pkg.isDirect() {
		d.sourceType, d.sourceURL, d.sourceRef, d.resolvedRef, d.subdir = pkg.sourceType, pkg.sourceURL, pkg.sourceRef, pkg.resolvedRef, pkg.subdir
		d.develop = pkg.develop
	}
	if !pkg.marker.IsAny() {
		d.setMarker(pkg.marker)
	}
	if !pkg.pyConstr.IsAny() {
		_ = d.setPythonVersions(pkg.pyVersions)
	}
	return d
}
