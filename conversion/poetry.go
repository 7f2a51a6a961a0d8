package conversion

import (
	"fmt"
	"maps"
	"path"
	"slices"
	"strings"

	"github.com/moby/buildkit/client/llb"
	"github.com/xdockerfile/xdockerfile/installer"
	"github.com/xdockerfile/xdockerfile/pep508"
	"github.com/xdockerfile/xdockerfile/poetry"
	"github.com/xdockerfile/xdockerfile/syntax"
)

// POETRY INSTALL lowers to one RUN step. The frontend computes the locked
// requirement set itself and hands it to the step as a small generated
// build context (requirements, the installer script, its settings), so the
// step's cache key is the requirement set, the flags and the base image:
// nothing else of the project. Poetry never enters the image.
//
// POETRY INSTALL --only-root is the other half: it builds the project
// itself and installs it, without dependencies, in a step of its own whose
// key is the project's directory (bound from the build context) and the
// flags, so editing the sources re-runs it and never the step above.

// The generated contexts are named after their content.
const poetryContext = "xdockerfile-poetry-"

// poetryFlags are the flags of POETRY INSTALL.
type poetryFlags struct {
	project  string
	opt      poetry.Options
	onlyRoot bool // install the project itself, and nothing else
	noRoot   bool // what POETRY INSTALL does anyway; said for poetry's command lines
	installer.Settings
}

// poetryFlagList is every flag, for the message about an unknown one.
const poetryFlagList = "--project --only --with --without --all-groups --extras --all-extras --only-root --no-root --venv --secret --compile --with-pip --allow-unhashed"

func (l *lowerer) poetryFlags(in *syntax.Instruction) (*poetryFlags, error) {
	rest := strings.TrimSpace(in.Original)
	for _, kw := range []string{"POETRY", "INSTALL"} {
		word, after, _ := strings.Cut(rest, " ")
		if !strings.EqualFold(strings.TrimSpace(word), kw) {
			return nil, l.errorf(in.StartLine, "unknown instruction POETRY %s (only POETRY INSTALL exists)", strings.TrimSpace(word))
		}
		rest = strings.TrimSpace(after)
	}
	words, err := l.lex.ProcessWords(rest, l.view())
	if err != nil {
		return nil, l.errorf(in.StartLine, "POETRY INSTALL: %v", err)
	}
	f := &poetryFlags{project: ".", Settings: installer.Settings{Venv: "/opt/venv", Secret: "poetry-auth"}}
	list := func(v string) []string {
		return strings.FieldsFunc(v, func(r rune) bool { return r == ',' || r == ' ' })
	}
	groupFlags, extrasFlag := false, false // as written, even with an empty list
	for _, w := range words {
		name, val, hasVal := strings.Cut(w, "=")
		switch name {
		case "--all-groups", "--all-extras", "--allow-unhashed", "--compile", "--with-pip", "--only-root", "--no-root":
			if hasVal {
				return nil, l.errorf(in.StartLine, "POETRY INSTALL: %s takes no value", name)
			}
			f.opt.AllGroups = f.opt.AllGroups || name == "--all-groups"
			f.opt.AllExtras = f.opt.AllExtras || name == "--all-extras"
			f.AllowUnhashed = f.AllowUnhashed || name == "--allow-unhashed"
			f.Compile = f.Compile || name == "--compile"
			f.WithPip = f.WithPip || name == "--with-pip"
			f.onlyRoot = f.onlyRoot || name == "--only-root"
			f.noRoot = f.noRoot || name == "--no-root"
			continue
		case "--project", "--only", "--with", "--without", "--extras", "--venv", "--secret":
			if !hasVal || val == "" {
				return nil, l.errorf(in.StartLine, "POETRY INSTALL: %s needs a value (%s=…)", name, name)
			}
		default:
			return nil, l.errorf(in.StartLine, "POETRY INSTALL: unknown flag %s (flags: %s)", name, poetryFlagList)
		}
		switch name {
		case "--project":
			// Read from the CLI's disk, a path out of the context would
			// read what a build never sees.
			if p := path.Clean(val); path.IsAbs(p) || p == ".." || strings.HasPrefix(p, "../") {
				return nil, l.errorf(in.StartLine, "POETRY INSTALL: --project=%s is outside the build context: name the project's directory relative to the context's root", val)
			}
			f.project = val
		case "--only":
			f.opt.Only = append(f.opt.Only, list(val)...)
			groupFlags = true
		case "--with":
			f.opt.With = append(f.opt.With, list(val)...)
			groupFlags = true
		case "--without":
			f.opt.Without = append(f.opt.Without, list(val)...)
			groupFlags = true
		case "--extras":
			f.opt.Extras = append(f.opt.Extras, list(val)...)
			extrasFlag = true
		case "--venv":
			if !path.IsAbs(val) {
				return nil, l.errorf(in.StartLine, "POETRY INSTALL: --venv must be an absolute path, not %q", val)
			}
			f.Venv = path.Clean(val)
		case "--secret":
			f.Secret = val
		}
	}
	// poetry install's own checks, in its order and words
	switch {
	case extrasFlag && f.opt.AllExtras:
		return nil, l.errorf(in.StartLine, "POETRY INSTALL: You cannot specify explicit `--extras` while installing using `--all-extras`.")
	case f.onlyRoot && groupFlags:
		return nil, l.errorf(in.StartLine, "POETRY INSTALL: The `--with`, `--without` and `--only` options cannot be used with the `--only-root` option.")
	case f.onlyRoot && f.opt.AllGroups:
		return nil, l.errorf(in.StartLine, "POETRY INSTALL: The `--all-groups` option cannot be used with the `--only-root` option.")
	case f.onlyRoot && f.noRoot:
		return nil, l.errorf(in.StartLine, "POETRY INSTALL: You cannot specify `--no-root` when using `--only-root`.")
	}
	return f, nil
}

