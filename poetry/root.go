package poetry

// Root is the project itself: the package `poetry install` installs after
// its dependencies (and `--only-root` alone).
type Root struct {
	Name    string // as pyproject.toml spells it; "" when it has none
	Version string // "" when not static
	// PackageMode is false under `package-mode = false`: the project is
	// only a set of dependencies, with nothing of its own to install.
	PackageMode     bool
	PackageModeLine int // the line of package-mode, 0 when not set
	// BuildBackend is [build-system] build-backend; BuildSystem tells
	// whether the table is there at all (without it, only a setup.py says
	// how to build the project).
	BuildSystem  bool
	BuildBackend string
}

// Root describes the project's own package.
func (p *Project) Root() Root {
	doc := p.py.doc
	project, tool := doc.table("project"), doc.table("tool").table("poetry")
	r := Root{Name: p.py.name, PackageMode: true}
	if v, ok := project.str("version"); ok {
		r.Version = v
	} else if v, ok := tool.str("version"); ok {
		r.Version = v
	}
	if v, ok := tool.get("package-mode"); ok {
		b, isBool := v.(bool)
		r.PackageMode = !isBool || b
		r.PackageModeLine = tool.lineOf("package-mode")
	}
	if bs := doc.table("build-system"); bs != nil {
		r.BuildSystem = true
		r.BuildBackend, _ = bs.str("build-backend")
	}
	return r
}
