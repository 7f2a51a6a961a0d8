// Package poetry reimplements `poetry export -f requirements.txt`
// (poetry-plugin-export 1.10.0 on Poetry 2.3): it reads pyproject.toml and
// poetry.lock and computes the requirements for a choice of groups and
// extras, printed byte for byte as Poetry prints them.
package poetry

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"

	"github.com/xdockerfile/xdockerfile/pep508"
)

// Error is a problem with one of the input files.
type Error struct {
	File string // file name as given ("" when not about a file)
	Line int    // 1-based, 0 when unknown
	Msg  string // the message Poetry prints
}

func (e *Error) Error() string {
	switch {
	case e.File != "" && e.Line > 0:
		return fmt.Sprintf("%s:%d: %s", e.File, e.Line, e.Msg)
	case e.File != "":
		return fmt.Sprintf("%s: %s", e.File, e.Msg)
	}
	return e.Msg
}

// fileError attributes a parsing error to a file, keeping its line.
func fileError(file string, err error) error {
	var te *tomlError
	var se *specError
	switch {
	case errors.As(err, &te):
		return &Error{File: file, Line: te.line, Msg: te.msg}
	case errors.As(err, &se):
		return &Error{File: file, Line: se.line, Msg: se.msg}
	}
	var pe *Error
	if errors.As(err, &pe) {
		return pe
	}
	return &Error{File: file, Msg: err.Error()}
}

// Project is a Poetry project with its lock file.
type Project struct {
	Dir      string
	loc      location
	pyName   string
	lockName string
	py       *pyproject
	lock     *lockFile
}

// Load reads a project directory's pyproject.toml and poetry.lock (errors
// name the files).
func Load(dir string) (*Project, error) {
	pyName := filepath.Join(dir, "pyproject.toml")
	lockName := filepath.Join(dir, "poetry.lock")
	py, err := os.ReadFile(pyName)
	if err != nil {
		return nil, &Error{File: pyName, Msg: "cannot read: " + errMsg(err)}
	}
	lock, err := os.ReadFile(lockName)
	if err != nil {
		return nil, &Error{File: lockName, Msg: "cannot read: " + errMsg(err) + " (run `poetry lock` to create it)"}
	}
	return parse(dir, true, py, pyName, lock, lockName)
}

func errMsg(err error) string {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return pe.Err.Error()
	}
	return err.Error()
}

// Parse is Load from bytes; dir is the project directory (for path
// dependencies), the names are used in errors. Parse does not look at the
// filesystem: dir may exist only in a build context.
func Parse(dir string, pyproject []byte, pyprojectName string, lock []byte, lockName string) (*Project, error) {
	return parse(dir, false, pyproject, pyprojectName, lock, lockName)
}

// markerBudget is the normalisation steps (pep508.Session) one read or one
// export may take over all its markers: some seven times the hardest single
// marker in pep508's tests, about ten seconds at most.
const markerBudget = 1 << 21

func parse(dir string, onDisk bool, pyproject []byte, pyprojectName string, lock []byte, lockName string) (p *Project, err error) {
	pep508.Session(markerBudget, func() { p, err = read(dir, onDisk, pyproject, pyprojectName, lock, lockName) })
	return p, err
}

func read(dir string, onDisk bool, pyproject []byte, pyprojectName string, lock []byte, lockName string) (_ *Project, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = &Error{File: lockName, Msg: fmt.Sprintf("cannot read the project: %v", r)}
		}
	}()
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, err
	}
	if onDisk {
		if r, err := filepath.EvalSymlinks(abs); err == nil {
			abs = r
		}
	}
	pep508.ResetCaches()
	loc := location{dir: abs, fs: onDisk}
	p := &Project{Dir: abs, loc: loc, pyName: pyprojectName, lockName: lockName}
	if p.py, err = parsePyproject(pyproject, pyprojectName, loc); err != nil {
		return nil, err
	}
	if p.lock, err = parseLock(lock, lockName, loc); err != nil {
		return nil, err
	}
	hashes, err := contentHashes(p.py.doc)
	if err != nil {
		return nil, &Error{File: pyprojectName, Msg: err.Error()}
	}
	if p.lock.contentHash == "" || !slices.Contains(hashes, p.lock.contentHash) {
		return nil, &Error{File: lockName, Line: p.lock.hashLine, Msg: fmt.Sprintf(
			"%s changed significantly since %s was last generated. Run `poetry lock` to fix the lock file.",
			filepath.Base(pyprojectName), filepath.Base(lockName))}
	}
	return p, nil
}

// Groups lists the project's dependency groups (normalised names) in
// declaration order, and which of them are optional.
func (p *Project) Groups() (names []string, optional map[string]bool) {
	optional = map[string]bool{}
	for _, g := range p.py.groups {
		names = append(names, g.name)
		optional[g.name] = g.optional
	}
	return names, optional
}

// Extras lists the project's extras (normalised names).
func (p *Project) Extras() []string {
	var out []string
	for _, e := range p.py.extras {
		out = append(out, e.name)
	}
	return out
}

// Sources lists the project's package sources as declared.
func (p *Project) Sources() []Source { return append([]Source(nil), p.py.sources...) }

// InstallOptions are the options for what `poetry install` installs by
// default: every non-optional group (poetry export itself defaults to the
// main group only).
func (p *Project) InstallOptions() Options {
	var groups []string
	for _, g := range p.py.groups {
		if !g.optional {
			groups = append(groups, g.name)
		}
	}
	return Options{Only: groups}
}
