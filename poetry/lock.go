package poetry

import (
	"fmt"
	"path"
	"strings"

	"github.com/xdockerfile/xdockerfile/pep508"
)

// lockedPackage is one [[package]] of poetry.lock (poetry-core's Package).
type lockedPackage struct {
	line       int
	name       string
	prettyName string
	version    *pep508.Version
	optional   bool
	pyVersions string
	pyConstr   pep508.VersionConstraint
	files      []File // as written, hashes "sha256:…"

	sourceType  string // "", "legacy", "git", "directory", "file", "url"
	sourceURL   string // absolute for directory/file
	sourcePath  string // directory/file as locked, relative to the project
	sourceRef   string
	resolvedRef string
	subdir      string
	develop     bool

	info     *table // kept to read dependencies lazily (old locks only)
	requires []*dependency
	extras   map[string][]*dependency

	groups       []string                 // lock 2.1
	groupMarkers map[string]pep508.Marker // lock 2.1

	features []string
	marker   pep508.Marker
}

func (p *lockedPackage) completeName() string {
	if len(p.features) == 0 {
		return p.name
	}
	return p.name + "[" + strings.Join(p.features, ",") + "]"
}

func (p *lockedPackage) isDirect() bool {
	switch p.sourceType {
	case "git", "directory", "file", "url":
		return true
	}
	return false
}

// key identifies a package as Package.__eq__ does (name with extras,
// version and source).
func (p *lockedPackage) key() string {
	return strings.Join([]string{p.completeName(), p.version.EqualityKey(), p.sourceType, p.sourceURL, p.subdir, p.resolvedRef, p.sourceRef}, "\x00")
}

func (p *lockedPackage) withFeatures(features []string) *lockedPackage {
	c := *p
	c.features = normalizeSet(features)
	return &c
}

type lockFile struct {
	name           string
	hashLine       int // line of content-hash (or of [metadata]) for errors
	versionLine    int
	version        string // lock-version, "" when missing
	hasMetadata    bool
	contentHash    string
	pythonVersions string
	packages       []*lockedPackage
	extras         []lockExtra
}

type lockExtra struct {
	name     string
	packages []string
}

func (l *lockFile) groupsAndMarkers() bool {
	v, err := pep508.ParseVersion(l.version)
	return err == nil && v.Compare(mustV("2.1")) >= 0
}

func mustV(s string) *pep508.Version {
	v, err := pep508.ParseVersion(s)
	if err != nil {
		panic(err)
	}
	return v
}

// checkVersion reproduces the Locker's refusal of lock files it cannot
// read.
func (l *lockFile) checkVersion() error {
	if !l.hasMetadata {
		return &Error{File: l.name, Msg: "The lock file does not have a metadata entry.\nRegenerate the lock file with the `poetry lock` command."}
	}
	if l.version == "" {
		return &Error{File: l.name, Line: l.versionLine, Msg: "The lock file is not compatible with the current version of Poetry.\nRegenerate the lock file with the `poetry lock` command."}
	}
	v, err := pep508.ParseVersion(l.version)
	if err != nil || v.Compare(mustV("1")) < 0 || v.Compare(mustV("3")) >= 0 {
		return &Error{File: l.name, Line: l.versionLine, Msg: "The lock file is not compatible with the current version of Poetry.\nUpgrade Poetry to be able to read the lock file or, alternatively, regenerate the lock file with the `poetry lock` command."}
	}
	return nil
}

func parseLock(data []byte, name string, dir location) (*lockFile, error) {
	doc, err := parseTOML(data)
	if err != nil {
		return nil, fileError(name, err)
	}
	l := &lockFile{name: name}
	meta := doc.table("metadata")
	if meta != nil {
		l.hasMetadata = true
		l.hashLine = meta.lineOf("content-hash")
		l.versionLine = meta.lineOf("lock-version")
		l.version, _ = meta.str("lock-version")
		l.contentHash, _ = meta.str("content-hash")
		l.pythonVersions, _ = meta.str("python-versions")
	}
	if ex := doc.table("extras"); ex != nil {
		for _, k := range ex.keyList() {
			e := lockExtra{name: pep508.NormalizeName(k)}
			for _, v := range ex.array(k) {
				if s, ok := v.(string); ok {
					e.packages = append(e.packages, pep508.NormalizeName(s))
				}
			}
			l.extras = append(l.extras, e)
		}
	}
	metaFiles := meta.table("files")
	for _, v := range doc.array("package") {
		info, ok := v.(*table)
		if !ok {
			continue
		}
		p, err := parseLockedPackage(info, metaFiles, dir)
		if err != nil {
			return nil, fileError(name, err)
		}
		l.packages = append(l.packages, p)
	}
	return l, nil
}

