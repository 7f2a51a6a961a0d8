// Package installer is what a POETRY INSTALL step runs inside the image: a
// wheel installer of our own (install.py, standard library Python) and the
// plan it follows, made here from the locked requirement set.
//
// The frontend decides what to install; the image decides how: environment
// markers and wheel tags can only be judged against the image's own
// interpreter, so the plan carries every locked file of every package and
// install.py picks. It downloads in parallel, checks each locked hash while
// streaming, caches wheels by hash and unpacks them straight into the venv.
// Only what needs a build (sdists, git, path dependencies and, for
// --only-root, the project itself) goes to pip.
package installer

import (
	"bytes"
	"crypto/sha256"
	_ "embed"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"path"
	"slices"
	"strings"

	"github.com/xdockerfile/xdockerfile/pep508"
	"github.com/xdockerfile/xdockerfile/poetry"
)

//go:embed install.py
var script []byte

// Where the step finds things inside the container.
const (
	InputDir = "/run/xdockerfile-poetry" // this package's files
	AuthDir  = "/run/xdockerfile-auth"   // a tmpfs, for pip's netrc
	CacheDir = "/var/cache/xdockerfile"  // the cache mount: wheels by hash, pip's cache

	// PathsDir is where path dependencies are bound, at their place in
	// the build context.
	PathsDir = "/run/xdockerfile-paths"

	// ContextsDir is where path dependencies from named contexts are
	// bound, each at ContextsDir/<the context's name>.
	ContextsDir = "/run/xdockerfile-contexts"

	// GitCredentials is where git dependencies find their credentials:
	// the secret "git-credentials", in git's credential-store format
	// (https://user:token@host, one a line).
	GitCredentials = "/run/secrets/git-credentials"
)

// Settings are the choices of one POETRY INSTALL.
type Settings struct {
	Venv          string // absolute
	Secret        string // id of the auth.toml secret
	Compile       bool   // byte-compile what is installed
	WithPip       bool   // bootstrap pip into the venv
	AllowUnhashed bool   // install packages the lock has no hash for
	Project       string // the project's directory in the build context
	// Contexts are the build's named contexts that path dependencies
	// outside the build context may come from: a context named after
	// the package (as normalised) holds its directory, or its archive.
	Contexts []string
}

// Input is what a step needs: its files, named by their digest, the paths
// of the build context it reads (path dependencies), to bind at PathsDir,
// and the named contexts it reads, to bind at ContextsDir.
type Input struct {
	Files    map[string][]byte
	Digest   string
	Paths    []string
	Contexts []ContextPath
}

// ContextPath is a path dependency outside the build context, taken from
// the named context of its name.
type ContextPath struct {
	Package string // as locked
	Context string // the named context: the package's name, normalised
	Path    string // as locked, from the build context's root (it starts with ../, or is absolute)
	File    string // an archive's name in the context; "" when the context is the project's directory
}

// Plan is install.json.
type Plan struct {
	Venv       string    `json:"venv"`
	Compile    bool      `json:"compile"`
	WithPip    bool      `json:"with_pip"`
	AuthSecret string    `json:"auth_secret"`
	AuthDir    string    `json:"auth_dir"`
	CacheDir   string    `json:"cache_dir"`
	GitCreds   string    `json:"git_credentials,omitempty"`
	Indexes    []Index   `json:"indexes"`
	Packages   []Package `json:"packages"`
}

// Index is a package source, searched in order.
type Index struct {
	Name    string `json:"name"`
	URL     string `json:"url"`
	Default bool   `json:"default"`
}

// Package is one locked requirement.
type Package struct {
	Name    string `json:"name"`    // normalised
	Dist    string `json:"dist"`    // as the requirement spells it (pip's headers directory)
	Version string `json:"version"` // as locked
	Marker  string `json:"marker,omitempty"`
	Source  string `json:"source,omitempty"` // the source it is locked from
	Files   []File `json:"files"`
	// Build sends the package to pip, with Line as its requirement: a VCS
	// or URL requirement, or one locked without hashes.
	Build bool   `json:"build,omitempty"`
	Line  string `json:"line"`           // the requirement with its hashes, for pip
	Path  string `json:"path,omitempty"` // a path dependency's place in the build context
	// Context names the named context a path dependency outside the
	// build context comes from; Path is then where it would have been.
	Context string `json:"context,omitempty"`
	// Root marks the project itself (POETRY INSTALL --only-root), built
	// from Path like a path dependency.
	Root bool `json:"root,omitempty"`
}

