package poetry

import (
	"fmt"
	"strings"

	"github.com/xdockerfile/xdockerfile/pep508"
)

const mainGroup = "main"

// depGroup is a dependency group of the project.
type depGroup struct {
	name     string // normalised
	pretty   string
	optional bool
	deps     []*dependency
	includes []string // normalised names of included groups
}

// Source is a [[tool.poetry.source]] entry.
type Source struct {
	Name     string
	URL      string
	Priority string // "primary", "supplemental" or "explicit"
}

type extra struct {
	name string // normalised
	deps []*dependency
}

// pyproject is what the export needs from pyproject.toml.
type pyproject struct {
	name       string
	python     string
	pythonC    pep508.VersionConstraint
	groups     []*depGroup
	extras     []extra
	sources    []Source
	doc        *table
	sourcesErr error
}

func (p *pyproject) group(name string) *depGroup {
	for _, g := range p.groups {
		if g.name == name {
			return g
		}
	}
	return nil
}

func (p *pyproject) addGroup(name string) *depGroup {
	n := pep508.NormalizeName(name)
	if g := p.group(n); g != nil {
		return g
	}
	g := &depGroup{name: n, pretty: name}
	p.groups = append(p.groups, g)
	return g
}

func (p *pyproject) hasExtra(name string) bool {
	for _, e := range p.extras {
		if e.name == name {
			return true
		}
	}
	return false
}

// dependencies returns a group's dependencies, followed by those of the
// groups it includes.
func (p *pyproject) dependencies(g *depGroup, seen map[string]bool) []*dependency {
	if seen[g.name] {
		return nil
	}
	seen[g.name] = true
	deps := append([]*dependency(nil), g.deps...)
	for _, inc := range g.includes {
		if ig := p.group(inc); ig != nil {
			deps = append(deps, p.dependencies(ig, seen)...)
		}
	}
	return deps
}

func parsePyproject(data []byte, name string, dir location) (*pyproject, error) {
	doc, err := parseTOML(data)
	if err != nil {
		return nil, fileError(name, err)
	}
	p := &pyproject{doc: doc}
	if err := p.configure(dir); err != nil {
		return nil, fileError(name, err)
	}
	return p, nil
}

func (p *pyproject) configure(dir location) error {
	project := p.doc.table("project")
	tool := p.doc.table("tool").table("poetry")
	if project == nil && tool == nil {
		return &specError{msg: "neither [project] nor [tool.poetry] found"}
	}
	p.name, _ = project.str("name")
	if p.name == "" {
		p.name, _ = tool.str("name")
	}
	p.python = "*"
	if rp, ok := project.str("requires-python"); ok {
		p.python = rp
	}
	pep621 := len(project.array("dependencies")) > 0 || project.table("optional-dependencies") != nil
	if pep621 {
		if err := p.configurePEP621(project, tool, dir); err != nil {
			return err
		}
	} else if err := p.configureClassic(tool, dir); err != nil {
		return err
	}
	c, err := pep508.ProjectPythonConstraint(p.python)
	if err == nil {
		err = pep508.CheckPythonMarker(c)
	}
	if err != nil {
		return &specError{line: pythonLine(project, tool), msg: fmt.Sprintf("invalid python constraint %q: %v", p.python, err)}
	}
	p.pythonC = c

	groupsT := tool.table("group")
	for _, gname := range groupsT.keyList() {
		gt := groupsT.table(gname)
		g := p.addGroup(gname)
		g.optional = gt.boolean("optional")
		if err := p.addDependencies(g, gt.table("dependencies"), dir, false); err != nil {
			return err
		}
	}
	for _, gname := range groupsT.keyList() {
		gt := groupsT.table(gname)
		for _, inc := range gt.array("include-groups") {
			s, _ := inc.(string)
			if p.group(pep508.NormalizeName(s)) == nil && p.doc.table("dependency-groups").table(s) == nil {
				return &specError{line: gt.lineOf("include-groups"), msg: fmt.Sprintf("Group '%s' includes group '%s' which is not defined.", gname, s)}
			}
			g := p.group(pep508.NormalizeName(gname))
			g.includes = append(g.includes, pep508.NormalizeName(s))
		}
	}
	if dev := tool.table("dev-dependencies"); dev != nil {
		if err := p.addDependencies(p.addGroup("dev"), dev, dir, false); err != nil {
			return err
		}
	}
	if dg := p.doc.table("dependency-groups"); dg != nil {
		for _, gname := range dg.keyList() {
			g := p.addGroup(gname)
			for _, item := range dg.array(gname) {
				switch x := item.(type) {
				case string:
					d, err := parseRequirement(x, dir)
					if err != nil {
						return &specError{line: dg.lineOf(gname), msg: err.Error()}
					}
					g.deps = append(g.deps, d)
				case *table:
					if inc, ok := x.str("include-group"); ok {
						g.includes = append(g.includes, pep508.NormalizeName(inc))
					}
				}
			}
		}
	}
	p.sourcesErr = p.configureSources(tool)
	return nil
}

