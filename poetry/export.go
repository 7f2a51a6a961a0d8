package poetry

import (
	"fmt"
	"net/url"
	"os"
	"regexp"
	"sort"
	"strings"

	"github.com/xdockerfile/xdockerfile/pep508"
)

// Options select what to export, as the flags of `poetry export`.
type Options struct {
	Only, With, Without []string // group names
	AllGroups           bool
	Extras              []string
	AllExtras           bool

	WithoutHashes, WithoutURLs, WithCredentials bool

	// Getenv looks up credentials (POETRY_HTTP_BASIC_<SOURCE>_USERNAME /
	// _PASSWORD) for WithCredentials; nil means os.Getenv.
	Getenv func(string) string
}

// Export is the result of an export.
type Export struct {
	Indexes      []Index       // in output order
	Requirements []Requirement // sorted as printed

	// header is printed before the requirements when the locked packages
	// come from a package source other than PyPI (poetry prints it even
	// when no index line matches).
	header      bool
	indexLines  string
	requirement []string
}

// Index is a package index line of the output.
type Index struct {
	Name    string // the [[tool.poetry.source]] name ("" for PyPI)
	URL     string // with credentials when requested
	Default bool   // printed as --index-url (else --extra-index-url, with --trusted-host for http)
}

// Requirement is one requirement of the output.
type Requirement struct {
	Name, Version string // PEP 503-normalised name
	// Line is the requirement as printed, without hashes ("name==1.0 ;
	// markers", "name @ git+https://...", "-e file:///...").
	Line    string
	Markers string   // "" when none
	Hashes  []string // "sha256:…", sorted
	Files   []File   // the locked artifacts with a usable hash, as locked
	Source  string   // source name the package came from, "" for PyPI / direct references
	Kind    string   // "index", "vcs", "url", "file", "directory"
	URL     string   // of a "url" requirement: the locked archive
	Path    string   // of a "file" or "directory" one: as locked, relative to the project
}

// File is one artifact of a locked package: a wheel or an sdist.
type File struct {
	Name string // "alpha-1.0-py3-none-any.whl"
	Hash string // "sha256:…"
	URL  string // where the lock says it is; usually empty (found on the index)
}

// String is exactly what poetry export prints.
func (e *Export) String() string {
	content := strings.Join(e.requirement, "\n") + "\n"
	if e.header {
		content = e.indexLines + "\n" + content
	}
	return content
}

func (r Requirement) printed() string {
	var b strings.Builder
	b.WriteString(r.Line)
	for _, h := range r.Hashes {
		b.WriteString(" \\\n    --hash=")
		b.WriteString(h)
	}
	return b.String()
}

// usageError is an error about the options, not the files.
func usageError(format string, args ...any) error {
	return &Error{Msg: fmt.Sprintf(format, args...)}
}

// Export computes the requirements for the options, as `poetry export -f
// requirements.txt` does.
func (p *Project) Export(opt Options) (e *Export, err error) {
	pep508.Session(markerBudget, func() { e, err = p.export(opt) })
	return e, err
}

func (p *Project) export(opt Options) (e *Export, err error) {
	defer func() {
		// a marker the simplifier cannot handle must not take a build down
		if r := recover(); r != nil {
			e, err = nil, &Error{File: p.lockName, Msg: fmt.Sprintf("cannot compute the requirements: %v", r)}
		}
	}()
	if len(opt.Extras) > 0 && opt.AllExtras {
		return nil, usageError("You cannot specify explicit `--extras` while exporting using `--all-extras`.")
	}
	if opt.AllGroups && (len(opt.With) > 0 || len(opt.Without) > 0 || len(opt.Only) > 0) {
		return nil, usageError("You cannot specify explicit `--with`, `--without`, or `--only` while exporting using `--all-groups`.")
	}
	extras, err := p.selectExtras(opt)
	if err != nil {
		return nil, err
	}
	groups, err := p.selectGroups(opt)
	if err != nil {
		return nil, err
	}
	if err := p.lock.checkVersion(); err != nil {
		return nil, err
	}
	if p.py.sourcesErr != nil {
		return nil, fileError(p.pyName, p.py.sourcesErr)
	}
	pep508.ResetCaches()
	pythonMarker := pep508.PythonMarker(p.py.pythonC)
	var pkgs []exportedPackage
	if p.lock.groupsAndMarkers() {
		pkgs, err = p.packagesByGroups(groups, extras, pythonMarker)
	} else {
		pkgs, err = p.walk(groups, extras, pythonMarker)
	}
	if err != nil {
		return nil, err
	}
	return p.render(pkgs, opt)
}