// File is one locked artifact.
type File struct {
	Name string `json:"file"`
	Hash string `json:"hash"`
	URL  string `json:"url,omitempty"`
}

// Prepare makes the step's input: install.py and install.json for the
// requirement set exp, with search, the sources the project searches,
// after those exp names. lockName is for errors.
func Prepare(exp *poetry.Export, search []poetry.Index, s Settings, lockName string) (*Input, error) {
	in := &Input{}
	plan := newPlan(s, exp.Indexes, search)
	if err := oneVersionEach(exp.Requirements, lockName); err != nil {
		return nil, err
	}
	for _, r := range exp.Requirements {
		p := Package{Name: r.Name, Dist: distName(r.Line), Version: r.Version, Marker: r.Markers, Source: r.Source, Files: []File{}}
		for _, f := range r.Files {
			p.Files = append(p.Files, File{Name: f.Name, Hash: f.Hash, URL: f.URL})
		}
		p.Line = r.Line
		for _, h := range r.Hashes {
			if !wellFormedHash(h) {
				return nil, fmt.Errorf("%s: %s %s has a malformed hash %q: a hash is sha256:, sha384: or sha512: and the digest in hexadecimal", lockName, r.Name, r.Version, h)
			}
			p.Line += " --hash=" + h
		}
		p.Line += "\n"
		switch {
		case r.Kind == "file" || r.Kind == "directory":
			// Built by pip from the build context, or from a named
			// context, after the locked set, and installed as a regular
			// package: a venv copied into another stage keeps working.
			rel := path.Join(s.Project, r.Path)
			at := path.Join(PathsDir, rel)
			p.Build, p.Path, p.Dist = true, rel, r.Name
			if path.IsAbs(r.Path) || rel == ".." || strings.HasPrefix(rel, "../") {
				if path.IsAbs(r.Path) {
					rel = path.Clean(r.Path)
				}
				cp, err := fromContext(r, rel, s.Contexts, lockName)
				if err != nil {
					return nil, err
				}
				at = path.Join(ContextsDir, cp.Context, cp.File)
				p.Path, p.Context = rel, cp.Context
				in.Contexts = append(in.Contexts, cp)
			} else {
				in.Paths = append(in.Paths, rel)
			}
			p.Line = r.Name + " @ file://" + at
			if r.Kind == "file" {
				for _, h := range r.Hashes {
					p.Line += " --hash=" + h
				}
			}
			p.Line += "\n"
		case r.Kind == "url" && strings.HasSuffix(r.URL, ".whl") && len(r.Hashes) > 0 && !strings.Contains(r.URL, "#"):
			// a wheel at a URL: ours to download, check and unpack
			for i := range p.Files {
				if p.Files[i].Name == path.Base(r.URL) {
					p.Files[i].URL = r.URL
				}
			}
		case r.Kind == "vcs", r.Kind == "url":
			// pip builds these; it cannot hash a repository, and checks
			// an archive's locked hash.
			p.Build = true
			if r.Kind == "vcs" {
				plan.GitCreds = GitCredentials
			}
		case len(r.Hashes) == 0 && !s.AllowUnhashed:
			return nil, fmt.Errorf("%s: %s %s has no hash in the lock (POETRY INSTALL --allow-unhashed installs it anyway)", lockName, r.Name, r.Version)
		case len(r.Hashes) == 0 || !hasNames(r.Files):
			p.Build = true
		}
		plan.Packages = append(plan.Packages, p)
	}
	if err := in.write(plan); err != nil {
		return nil, err
	}
	return in, nil
}

// fromContext is the path dependency r, at rel outside the build context,
// from the named context of its name; without one, the error says how to
// give it.
func fromContext(r poetry.Requirement, rel string, contexts []string, lockName string) (ContextPath, error) {
	cp := ContextPath{Package: r.Name, Context: pep508.NormalizeName(r.Name), Path: rel}
	dir := rel
	if r.Kind == "file" {
		cp.File, dir = path.Base(rel), path.Dir(rel)
	}
	if slices.Contains(contexts, cp.Context) {
		return cp, nil
	}
	what := "it"
	if r.Kind == "file" {
		what = "the directory holding it"
	}
	return cp, fmt.Errorf("%s: %s is a path dependency at %s, outside the build context: build from a directory that holds both, with POETRY INSTALL --project=<the project's directory in it>, or pass %s as a named context: --build-context %s=%s", lockName, r.Name, r.Path, what, cp.Context, dir)
}