func pythonLine(project, tool *table) int {
	if l := project.lineOf("requires-python"); l > 0 {
		return l
	}
	return tool.table("dependencies").lineOf("python")
}

func (p *pyproject) configureClassic(tool *table, dir location) error {
	deps := tool.table("dependencies")
	if deps != nil {
		if err := p.addDependencies(p.addGroup(mainGroup), deps, dir, true); err != nil {
			return err
		}
	}
	extras := tool.table("extras")
	main := p.group(mainGroup)
	for _, en := range extras.keyList() {
		e := extra{name: pep508.NormalizeName(en)}
		for _, r := range extras.array(en) {
			s, _ := r.(string)
			rn := s
			if d, err := parseRequirement(s, dir); err == nil {
				rn = d.name
			}
			if main == nil {
				continue
			}
			for _, d := range main.deps {
				if d.name == pep508.NormalizeName(rn) {
					d.inExtras = append(d.inExtras, e.name)
					e.deps = append(e.deps, d)
				}
			}
		}
		p.extras = append(p.extras, e)
	}
	return nil
}

func (p *pyproject) configurePEP621(project, tool *table, dir location) error {
	main := p.addGroup(mainGroup)
	for _, r := range project.array("dependencies") {
		s, _ := r.(string)
		d, err := parseRequirement(s, dir)
		if err != nil {
			return &specError{line: project.lineOf("dependencies"), msg: err.Error()}
		}
		main.deps = append(main.deps, d)
	}
	opt := project.table("optional-dependencies")
	for _, en := range opt.keyList() {
		e := extra{name: pep508.NormalizeName(en)}
		for _, r := range opt.array(en) {
			s, _ := r.(string)
			d, err := parseRequirement(s, dir)
			if err != nil {
				return &specError{line: opt.lineOf(en), msg: err.Error()}
			}
			d.optional = true
			d.inExtras = []string{e.name}
			e.deps = append(e.deps, d)
			main.deps = append(main.deps, d)
		}
		p.extras = append(p.extras, e)
	}
	// [tool.poetry.dependencies] next to [project] only enriches the
	// project's dependencies (sources, develop mode, python restriction),
	// unless the project declares its dependencies dynamic.
	deps := tool.table("dependencies")
	if deps == nil {
		return nil
	}
	dynamic := false
	for _, x := range project.array("dynamic") {
		dynamic = dynamic || x == "dependencies"
	}
	if dynamic {
		return p.addDependencies(main, deps, dir, true)
	}
	for _, name := range deps.keyList() {
		if strings.EqualFold(name, "python") {
			if s, ok := deps.str(name); ok {
				p.python = s
			}
			continue
		}
		specs := []any{deps.vals[name]}
		if arr, ok := deps.vals[name].([]any); ok {
			specs = arr
		}
		for _, s := range specs {
			pd, err := createDependency(name, s, deps.lineOf(name), dir)
			if err != nil {
				return err
			}
			for _, d := range main.deps {
				if d.name != pd.name {
					continue
				}
				if pd.sourceName != "" {
					d.sourceName = pd.sourceName
				}
				if pd.develop {
					d.develop = true
				}
				if pd.isDirect() && !d.isDirect() {
					d.sourceType, d.sourceURL, d.sourceRef, d.subdir = pd.sourceType, pd.sourceURL, pd.sourceRef, pd.subdir
				}
			}
		}
	}
	return nil
}

// addDependencies reads a dependency table into g; in the main group the
// "python" entry is the project's python constraint.
func (p *pyproject) addDependencies(g *depGroup, deps *table, dir location, isMain bool) error {
	for _, name := range deps.keyList() {
		v := deps.vals[name]
		specs := []any{v}
		if arr, ok := v.([]any); ok {
			specs = arr
		}
		for _, s := range specs {
			if strings.EqualFold(name, "python") {
				if str, ok := s.(string); ok && isMain {
					p.python = str
				}
				continue
			}
			d, err := createDependency(name, s, deps.lineOf(name), dir)
			if err != nil {
				return err
			}
			g.deps = append(g.deps, d)
		}
	}
	return nil
}

func (p *pyproject) configureSources(tool *table) error {
	for _, v := range tool.array("source") {
		st, ok := v.(*table)
		if !ok {
			continue
		}
		s := Source{}
		s.Name, _ = st.str("name")
		s.URL, _ = st.str("url")
		prio, ok := st.str("priority")
		switch {
		case ok:
			prio = strings.ToLower(prio)
			if prio != "primary" && prio != "supplemental" && prio != "explicit" {
				return &specError{line: st.lineOf("priority"), msg: fmt.Sprintf("invalid priority %q for source %s: accepted values are 'primary', 'supplemental', 'explicit'", prio, s.Name)}
			}
		case st.boolean("default"):
			// Poetry 1.x: the default source replaces PyPI and comes first.
			prio = "default"
		case st.boolean("secondary"):
			prio = "supplemental"
		default:
			prio = "primary"
		}
		s.Priority = prio
		p.sources = append(p.sources, s)
	}
	return nil
}
