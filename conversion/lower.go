// Package conversion evaluates an xdockerfile for one build (arguments,
// platform, context) and lowers it to a plain Dockerfile that BuildKit's own
// dockerfile2llb turns into LLB. It is the only caller of dockerfile2llb.
//
// Lowering never moves a line: the lines of untaken branches and the IF,
// ELSE and END lines become empty lines, and stage references are expanded
// in place. Every line number BuildKit reports about the plain file is
// therefore the line number of the user's file, with no mapping to get wrong.
package conversion

import (
	"bytes"
	"context"
	"fmt"
	"path"
	"regexp"
	"strings"

	"github.com/moby/buildkit/frontend/dockerfile/parser"
	"github.com/moby/buildkit/frontend/dockerfile/shell"
	ocispecs "github.com/opencontainers/image-spec/specs-go/v1"
	"github.com/xdockerfile/xdockerfile/syntax"
)

// Context is the main build context, as conditions and POETRY INSTALL
// read it.
type Context interface {
	// Exists reports whether a path or glob, relative to the context root,
	// matches anything that .dockerignore does not exclude.
	Exists(ctx context.Context, pattern string) (bool, error)
	// ReadFiles returns the files of those paths that exist and are not
	// excluded, by path; only they are transferred.
	ReadFiles(ctx context.Context, paths []string) (map[string][]byte, error)
}

// Options are the parts of a build that decide how a file lowers.
type Options struct {
	BuildArgs      map[string]string
	TargetPlatform ocispecs.Platform
	BuildPlatform  ocispecs.Platform
	Target         string
	Context        Context // nil: EXISTS is an error
}

// Result is a lowered file.
type Result struct {
	// Dockerfile has as many lines as the input, each at its original place.
	Dockerfile []byte
	Warnings   []Warning
	// Inputs are the build contexts the plain file names that the frontend
	// generated (the requirement sets of POETRY INSTALL), by name.
	Inputs map[string]GeneratedContext
}

// Lower evaluates f for one build and returns the plain Dockerfile.
func Lower(ctx context.Context, f *syntax.File, opt Options) (*Result, error) {
	if f.Plain {
		return &Result{Dockerfile: f.Data}, nil
	}
	l := newLowerer(ctx, f, opt, opt.Target)
	if err := l.run(); err != nil {
		return nil, err
	}
	// TARGETSTAGE names the last stage when no target is given, and which
	// stage is last may itself depend on a condition: settle it.
	if opt.Target == "" && l.readTargetStage && l.lastStage != l.assumedStage {
		l = newLowerer(ctx, f, opt, l.lastStage)
		if err := l.run(); err != nil {
			return nil, err
		}
	}
	return &Result{Dockerfile: bytes.Join(l.lines, nil), Warnings: l.warnings, Inputs: l.inputs}, nil
}

type lowerer struct {
	ctx  context.Context
	file *syntax.File
	opt  Options
	lex  wordLexer

	lines [][]byte // physical lines, each with its own line ending

	platform *vars
	globals  *vars
	stage    *vars            // nil before the first FROM
	curEnv   *vars            // the ENV set so far in this stage, inherited by child stages
	stageEnv map[string]*vars // each named stage's curEnv

	// What the global ARGs and a stage's instructions see.
	globalView, stageView layered

	assumedStage    string
	lastStage       string
	readTargetStage bool

	warnings []Warning
	inputs   map[string]GeneratedContext
}

func newLowerer(ctx context.Context, f *syntax.File, opt Options, targetStage string) *lowerer {
	l := &lowerer{
		ctx:          ctx,
		file:         f,
		opt:          opt,
		lex:          wordLexer{escape: f.Escape},
		lines:        splitLines(f.Data),
		platform:     platformArgs(opt.TargetPlatform, opt.BuildPlatform, targetStage, opt.BuildArgs),
		globals:      newVars(),
		stageEnv:     map[string]*vars{},
		assumedStage: targetStage,
	}
	l.globalView = layered{l.globals, l.platform}
	return l
}