// PrepareRoot makes the input of POETRY INSTALL --only-root: the project
// in s.Project, built from the build context (bound at PathsDir, as a path
// dependency is) and installed without its dependencies, with its build
// backend from search, the sources the project searches.
func PrepareRoot(root poetry.Root, search []poetry.Index, s Settings) (*Input, error) {
	plan := newPlan(s, nil, search)
	plan.Packages = append(plan.Packages, Package{
		Name: pep508.NormalizeName(root.Name), Dist: root.Name, Version: root.Version, Files: []File{},
		Build: true, Root: true, Path: s.Project,
		Line: root.Name + " @ file://" + path.Join(PathsDir, s.Project) + "\n",
	})
	in := &Input{Paths: []string{s.Project}}
	if err := in.write(plan); err != nil {
		return nil, err
	}
	return in, nil
}

// newPlan is a plan with no packages yet: the settings, the indexes the
// locked packages come from, then the other sources the project searches,
// which still serve build dependencies.
func newPlan(s Settings, locked, search []poetry.Index) Plan {
	plan := Plan{
		Venv: s.Venv, Compile: s.Compile, WithPip: s.WithPip,
		AuthSecret: "/run/secrets/" + s.Secret, AuthDir: AuthDir, CacheDir: CacheDir,
		Indexes: []Index{}, Packages: []Package{},
	}
	for _, ix := range locked {
		plan.Indexes = append(plan.Indexes, Index{Name: ix.Name, URL: ix.URL, Default: ix.Default})
	}
	for _, ix := range search {
		if !slices.ContainsFunc(plan.Indexes, func(have Index) bool { return have.URL == ix.URL }) {
			plan.Indexes = append(plan.Indexes, Index{Name: ix.Name, URL: ix.URL, Default: len(plan.Indexes) == 0})
		}
	}
	return plan
}

// write sets the input's files, install.json for plan and install.py, and
// the digest that names them.
func (in *Input) write(plan Plan) error {
	var settings bytes.Buffer
	enc := json.NewEncoder(&settings)
	enc.SetEscapeHTML(false) // markers read better with their < and >
	enc.SetIndent("", "  ")
	if err := enc.Encode(plan); err != nil {
		return err
	}
	in.Files = map[string][]byte{"install.py": script, "install.json": settings.Bytes()}
	h := sha256.New()
	for _, name := range []string{"install.json", "install.py"} {
		fmt.Fprintf(h, "%s %d\n", name, len(in.Files[name]))
		h.Write(in.Files[name])
	}
	in.Digest = hex.EncodeToString(h.Sum(nil))
	return nil
}

// hasNames tells whether every locked file says which file it is, so the
// installer can choose by tag (locks of Poetry 1.0 kept only hashes).
func hasNames(files []poetry.File) bool {
	for _, f := range files {
		if f.Name == "" {
			return false
		}
	}
	return len(files) > 0
}

// distName is the project name as a requirement line spells it.
func distName(line string) string {
	if i := strings.IndexAny(line, "[=<>!~ ;@"); i >= 0 {
		return line[:i]
	}
	return line
}

// hashAlgorithms are those a lock may name (poetry export keeps no
// others).
var hashAlgorithms = map[string]bool{"sha256": true, "sha384": true, "sha512": true}

// wellFormedHash reports whether h is an algorithm and a hexadecimal
// digest: anything else could never match, and would reach pip's
// requirement lines as written.
func wellFormedHash(h string) bool {
	algo, digest, ok := strings.Cut(h, ":")
	if !ok || !hashAlgorithms[algo] || digest == "" {
		return false
	}
	for _, c := range digest {
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F') {
			return false
		}
	}
	return true
}

// oneVersionEach makes sure no two versions of a package are locked for
// the same environment: poetry export prints both, and both would land
// in the one venv. Poetry never writes such a lock.
func oneVersionEach(reqs []poetry.Requirement, lockName string) error {
	marker := func(r poetry.Requirement) pep508.Marker {
		if m, err := pep508.Parse(r.Markers); err == nil && r.Markers != "" {
			return m
		}
		return pep508.AnyMarker{}
	}
	byName := map[string][]poetry.Requirement{}
	for _, r := range reqs {
		for _, o := range byName[r.Name] {
			if o.Version != r.Version && !pep508.Intersect(marker(o), marker(r)).IsEmpty() {
				return fmt.Errorf("%s: %s is locked at both %s and %s for the same environments: run `poetry lock` to make the lock consistent", lockName, r.Name, o.Version, r.Version)
			}
		}
		byName[r.Name] = append(byName[r.Name], r)
	}
	return nil
}