func (p *Project) selectExtras(opt Options) ([]string, error) {
	if opt.AllExtras {
		return p.Extras(), nil
	}
	seen := map[string]bool{}
	var extras, invalid []string
	for _, e := range opt.Extras {
		for _, x := range strings.Fields(e) {
			n := pep508.NormalizeName(x)
			if seen[n] {
				continue
			}
			seen[n] = true
			extras = append(extras, n)
			if !p.py.hasExtra(n) {
				invalid = append(invalid, n)
			}
		}
	}
	if len(invalid) > 0 {
		sort.Strings(invalid)
		return nil, &Error{File: p.pyName, Msg: fmt.Sprintf("Extra [%s] is not specified.", strings.Join(invalid, ", "))}
	}
	return extras, nil
}

func splitGroups(vals []string) []string {
	var out []string
	seen := map[string]bool{}
	for _, v := range vals {
		for _, g := range strings.Split(v, ",") {
			g = strings.TrimSpace(g)
			if !seen[g] {
				seen[g] = true
				out = append(out, g)
			}
		}
	}
	return out
}

// selectGroups is GroupCommand.activated_groups with the export command's
// default of the main group only.
func (p *Project) selectGroups(opt Options) (map[string]bool, error) {
	keys := map[string][]string{
		"only":    splitGroups(opt.Only),
		"with":    splitGroups(opt.With),
		"without": splitGroups(opt.Without),
	}
	if opt.AllGroups {
		for _, g := range p.py.groups {
			keys["with"] = append(keys["with"], g.name)
		}
	}
	invalid := map[string][]string{}
	for _, k := range []string{"only", "with", "without"} {
		for _, g := range keys[k] {
			if p.py.group(pep508.NormalizeName(g)) == nil {
				invalid[g] = append(invalid[g], k)
			}
		}
	}
	if len(invalid) > 0 {
		var names []string
		for g := range invalid {
			names = append(names, g)
		}
		sort.Strings(names)
		var parts []string
		for _, g := range names {
			opts := invalid[g]
			sort.Strings(opts)
			for i, o := range opts {
				opts[i] = "--" + o
			}
			parts = append(parts, fmt.Sprintf("%s (via %s)", g, strings.Join(opts, ", ")))
		}
		return nil, &Error{File: p.pyName, Msg: "Group(s) not found: " + strings.Join(parts, ", ")}
	}
	norm := func(gs []string) map[string]bool {
		m := map[string]bool{}
		for _, g := range gs {
			m[pep508.NormalizeName(g)] = true
		}
		return m
	}
	if only := norm(keys["only"]); len(only) > 0 {
		return only, nil
	}
	groups := norm(keys["with"])
	groups[mainGroup] = true
	for g := range norm(keys["without"]) {
		delete(groups, g)
	}
	return groups, nil
}

// exportedPackage is a locked package with the dependency it is exported
// through (whose marker is printed).
type exportedPackage struct {
	pkg    *lockedPackage
	marker pep508.Marker
}

// packagesByGroups is get_project_dependency_packages2: lock 2.1 files
// record for every package the groups needing it and the markers per group.
func (p *Project) packagesByGroups(groups map[string]bool, extras []string, pythonMarker pep508.Marker) ([]exportedPackage, error) {
	var out []exportedPackage
	for _, pkg := range p.lock.packages {
		var markers []pep508.Marker
		for _, g := range pkg.groups {
			if groups[g] {
				markers = append(markers, pkg.groupMarkers[g])
			}
		}
		if len(markers) == 0 {
			continue
		}
		marker := pep508.UnionAll(markers...)
		marker = pep508.ResolveExtras(marker, extras)
		if marker.IsEmpty() {
			continue
		}
		marker = pep508.Intersect(pythonMarker, marker)
		out = append(out, exportedPackage{pkg: pkg, marker: dependencyMarker(pkg, marker)})
	}
	return out, nil
}

// dependencyMarker is the marker of Package.to_dependency(): the package's
// marker restricted to its python versions.
func dependencyMarker(pkg *lockedPackage, marker pep508.Marker) pep508.Marker {
	if pkg.pyConstr.IsAny() {
		return marker
	}
	pm := pep508.MustParse(pep508.CreateNestedMarker("python_version", pkg.pyConstr))
	return pep508.Intersect(marker, pm)
}

var allowedHashes = map[string]bool{"sha256": true, "sha384": true, "sha512": true}