// poetryInstall lowers one POETRY INSTALL instruction in place.
func (l *lowerer) poetryInstall(in *syntax.Instruction) error {
	if l.stage == nil {
		return l.errorf(in.StartLine, "POETRY INSTALL must be inside a stage, after FROM")
	}
	flags, err := l.poetryFlags(in)
	if err != nil {
		return err
	}
	if l.opt.Context == nil {
		return l.errorf(in.StartLine, "POETRY INSTALL: no build context to read poetry.lock from")
	}
	dir := path.Clean(flags.project)
	pyName, lockName := path.Join(dir, "pyproject.toml"), path.Join(dir, "poetry.lock")
	files, err := l.opt.Context.ReadFiles(l.ctx, []string{pyName, lockName})
	if err != nil {
		return l.errorf(in.StartLine, "POETRY INSTALL: %v", err)
	}
	for _, name := range []string{pyName, lockName} {
		if _, ok := files[name]; !ok {
			return l.errorf(in.StartLine, "POETRY INSTALL: %s not found in the build context (or excluded by .dockerignore)", name)
		}
	}
	proj, err := poetry.Parse("/"+dir, files[pyName], pyName, files[lockName], lockName)
	if err != nil {
		return l.errorf(in.StartLine, "POETRY INSTALL: %v", err)
	}
	exp, err := proj.Export(flags.opt) // also checks the group and extra names
	if err != nil {
		return l.errorf(in.StartLine, "POETRY INSTALL: %v", err)
	}
	if flags.onlyRoot {
		// Poetry reads the lock for --only-root too: it must be fresh, its
		// version readable and the extras named in it (which then add
		// nothing: no dependency is installed).
		return l.poetryInstallRoot(in, flags, proj, dir, pyName)
	}
	if opt := installGroups(proj, flags.opt); !slices.Equal(opt.Only, flags.opt.Only) {
		if exp, err = proj.Export(opt); err != nil {
			return l.errorf(in.StartLine, "POETRY INSTALL: %v", err)
		}
	}
	flags.Project = dir
	named, err := l.pathContexts(exp)
	if err != nil {
		return l.errorf(in.StartLine, "POETRY INSTALL: %v", err)
	}
	flags.Contexts = slices.Sorted(maps.Keys(named))
	input, err := installer.Prepare(exp, proj.SearchIndexes(), flags.Settings, lockName)
	if err != nil {
		return l.errorf(in.StartLine, "POETRY INSTALL: %v", err)
	}
	if err := l.checkPaths(input.Paths, lockName); err != nil {
		return l.errorf(in.StartLine, "POETRY INSTALL: %v", err)
	}
	if err := l.checkContexts(input.Contexts, named, lockName); err != nil {
		return l.errorf(in.StartLine, "POETRY INSTALL: %v", err)
	}
	vcs := slices.ContainsFunc(exp.Requirements, func(r poetry.Requirement) bool { return r.Kind == "vcs" })
	l.lowerPoetry(in, input, poetryRun(poetryContext+input.Digest[:16], flags, exp.Indexes, vcs, input))
	return nil
}

