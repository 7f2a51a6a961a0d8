package syntax

import (
	"bytes"
	"encoding/json"
	"iter"
	"strings"
	"unicode/utf8"

	"github.com/moby/buildkit/frontend/dockerfile/parser"
)

// Plain reports whether data is a Dockerfile that uses no extension: no
// IF, ELSE, END, DONE or POETRY instruction and no variable in a stage
// reference. Such a file lowers to itself for every build. Plain reads the
// bytes once, as BuildKit's parser delimits instructions, and answers false
// whenever it cannot be sure.
func Plain(data []byte) bool {
	_, ok := plain(data)
	return ok
}

func plain(data []byte) (escape rune, ok bool) {
	x, err := newLexer(data)
	if err != nil {
		return 0, false
	}
	for {
		in, more, err := x.next()
		if err != nil || (more && x.extended(&in)) {
			return 0, false
		}
		if !more {
			return rune(x.escape), true
		}
	}
}

// Read is Parse for a build: a file that Plain proves uses no extension is
// not parsed at all, since the frontend hands it unchanged to upstream's
// dockerfile2llb, which parses it anyway.
func Read(name string, data []byte) (*File, error) {
	if escape, ok := plain(data); ok {
		return &File{Name: name, Data: data, Escape: escape, Plain: true}, nil
	}
	return Parse(name, data)
}

// extended reports whether an instruction may use an extension. Lowering
// reads --from of COPY and ADD and from= of RUN --mount, also under
// ONBUILD.
func (x *lexer) extended(in *lexed) bool {
	switch in.kw {
	case "if", "else", "end", "done", "poetry":
		return true
	case "onbuild":
		return bytes.IndexByte(in.text, '$') >= 0
	case "copy", "add", "run":
		if bytes.IndexByte(in.text, '$') < 0 {
			return false
		}
		x.splitFlags(in)
		for _, f := range in.flags {
			if bytes.IndexByte(f, '$') >= 0 && bytes.Contains(bytes.ToLower(f), []byte("from")) {
				return true
			}
		}
	}
	return false
}

// light reports whether an instruction needs no parsing beyond the lexer's:
// lowering never reads it, and BuildKit's parser cannot fail on it (its
// only failure on these is a malformed JSON array).
func (in *lexed) light() bool {
	switch in.kw {
	case "run", "copy", "add", "cmd", "entrypoint", "shell", "volume",
		"workdir", "user", "stopsignal", "maintainer", "expose":
	default:
		return false
	}
	for _, f := range in.flags {
		if bytes.IndexByte(f, '$') >= 0 {
			return false
		}
	}
	if !in.maybeJSON() {
		return true
	}
	// The parser rejects a JSON array with an element that is not a
	// string, and reads anything that is not JSON as the shell form.
	var words []any
	if json.Unmarshal(in.text[in.args:], &words) != nil {
		return false
	}
	for _, w := range words {
		if _, ok := w.(string); !ok {
			return false
		}
	}
	return true
}

// node builds, for the simplest forms of the instructions that lowering
// reads (FROM, ARG, ENV, and COPY, ADD and RUN with a variable in a flag),
// the node BuildKit's parser would build, so that a typical file needs no
// parser at all: plain ASCII words with no quote, escape or heredoc.
// TestLexerOnEveryFile and FuzzLexer hold them equal to the parser's.
func (x *lexer) node(in *lexed) (*parser.Node, bool) {
	switch in.kw {
	case "from", "arg", "env", "copy", "add", "run":
	default:
		return nil, false
	}
	t := in.text
	for _, c := range t {
		if c >= utf8.RuneSelf || c == '"' || c == '\'' || c == byte(in.escape) {
			return nil, false
		}
	}
	rest := bytes.TrimSpace(t[in.args:])
	if bytes.HasPrefix(rest, []byte("[")) || bytes.Contains(rest, []byte("<<")) {
		return nil, false
	}
	// The node and its arguments are allocated at once, and every string
	// of them is a part of Original.
	count := 0
	for range words(t, in.args, len(t)) {
		count++
	}
	switch in.kw {
	case "run":
		count = min(count, 1)
	case "env":
		count *= 3 // key, value, "="
	}
	pool := x.nodes(1 + count)[:1]
	orig := x.original(in)
	n := &pool[0]
	n.Value, n.Original, n.StartLine, n.EndLine = orig[:len(in.keyword)], orig, in.start, in.end
	n.Flags = make([]string, 0, len(in.flags))
	for i, j := range words(t, len(in.keyword), in.args) {
		if orig[i:j] != "--" { // the end of the flags
			n.Flags = append(n.Flags, orig[i:j])
		}
	}
	next := &n.Next
	add := func(values ...string) {
		for _, v := range values {
			pool = pool[:len(pool)+1]
			*next = &pool[len(pool)-1]
			(*next).Value = v
			next = &(*next).Next
		}
	}
	switch in.kw {
	case "run":
		if len(rest) > 0 {
			at := len(t) - len(bytes.TrimLeft(t[in.args:], " \t\n\v\f\r"))
			add(orig[at : at+len(rest)])
		}
	case "env":
		for i, j := range words(t, in.args, len(t)) {
			k, v, ok := strings.Cut(orig[i:j], "=")
			if !ok {
				return nil, false // the old form, or an error
			}
			add(k, v, "=")
		}
	default:
		for i, j := range words(t, in.args, len(t)) {
			add(orig[i:j])
		}
	}
	return n, true
}

// nodes returns n free nodes. A file's nodes live and die together, so
// they are allocated a few dozen at a time.
func (x *lexer) nodes(n int) []parser.Node {
	if len(x.slab) < n {
		x.slab = make([]parser.Node, max(n, 32))
	}
	s := x.slab[:n:n]
	x.slab = x.slab[n:]
	return s
}

// words yields the start and end of each word of t[from:to], split at
// ASCII white space.
func words(t []byte, from, to int) iter.Seq2[int, int] {
	return func(yield func(int, int) bool) {
		for i := from; i < to; {
			for i < to && (isBlank(t[i]) || t[i] == '\n') {
				i++
			}
			j := i
			for j < to && !isBlank(t[j]) && t[j] != '\n' {
				j++
			}
			if i < j && !yield(i, j) {
				return
			}
			i = j
		}
	}
}