func (p *Project) render(pkgs []exportedPackage, opt Options) (*Export, error) {
	e := &Export{}
	indexes := map[string]bool{}
	lines := map[string]Requirement{}
	for _, ep := range pkgs {
		pkg := ep.pkg
		r := Requirement{Name: pkg.name, Version: pkg.version.Text()}
		markers := ""
		if !ep.marker.IsAny() {
			m := pep508.WithoutExtras(ep.marker)
			if !m.IsEmpty() && !m.IsAny() {
				markers = m.String()
			}
		}
		r.Markers = markers
		switch pkg.sourceType {
		case "git":
			r.Kind = "vcs"
			r.Line = vcsRequirement(pkg) + markerSuffix(markers)
		case "url":
			r.Kind, r.URL = "url", pkg.sourceURL
			r.Line = pkg.completeName() + " @ " + pkg.sourceURL
			if pkg.subdir != "" {
				r.Line += "#subdirectory=" + pkg.subdir
			}
			r.Line += markerSuffix(markers)
		case "file", "directory":
			r.Kind, r.Path = pkg.sourceType, pkg.sourcePath
			uri := fileURI(pkg.sourceURL)
			if pkg.develop {
				r.Line = "-e " + uri
			} else {
				r.Line = pkg.completeName() + " @ " + uri
			}
			if markers != "" {
				r.Line += " ; " + markers
			}
		default:
			r.Kind = "index"
			r.Line = pkg.completeName() + "==" + pkg.version.Text()
			if markers != "" {
				r.Line += " ; " + markers
			}
			if pkg.sourceURL != "" {
				u := strings.TrimRight(pkg.sourceURL, "/")
				indexes[u] = true
				r.Source = p.sourceName(u, pkg.sourceRef)
			}
		}
		if len(pkg.files) > 0 && !opt.WithoutHashes {
			for _, f := range pkg.files {
				h, algo := f.Hash, "sha256"
				if a, v, ok := strings.Cut(h, ":"); ok {
					if !allowedHashes[a] {
						continue
					}
					algo, h = a, v
				}
				r.Hashes = append(r.Hashes, algo+":"+h)
				r.Files = append(r.Files, File{Name: f.Name, Hash: algo + ":" + h, URL: f.URL})
			}
			sort.Strings(r.Hashes)
		}
		lines[r.printed()] = r
	}
	var printed []string
	for l := range lines {
		printed = append(printed, l)
	}
	sort.Strings(printed)
	for _, l := range printed {
		e.Requirements = append(e.Requirements, lines[l])
	}
	e.requirement = printed
	if len(indexes) > 0 && !opt.WithoutURLs {
		e.header = true
		e.Indexes = p.indexes(indexes, opt)
		var b strings.Builder
		for _, ix := range e.Indexes {
			if rest, ok := strings.CutPrefix(ix.URL, "http://"); ok {
				// urlsplit's netloc: credentials included
				netloc, _, _ := strings.Cut(rest, "/")
				netloc, _, _ = strings.Cut(netloc, "?")
				netloc, _, _ = strings.Cut(netloc, "#")
				fmt.Fprintf(&b, "--trusted-host %s\n", netloc)
			}
			if ix.Default {
				fmt.Fprintf(&b, "--index-url %s\n", ix.URL)
			} else {
				fmt.Fprintf(&b, "--extra-index-url %s\n", ix.URL)
			}
		}
		e.indexLines = b.String()
	}
	return e, nil
}

func markerSuffix(markers string) string {
	if markers == "" {
		return ""
	}
	return " ; " + markers
}

// vcsRequirement is VCSDependency.base_pep_508_name_resolved.
func vcsRequirement(pkg *lockedPackage) string {
	req := pkg.completeName()
	src := pkg.sourceURL
	if hasScheme(src) {
		req += " @ git+" + src
	} else {
		req += " @ git+ssh://" + scpToURL(src)
	}
	if pkg.resolvedRef != "" {
		req += "@" + pkg.resolvedRef
	} else if pkg.sourceRef != "" {
		req += "@" + pkg.sourceRef
	}
	if pkg.subdir != "" {
		req += "#subdirectory=" + pkg.subdir
	}
	return req
}

var schemeRE = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9+.-]*://`)

func hasScheme(s string) bool { return schemeRE.MatchString(s) }

// scpToURL turns "git@host:org/repo.git" into "git@host/org/repo.git".
func scpToURL(s string) string {
	if at := strings.Index(s, ":"); at >= 0 {
		return s[:at] + "/" + strings.TrimPrefix(s[at+1:], "/")
	}
	return s
}

// fileURI is pathlib's Path.as_uri() for an absolute path.
func fileURI(p string) string {
	var b strings.Builder
	b.WriteString("file://")
	for i := 0; i < len(p); i++ {
		c := p[i]
		if c == '/' || c == '_' || c == '.' || c == '-' || c == '~' ||
			(c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') {
			b.WriteByte(c)
		} else {
			fmt.Fprintf(&b, "%%%02X", c)
		}
	}
	return b.String()
}