// poetryInstallRoot lowers POETRY INSTALL --only-root: the project at dir,
// built by pip from the build context (bound as a path dependency is), with
// its build backend from the project's package sources, and installed
// without its dependencies.
func (l *lowerer) poetryInstallRoot(in *syntax.Instruction, flags *poetryFlags, proj *poetry.Project, dir, pyName string) error {
	root := proj.Root()
	switch {
	case !root.PackageMode:
		return l.errorf(in.StartLine, "POETRY INSTALL: %s:%d: package-mode = false: the project is not a package, so --only-root has nothing to install (POETRY INSTALL installs its dependencies); drop --only-root", pyName, root.PackageModeLine)
	case root.Name == "":
		return l.errorf(in.StartLine, "POETRY INSTALL: %s: Either [project.name] or [tool.poetry.name] is required in package mode: without a name, --only-root has no project to install", pyName)
	case !root.BuildSystem:
		setup := path.Join(dir, "setup.py")
		found, err := l.opt.Context.ReadFiles(l.ctx, []string{setup})
		if err != nil {
			return l.errorf(in.StartLine, "POETRY INSTALL: %v", err)
		}
		if _, ok := found[setup]; !ok {
			return l.errorf(in.StartLine, "POETRY INSTALL: %s has no [build-system] table and %s is not in the build context: nothing says how to build the project for --only-root; add [build-system] with requires = [\"poetry-core>=2.0\"] and build-backend = \"poetry.core.masonry.api\"", pyName, setup)
		}
	}
	flags.Project = dir
	search := proj.SearchIndexes()
	input, err := installer.PrepareRoot(root, search, flags.Settings)
	if err != nil {
		return l.errorf(in.StartLine, "POETRY INSTALL: %v", err)
	}
	l.lowerPoetry(in, input, poetryRun(poetryContext+input.Digest[:16], flags, search, false, input))
	return nil
}

// lowerPoetry puts run in place of the instruction and registers the
// generated context it binds.
func (l *lowerer) lowerPoetry(in *syntax.Instruction, input *installer.Input, run string) {
	if l.inputs == nil {
		l.inputs = map[string]GeneratedContext{}
	}
	l.inputs[poetryContext+input.Digest[:16]] = GeneratedContext{Files: input.Files, Step: strings.Join(strings.Fields(in.Original), " ")}
	l.blank(syntax.Range{Start: in.StartLine + 1, End: in.EndLine})
	l.lines[in.StartLine-1] = append([]byte(run), lineEnding(l.lines[in.StartLine-1])...)
}

// poetryRun is the plain RUN the instruction becomes, on one line: the
// generated context called name, the build context's paths and the named
// contexts that in reads (path dependencies, or the project itself), a
// secret for each index's credentials, and one for git's when vcs.
func poetryRun(name string, flags *poetryFlags, indexes []poetry.Index, vcs bool, in *installer.Input) string {
	mounts := []string{
		"--mount=type=bind,from=" + name + ",target=" + installer.InputDir,
		// Any USER may add to the cache: it holds nothing but files whose
		// locked hash was checked before they were named after it.
		"--mount=type=cache,id=xdockerfile,target=" + installer.CacheDir + ",mode=0777",
		"--mount=type=tmpfs,target=" + installer.AuthDir,
		"--mount=type=secret,id=" + flags.Secret + ",target=/run/secrets/" + flags.Secret,
	}
	// rw: builds write into their source tree; the writes are dropped
	for _, p := range in.Paths {
		mounts = append(mounts, "--mount=type=bind,source="+p+",target="+path.Join(installer.PathsDir, p)+",rw")
	}
	// from= names a named context to dockerfile2llb, and its content is
	// in the step's cache key as a path of the build context's is
	for _, c := range in.Contexts {
		mounts = append(mounts, "--mount=type=bind,from="+c.Context+",target="+path.Join(installer.ContextsDir, c.Context)+",rw")
	}
	if vcs {
		mounts = append(mounts, "--mount=type=secret,id=git-credentials,target="+installer.GitCredentials)
	}
	seen := map[string]bool{}
	for _, ix := range indexes {
		env := "POETRY_HTTP_BASIC_" + envName(ix.Name)
		if ix.Name == "" || seen[env] {
			continue
		}
		seen[env] = true
		// Mounted as files, not env=: older engines (docker 20.10) lack
		// secret environment variables, and files work everywhere.
		for _, part := range []string{"_USERNAME", "_PASSWORD"} {
			mounts = append(mounts, "--mount=type=secret,id="+env+part+",target=/run/secrets/"+env+part)
		}
	}
	return "RUN " + strings.Join(mounts, " ") + ` ["python3", "` + installer.InputDir + `/install.py"]`
}