// splitLines splits dt after each line ending.
func splitLines(dt []byte) [][]byte {
	lines := make([][]byte, 0, bytes.Count(dt, []byte("\n"))+1)
	for len(dt) > 0 {
		n := bytes.IndexByte(dt, '\n') + 1
		if n == 0 {
			n = len(dt)
		}
		lines = append(lines, dt[:n:n])
		dt = dt[n:]
	}
	return lines
}

func (l *lowerer) errorf(line int, format string, args ...any) error {
	return &syntax.Error{File: l.file.Name, Line: line, Msg: fmt.Sprintf(format, args...)}
}

func (l *lowerer) run() error {
	return l.body(l.file.Body)
}

func (l *lowerer) body(nodes []syntax.Node) error {
	for _, n := range nodes {
		var err error
		switch n := n.(type) {
		case *syntax.Instruction:
			err = l.instruction(n)
		case *syntax.Block:
			err = l.block(n)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

func (l *lowerer) block(b *syntax.Block) error {
	taken := -1
	for i, br := range b.Branches {
		ok := true
		if br.Cond != nil {
			var err error
			if ok, err = l.eval(br.Cond, br.Head.Start); err != nil {
				return err
			}
		}
		if ok {
			taken = i
			break
		}
	}
	for i, br := range b.Branches {
		l.blank(br.Head)
		if i == taken {
			if err := l.body(br.Body); err != nil {
				return err
			}
			continue
		}
		// Everything up to the next ELSE or END goes, comments included.
		next := b.End.Start
		if i+1 < len(b.Branches) {
			next = b.Branches[i+1].Head.Start
		}
		l.blank(syntax.Range{Start: br.Head.End + 1, End: next - 1})
	}
	l.blank(b.End)
	return nil
}

// blank empties the lines of r, keeping their line endings.
func (l *lowerer) blank(r syntax.Range) {
	for i := r.Start; i <= r.End && i >= 1 && i <= len(l.lines); i++ {
		l.lines[i-1] = lineEnding(l.lines[i-1])
	}
}

// view is what a condition or a stage reference sees at this point.
func (l *lowerer) view() *layered {
	if l.stage == nil {
		return &l.globalView
	}
	return &l.stageView
}

func (l *lowerer) instruction(in *syntax.Instruction) error {
	switch in.Keyword() {
	case "FROM":
		return l.from(in)
	case "ARG":
		return l.arg(in)
	case "ENV":
		return l.env(in)
	case "COPY", "ADD":
		return l.copyFrom(in, in.Node)
	case "RUN":
		return l.mountFrom(in, in.Node)
	case "POETRY":
		return l.poetryInstall(in)
	case "ONBUILD":
		if in.Next != nil && len(in.Next.Children) > 0 {
			sub := in.Next.Children[0]
			switch strings.ToUpper(sub.Value) {
			case "COPY", "ADD":
				return l.copyFrom(in, sub)
			case "RUN":
				return l.mountFrom(in, sub)
			}
		}
	}
	return nil
}

// FROM, ARG and ENV that upstream rejects are left for it to report, at
// the same line.

func (l *lowerer) from(in *syntax.Instruction) error {
	baseName, stageName, ok := parseFrom(in.Node)
	if !ok {
		return nil
	}
	base, _ := l.lex.expand(baseName, &l.globalView, nil)
	if parent, ok := l.stageEnv[strings.ToLower(base)]; ok {
		l.stage = parent.clone()
	} else {
		l.stage = newVars()
	}
	l.stageView = append(l.stageView[:0], l.stage, l.globals, l.platform)
	// A stage inherits its parent's ENV, not its ARGs; stageEnv keeps only
	// ENV, so the stage's own vars start from that and gain ARGs below.
	env := l.stage.clone()
	if stageName != "" {
		l.stageEnv[stageName] = env
	}
	l.lastStage = stageName
	l.curEnv = env
	return nil
}

func (l *lowerer) arg(in *syntax.Instruction) error {
	args, ok := parseArg(in.Node)
	if !ok {
		return nil
	}
	scope, expandIn := l.globals, shell.EnvGetter(&l.globalView)
	if l.stage != nil {
		scope, expandIn = l.stage, l.stage
	}
	for _, kv := range args {
		if v, ok := l.opt.BuildArgs[kv.Key]; ok {
			scope.set(kv.Key, v)
			continue
		}
		if kv.Value != nil {
			// A value upstream cannot expand is its error to report, at
			// the same line; here the variable just stays unset.
			if v, err := l.lex.expand(*kv.Value, expandIn, nil); err == nil {
				scope.set(kv.Key, v)
				continue
			}
		}
		// ARG NAME inside a stage takes the global or automatic value.
		if l.stage != nil {
			if v, ok := l.globalView.Get(kv.Key); ok {
				scope.set(kv.Key, v)
				continue
			}
		}
		scope.declare(kv.Key)
	}
	return nil
}

func (l *lowerer) env(in *syntax.Instruction) error {
	if l.stage == nil {
		return nil
	}
	env, ok := parseEnv(in.Node)
	if !ok {
		return nil
	}
	for _, kv := range env {
		v, err := l.lex.expand(kv.Value, l.stage, nil)
		if err != nil {
			continue // upstream reports it at this line
		}
		l.stage.set(kv.Key, v)
		l.curEnv.set(kv.Key, v)
	}
	return nil
}

// copyFrom expands variables in COPY --from / ADD --from.
func (l *lowerer) copyFrom(in *syntax.Instruction, n *parser.Node) error {
	for _, flag := range n.Flags {
		name, val, ok := strings.Cut(flag, "=")
		if !ok || !strings.EqualFold(name, "--from") || !strings.Contains(val, "$") {
			continue
		}
		expanded, err := l.stageRef(in, val)
		if err != nil {
			return err
		}
		if err := l.replace(in, flag, name+"="+expanded); err != nil {
			return err
		}
	}
	return nil
}

// mountFrom expands variables in the from= field of RUN --mount.
func (l *lowerer) mountFrom(in *syntax.Instruction, n *parser.Node) error {
	for _, flag := range n.Flags {
		name, val, ok := strings.Cut(flag, "=")
		if !ok || !strings.EqualFold(name, "--mount") || !strings.Contains(val, "$") {
			continue
		}
		newVal := val
		for field := range strings.SplitSeq(val, ",") {
			key, ref, ok := strings.Cut(strings.Trim(field, `"`), "=")
			if !ok || !strings.EqualFold(key, "from") || !strings.Contains(ref, "$") {
				continue
			}
			expanded, err := l.stageRef(in, ref)
			if err != nil {
				return err
			}
			newVal = strings.Replace(newVal, key+"="+ref, key+"="+expanded, 1)
		}
		if newVal != val {
			if err := l.replace(in, flag, name+"="+newVal); err != nil {
				return err
			}
		}
	}
	return nil
}

// stageRef expands a stage reference with the variables visible here.
// Every variable must be one the Dockerfile declares: anything else (a base
// image's ENV, say) is only known once the build runs, too late to choose
// which stages to build.
func (l *lowerer) stageRef(in *syntax.Instruction, ref string) (string, error) {
	view := l.view()
	undeclared := ""
	res, err := l.lex.expand(ref, view, func(name string, set bool) {
		if set {
			l.noteRead(name)
		} else if undeclared == "" && !view.declared(name) {
			undeclared = name
		}
	})
	if err != nil {
		return "", l.errorf(in.StartLine, "%s: %v", ref, err)
	}
	if undeclared != "" {
		return "", l.errorf(in.StartLine, "%s: variable %s cannot be known before the build: declare it with ARG or ENV before this line", ref, undeclared)
	}
	if res == "" {
		return "", l.errorf(in.StartLine, "%s expands to an empty stage reference", ref)
	}
	return res, nil
}

func (l *lowerer) noteRead(name string) {
	if name == "TARGETSTAGE" {
		l.readTargetStage = true
	}
}

// replace rewrites the text of one flag of an instruction in place.
func (l *lowerer) replace(in *syntax.Instruction, old, repl string) error {
	for i := in.StartLine; i <= in.EndLine; i++ {
		line := l.lines[i-1]
		if idx := bytes.Index(line, []byte(old)); idx >= 0 {
			l.lines[i-1] = bytes.Join([][]byte{line[:idx], []byte(repl), line[idx+len(old):]}, nil)
			return nil
		}
	}
	return l.errorf(in.StartLine, "cannot rewrite %s: write the flag on one line", old)
}

// eval evaluates a condition with the variables visible at its line.
func (l *lowerer) eval(e syntax.Expr, line int) (bool, error) {
	switch e := e.(type) {
	case *syntax.Binary:
		x, err := l.eval(e.X, line)
		if err != nil || (e.Op == "&&" && !x) || (e.Op == "||" && x) {
			return x, err
		}
		return l.eval(e.Y, line)
	case *syntax.Not:
		x, err := l.eval(e.X, line)
		return !x, err
	case *syntax.Truth:
		v, err := l.word(e.Word, line)
		return syntax.Truthy(v), err
	case *syntax.Defined:
		_, ok := l.view().Get(e.Name)
		l.noteRead(e.Name)
		return ok, nil
	case *syntax.Exists:
		p, err := l.word(e.Path, line)
		if err != nil {
			return false, err
		}
		return l.exists(p, line)
	case *syntax.Compare:
		return l.compare(e, line)
	}
	return false, l.errorf(line, "unknown condition %s", e)
}

func (l *lowerer) compare(e *syntax.Compare, line int) (bool, error) {
	x, err := l.word(e.X, line)
	if err != nil {
		return false, err
	}
	y, err := l.word(e.Y, line)
	if err != nil {
		return false, err
	}
	switch e.Op {
	case "==":
		return x == y, nil
	case "!=":
		return x != y, nil
	}
	re := e.Regex
	if re == nil {
		if re, err = regexp.Compile(y); err != nil {
			return false, l.errorf(line, "%s", syntax.RegexpError(y, err))
		}
	}
	return re.MatchString(x) == (e.Op == "=~"), nil
}

// word expands an operand; reading a variable nobody declared is almost
// always a typo, so it is reported.
func (l *lowerer) word(w syntax.Word, line int) (string, error) {
	view := l.view()
	res, err := l.lex.expand(w.Raw, view, func(name string, set bool) {
		if set {
			l.noteRead(name)
		} else if !view.declared(name) {
			l.warn(&RuleConditionUndefinedVar, line, RuleConditionUndefinedVar.Format(name))
		}
	})
	if err != nil {
		return "", l.errorf(line, "%s: %v", w.Raw, err)
	}
	return res, nil
}

func (l *lowerer) exists(pattern string, line int) (bool, error) {
	if l.opt.Context == nil {
		return false, l.errorf(line, "EXISTS %s: no build context to look in", pattern)
	}
	p := path.Clean("/" + pattern)[1:]
	if p == "" {
		p = "."
	}
	if _, err := path.Match(p, ""); err != nil {
		return false, l.errorf(line, "EXISTS %s: bad pattern: %v", pattern, err)
	}
	ok, err := l.opt.Context.Exists(l.ctx, p)
	if err != nil {
		return false, l.errorf(line, "EXISTS %s: %v", pattern, err)
	}
	return ok, nil
}

// lineEnding returns the line's terminator ("\r\n", "\n" or none): what
// is left of a line that lowering empties.
func lineEnding(line []byte) []byte {
	switch {
	case bytes.HasSuffix(line, []byte("\r\n")):
		return line[len(line)-2:]
	case bytes.HasSuffix(line, []byte("\n")):
		return line[len(line)-1:]
	}
	return nil
}