// FileURI is the file:// URI poetry prints for a local path.
func FileURI(path string) string { return fileURI(path) }

func (p *Project) sourceName(u, ref string) string {
	for _, s := range p.py.sources {
		if strings.TrimRight(s.URL, "/") == u {
			return s.Name
		}
	}
	return ref
}

type poolRepo struct {
	src      Source
	priority int // 0 primary, 1 supplemental, 2 explicit
}

// pool orders the project's sources as Poetry's repository pool does:
// primary, then supplemental, then explicit sources, each in declaration
// order; PyPI is added as a primary source when no primary one is given.
func (p *Project) pool() []poolRepo {
	var repos []poolRepo
	for _, s := range p.py.sources {
		if s.Priority == "default" {
			repos = append(repos, poolRepo{src: s})
		}
	}
	explicitPyPI := false
	for _, s := range p.py.sources {
		prio := 0
		switch s.Priority {
		case "default":
			continue
		case "supplemental":
			prio = 1
		case "explicit":
			prio = 2
		}
		if strings.EqualFold(s.Name, "pypi") {
			explicitPyPI = true
			if s.URL == "" {
				s.URL = "https://pypi.org/simple"
			}
		}
		repos = append(repos, poolRepo{src: s, priority: prio})
	}
	if !explicitPyPI {
		hasPrimary := false
		for _, r := range repos {
			hasPrimary = hasPrimary || r.priority == 0
		}
		if !hasPrimary {
			repos = append(repos, poolRepo{src: Source{Name: "PyPI", URL: "https://pypi.org/simple", Priority: "primary"}})
		}
	}
	sort.SliceStable(repos, func(i, j int) bool { return repos[i].priority < repos[j].priority })
	return repos
}

// SearchIndexes lists the package sources Poetry searches for packages not
// locked from a source of their own (and pip for build dependencies):
// primary, then supplemental, explicit ones left out; PyPI has no name.
func (p *Project) SearchIndexes() []Index {
	var out []Index
	for _, r := range p.pool() {
		if r.priority < 2 {
			ix := Index{Name: r.src.Name, URL: strings.TrimRight(r.src.URL, "/"), Default: len(out) == 0}
			if strings.EqualFold(r.src.Name, "pypi") {
				ix.Name = ""
			}
			out = append(out, ix)
		}
	}
	return out
}

func (p *Project) indexes(used map[string]bool, opt Options) []Index {
	repos := p.pool()
	hasPyPI := false
	for _, r := range repos {
		hasPyPI = hasPyPI || strings.EqualFold(r.src.Name, "pypi")
	}
	var first *poolRepo
	for i := range repos {
		if repos[i].priority < 2 {
			first = &repos[i]
			break
		}
	}
	var out []Index
	for i := range repos {
		r := &repos[i]
		u := strings.TrimRight(r.src.URL, "/")
		if !used[u] {
			continue
		}
		ix := Index{Name: r.src.Name, URL: u, Default: !hasPyPI && r == first}
		if strings.EqualFold(r.src.Name, "pypi") {
			ix.Name = ""
		}
		if opt.WithCredentials {
			ix.URL = authenticatedURL(u, r.src.Name, opt.Getenv)
		}
		out = append(out, ix)
	}
	return out
}

var envNameRE = regexp.MustCompile(`-`)

// authenticatedURL adds the http-basic credentials Poetry would find in
// its configuration (here: POETRY_HTTP_BASIC_<NAME>_USERNAME/_PASSWORD).
func authenticatedURL(raw, source string, getenv func(string) string) string {
	if getenv == nil {
		getenv = os.Getenv
	}
	key := "POETRY_HTTP_BASIC_" + strings.ToUpper(envNameRE.ReplaceAllString(source, "_"))
	user, hasUser := lookup(getenv, key+"_USERNAME")
	pass, hasPass := lookup(getenv, key+"_PASSWORD")
	if !hasUser || !hasPass {
		return raw
	}
	u, err := url.Parse(raw)
	if err != nil {
		return raw
	}
	return fmt.Sprintf("%s://%s:%s@%s%s", u.Scheme, pyQuote(user), pyQuote(pass), u.Host, u.EscapedPath())
}

func lookup(getenv func(string) string, k string) (string, bool) {
	v := getenv(k)
	return v, v != ""
}

// pyQuote is urllib.parse.quote(s, safe="").
func pyQuote(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c == '_' || c == '.' || c == '-' || c == '~' ||
			(c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') {
			b.WriteByte(c)
		} else {
			fmt.Fprintf(&b, "%%%02X", c)
		}
	}
	return b.String()
}