// envName is how Poetry spells a source name in environment variables.
func envName(source string) string {
	return strings.Map(func(r rune) rune {
		switch {
		case r >= 'a' && r <= 'z':
			return r - 'a' + 'A'
		case r >= 'A' && r <= 'Z', r >= '0' && r <= '9':
			return r
		}
		return '_'
	}, source)
}

// checkPaths makes sure each path dependency is in the build context: a
// project (pyproject.toml or setup.py) for a directory, the file itself for
// an archive. Only those small files are read here; the step binds the rest.
func (l *lowerer) checkPaths(paths []string, lockName string) error {
	for _, p := range paths {
		found, err := l.opt.Context.ReadFiles(l.ctx, []string{path.Join(p, "pyproject.toml"), path.Join(p, "setup.py")})
		if err != nil {
			return err
		}
		if len(found) == 0 {
			if ok, err := l.opt.Context.Exists(l.ctx, p); err != nil || !ok {
				return fmt.Errorf("%s: path dependency %s is not in the build context (or .dockerignore excludes it), or has no pyproject.toml or setup.py", lockName, p)
			}
		}
	}
	return nil
}

// pathContexts returns the named contexts the build has for exp's path
// dependencies, by name (the package's, normalised): their files, or nil
// when they cannot be read while lowering. installer.Prepare takes them
// for the path dependencies outside the build context.
func (l *lowerer) pathContexts(exp *poetry.Export) (map[string]Context, error) {
	nc, ok := l.opt.Context.(NamedContexts)
	if !ok {
		return nil, nil
	}
	named := map[string]Context{}
	for _, r := range exp.Requirements {
		if r.Kind != "file" && r.Kind != "directory" {
			continue
		}
		name := pep508.NormalizeName(r.Name)
		c, given, err := nc.NamedContext(l.ctx, name)
		if err != nil {
			return nil, err
		}
		if given {
			named[name] = c
		}
	}
	return named, nil
}

// checkContexts makes sure each named context a path dependency comes
// from holds it, where its files can be read now; where they cannot, the
// step checks.
func (l *lowerer) checkContexts(paths []installer.ContextPath, named map[string]Context, lockName string) error {
	for _, p := range paths {
		c := named[p.Context]
		if c == nil {
			continue
		}
		var found bool
		var err error
		missing := "no pyproject.toml or setup.py at its root"
		if p.File != "" {
			missing = "no " + p.File
			found, err = c.Exists(l.ctx, p.File)
		} else {
			var files map[string][]byte
			files, err = c.ReadFiles(l.ctx, []string{"pyproject.toml", "setup.py"})
			found = len(files) > 0
		}
		if err != nil {
			return fmt.Errorf("named context %s: %w", p.Context, err)
		}
		if !found {
			return fmt.Errorf("%s: %s is a path dependency at %s, and the named context %s given for it has %s (or its .dockerignore excludes it)", lockName, p.Package, p.Path, p.Context, missing)
		}
	}
	return nil
}

// GeneratedContext is a build context the lowered file refers to by name:
// files the frontend made, and the user's instruction they serve.
type GeneratedContext struct {
	Files map[string][]byte
	Step  string // the instruction as the user wrote it, shown in progress
}

// State is the context as LLB: a few files on scratch.
func (g GeneratedContext) State() llb.State {
	names := make([]string, 0, len(g.Files))
	for name := range g.Files {
		names = append(names, name)
	}
	slices.Sort(names)
	fa := llb.Mkfile("/"+names[0], 0o644, g.Files[names[0]])
	for _, name := range names[1:] {
		fa = fa.Mkfile("/"+name, 0o644, g.Files[name])
	}
	return llb.Scratch().File(fa, llb.WithCustomName("[internal] "+g.Step+": locked requirements"))
}

// installGroups turns poetry install's group flags into export's: without
// --only or --all-groups, install takes every non-optional group (export
// only main), plus --with, minus --without.
func installGroups(proj *poetry.Project, opt poetry.Options) poetry.Options {
	if len(opt.Only) > 0 || opt.AllGroups {
		return opt
	}
	var groups []string
	for _, g := range append(proj.InstallOptions().Only, opt.With...) {
		if !slices.Contains(opt.Without, g) && !slices.Contains(groups, g) {
			groups = append(groups, g)
		}
	}
	opt.Only, opt.With, opt.Without = groups, nil, nil
	return opt
}