func parseLockedPackage(info, metaFiles *table, dir location) (*lockedPackage, error) {
	errorf := func(key, format string, args ...any) error {
		return &specError{line: info.lineOf(key), msg: fmt.Sprintf(format, args...)}
	}
	pretty, _ := info.str("name")
	vs, _ := info.str("version")
	ver, err := pep508.ParseVersion(vs)
	if err != nil {
		return nil, errorf("version", "Invalid version '%s' on package %s", vs, pretty)
	}
	p := &lockedPackage{
		line:       info.line,
		name:       pep508.NormalizeName(pretty),
		prettyName: pretty,
		version:    ver,
		optional:   info.boolean("optional"),
		info:       info,
		marker:     pep508.AnyMarker{},
		develop:    info.boolean("develop"),
	}
	if src := info.table("source"); src != nil {
		p.sourceType, _ = src.str("type")
		p.sourceURL, _ = src.str("url")
		p.sourceRef, _ = src.str("reference")
		p.resolvedRef, _ = src.str("resolved_reference")
		p.subdir, _ = src.str("subdirectory")
		if p.sourceType == "directory" || p.sourceType == "file" {
			p.sourcePath = p.sourceURL
			p.sourceURL = dir.abs(p.sourceURL)
		}
	}
	files, hasFiles := info.get("files")
	if !hasFiles && p.sourceType != "git" && p.sourceType != "directory" && p.sourceType != "url" {
		// lock 1.x keeps the files of every package under [metadata.files]
		files, _ = metaFiles.get(pretty)
		if p.sourceType == "file" {
			var kept []any
			for _, f := range asArray(files) {
				if ft, ok := f.(*table); ok {
					if fn, _ := ft.str("file"); fn == path.Base(p.sourceURL) {
						kept = append(kept, f)
					}
				}
			}
			files = kept
		}
	}
	for _, f := range asArray(files) {
		if ft, ok := f.(*table); ok {
			if h, ok := ft.str("hash"); ok {
				name, _ := ft.str("file")
				url, _ := ft.str("url")
				p.files = append(p.files, File{Name: name, Hash: h, URL: url})
			}
		}
	}
	pv, ok := info.str("python-versions")
	if !ok {
		pv = "*"
	}
	c, err := pep508.ParseConstraint(pv)
	if err != nil {
		return nil, errorf("python-versions", "Invalid python versions '%s' on %s (%s)", pv, pretty, vs)
	}
	p.pyVersions, p.pyConstr = pv, c
	for _, g := range info.array("groups") {
		if s, ok := g.(string); ok {
			p.groups = append(p.groups, pep508.NormalizeName(s))
		}
	}
	p.groupMarkers = map[string]pep508.Marker{}
	switch m := mustGet(info, "markers").(type) {
	case nil:
		for _, g := range p.groups {
			p.groupMarkers[g] = pep508.AnyMarker{}
		}
	case string:
		pm, err := pep508.Parse(m)
		if err != nil {
			return nil, errorf("markers", "%v", err)
		}
		for _, g := range p.groups {
			p.groupMarkers[g] = pm
		}
	case *table:
		for _, g := range p.groups {
			p.groupMarkers[g] = pep508.AnyMarker{}
		}
		for _, k := range m.keyList() {
			s, _ := m.str(k)
			pm, err := pep508.Parse(s)
			if err != nil {
				return nil, &specError{line: m.lineOf(k), msg: err.Error()}
			}
			if _, ok := p.groupMarkers[pep508.NormalizeName(k)]; ok {
				p.groupMarkers[pep508.NormalizeName(k)] = pm
			}
		}
	}
	if ms, ok := info.str("marker"); ok {
		// very old locks: one marker for the whole package
		pm, err := pep508.Parse(ms)
		if err != nil {
			return nil, errorf("marker", "%v", err)
		}
		p.marker = pm
	}
	return p, nil
}

func mustGet(t *table, k string) any {
	v, _ := t.get(k)
	return v
}

func asArray(v any) []any {
	a, _ := v.([]any)
	return a
}

// loadDependencies reads [package.dependencies] and [package.extras], which
// only the dependency walk of pre-2.1 locks needs.
func (p *lockedPackage) loadDependencies(lockDir location) error {
	if p.extras != nil {
		return nil
	}
	p.extras = map[string][]*dependency{}
	root := lockDir
	if p.sourceType == "directory" {
		root = lockDir.at(p.sourceURL)
	}
	deps := p.info.table("dependencies")
	for _, name := range deps.keyList() {
		v := deps.vals[name]
		specs := []any{v}
		if arr, ok := v.([]any); ok {
			specs = arr
		}
		for _, s := range specs {
			d, err := createDependency(name, s, deps.lineOf(name), root)
			if err != nil {
				return err
			}
			p.requires = append(p.requires, d)
		}
	}
	ex := p.info.table("extras")
	for _, name := range ex.keyList() {
		n := pep508.NormalizeName(name)
		p.extras[n] = []*dependency{}
		for _, r := range ex.array(name) {
			s, _ := r.(string)
			d, err := parseRequirement(s, lockDir)
			if err != nil {
				d, err = looseRequirement(s)
				if err != nil {
					return &specError{line: ex.lineOf(name), msg: err.Error()}
				}
			}
			p.extras[n] = append(p.extras[n], d)
		}
	}
	return nil
}

// looseRequirement reads the not quite PEP 508 "name[extra] (constraint)"
// entries of old lock files.
func looseRequirement(s string) (*dependency, error) {
	name, rest, _ := strings.Cut(s, " ")
	var extras []string
	if i := strings.Index(name, "["); i >= 0 && strings.HasSuffix(name, "]") {
		extras = strings.Split(name[i+1:len(name)-1], ",")
		name = name[:i]
	}
	rest = strings.Trim(strings.TrimSpace(rest), "()")
	if rest == "" {
		rest = "*"
	}
	c, err := parseDepConstraint(rest)
	if err != nil {
		return nil, err
	}
	return newDependency(name, c, extras), nil
}
