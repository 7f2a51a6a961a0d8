package syntax

import (
	"bytes"
	"errors"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/moby/buildkit/frontend/dockerfile/parser"
	"github.com/moby/buildkit/frontend/dockerfile/shell"
)

// The lexer below finds where each instruction of a file starts and ends,
// and its keyword, exactly as BuildKit's parser.Parse does (directives,
// comments, continuation lines, heredocs), but in one pass over the bytes
// and without building nodes. BuildKit's parser is most of the cost of
// reading a file, and dockerfile2llb runs it again on the lowered file, so
// we run it only on the instructions that lowering reads (see Parse), and
// not at all on a file that uses no extension (see Plain).
//
// It is exact by being conservative: wherever reproducing the parser would
// need more than a byte test (a line starting with a non-ASCII character,
// a keyword split by a continuation, a heredoc on a line that may be JSON,
// an escape directive the parser would reject…) it gives up with
// errUnsure, and the caller falls back to BuildKit's parser.

var errUnsure = errors.New("the lexer cannot tell how BuildKit's parser reads this file")

// maxLine is below bufio.MaxScanTokenSize, past which parser.Parse fails:
// such a file is left to it.
const maxLine = 60000

// lexed is one instruction.
type lexed struct {
	start, end int // physical lines, 1-based, inclusive
	from, to   int // byte offsets of those lines in the data
	keyword    []byte
	kw         string // keyword in lower case, as the parser dispatches on it
	// text is the logical line: continuations joined, comment and empty
	// lines in them dropped, as parser.Node.Original. It is only valid until
	// the next call to next.
	text   []byte
	at     int // the offset of text in the data, or -1 if it joins lines
	escape rune

	// Set by splitFlags, which few instructions need.
	split bool
	flags [][]byte // the leading --flags, as the parser splits them
	args  int      // the offset in text of what follows the flags
}

type lexer struct {
	data   []byte
	src    string        // data as a string, when nodes are built
	slab   []parser.Node // the nodes still free, when nodes are built
	pos    int           // offset of the next line
	line   int           // physical lines read
	escape byte
	text   []byte   // reused for lexed.text
	flags  [][]byte // reused for lexed.flags
	words  []byte   // reused for the bytes of lexed.flags
}

// newLexer reads the parser directives, of which only escape matters here.
func newLexer(data []byte) (*lexer, error) {
	x := &lexer{data: bytes.TrimPrefix(data, []byte("\xef\xbb\xbf")), escape: '\\'}
	var seen [len(directives)]bool
	for pos := 0; pos < len(x.data); {
		line, next := lineAt(x.data, pos)
		name, value, ok := directive(bytes.TrimLeftFunc(line, unicode.IsSpace))
		if !ok {
			break
		}
		if seen[name] {
			return nil, errUnsure // the parser's to report
		}
		seen[name] = true
		if name == escapeDirective {
			if value != "`" && value != `\` {
				return nil, errUnsure
			}
			x.escape = value[0]
		}
		pos = next
	}
	return x, nil
}

const escapeDirective = 1 // in directives

// directive reads a line as parser.DirectiveParser does, without its
// regular expression (`^([a-zA-Z][a-zA-Z0-9]*)\s*=\s*(.+?)\s*$` after
// "#"), which costs more than the rest of the lexer on a short file: ok
// is false for a line that ends the directives, name indexes directives.
func directive(line []byte) (name int, value string, ok bool) {
	rest, ok := bytes.CutPrefix(line, []byte("#"))
	if !ok {
		return 0, "", false
	}
	rest = bytes.TrimLeftFunc(rest, unicode.IsSpace)
	n := 0
	for n < len(rest) && ('a' <= rest[n]|0x20 && rest[n]|0x20 <= 'z' || n > 0 && '0' <= rest[n] && rest[n] <= '9') {
		n++
	}
	key := rest[:n]
	rest = trimSpaceRE(rest[n:], true)
	rest, ok = bytes.CutPrefix(rest, []byte("="))
	if !ok || len(rest) == 0 {
		return 0, "", false
	}
	// The lazy (.+?) takes what \s* leaves, and at least one byte: the
	// last one of a value that is all space.
	if v := trimSpaceRE(trimSpaceRE(rest, true), false); len(v) > 0 {
		rest = v
	} else {
		rest = rest[len(rest)-1:]
	}
	for i, k := range directives {
		if strings.EqualFold(string(key), k) {
			return i, string(rest), true
		}
	}
	return 0, "", false
}

// directives are the parser's, in the order directive numbers them.
var directives = [...]string{"syntax", "escape", "check"}

// trimSpaceRE trims white space as regular expressions see it from the
// start or the end of b.
func trimSpaceRE(b []byte, start bool) []byte {
	for start && len(b) > 0 && isSpaceRE(b[0]) {
		b = b[1:]
	}
	for !start && len(b) > 0 && isSpaceRE(b[len(b)-1]) {
		b = b[:len(b)-1]
	}
	return b
}

// isSpaceRE is the \s of regular expressions: [\t\n\f\r ].
func isSpaceRE(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\f' || c == '\r' }

// lineAt returns the line at pos without its line ending (as the parser's
// trimNewline: every trailing \r and \n), and where the next line starts.
func lineAt(data []byte, pos int) (line []byte, next int) {
	end := bytes.IndexByte(data[pos:], '\n')
	if end < 0 {
		end, next = len(data), len(data)
	} else {
		end, next = pos+end, pos+end+1
	}
	for end > pos && (data[end-1] == '\r' || data[end-1] == '\n') {
		end--
	}
	return data[pos:end], next
}

func (x *lexer) readLine() ([]byte, error) {
	line, next := lineAt(x.data, x.pos)
	if next-x.pos > maxLine {
		return nil, errUnsure
	}
	x.pos = next
	x.line++
	return line, nil
}

// isBlank is the set of parser's reWhitespace, which ends the keyword;
// with '\n' it is also the ASCII part of unicode.IsSpace.
func isBlank(b byte) bool { return blank[b] }

var blank = [256]bool{' ': true, '\t': true, '\v': true, '\f': true, '\r': true}

// trimLeft trims leading white space; a line that starts with a non-ASCII
// byte may start with Unicode white space, which the parser also trims.
func trimLeft(line []byte) ([]byte, error) {
	for len(line) > 0 && isBlank(line[0]) {
		line = line[1:]
	}
	if len(line) > 0 && line[0] >= utf8.RuneSelf {
		return nil, errUnsure
	}
	return line, nil
}

// continues reports whether a line ends with the escape character that
// joins the next line to it (the parser's lineContinuationRegex), and
// returns the line without it.
func (x *lexer) continues(line []byte) ([]byte, bool) {
	n := len(line)
	for n > 0 && (line[n-1] == ' ' || line[n-1] == '\t') {
		n--
	}
	if n == 0 || line[n-1] != x.escape || (n > 1 && line[n-2] == x.escape) {
		return line, false
	}
	return line[:n-1], true
}

// next returns the next instruction, or false at the end of the file.
// Its flags are split on demand, by splitFlags.
func (x *lexer) next() (lexed, bool, error) {
	in := lexed{escape: rune(x.escape)}
	var first []byte
	for first == nil {
		if x.pos >= len(x.data) {
			return in, false, nil
		}
		in.from = x.pos
		line, err := x.readLine()
		if err != nil {
			return in, false, err
		}
		t, err := trimLeft(line)
		if err != nil {
			return in, false, err
		}
		if len(t) > 0 && t[0] != '#' {
			first, in.at = t, in.from+len(line)-len(t)
		}
	}
	in.start = x.line
	kw := first
	for i, b := range first {
		if isBlank(b) {
			kw = first[:i]
			break
		}
	}
	if bytes.IndexByte(kw, x.escape) >= 0 {
		return in, false, errUnsure // a keyword continued on the next line
	}

	text, more := x.continues(first)
	in.text = text
	if more {
		x.text = append(x.text[:0], text...)
		in.text, in.at = x.text, -1
	}
	for more && x.pos < len(x.data) {
		line, err := x.readLine()
		if err != nil {
			return in, false, err
		}
		t, err := trimLeft(line)
		if err != nil {
			return in, false, err
		}
		if len(t) == 0 || t[0] == '#' {
			continue // empty and comment lines do not end a continuation
		}
		text, more = x.continues(line)
		x.text = append(x.text, text...)
		in.text = x.text
	}
	// The parser trims Unicode white space off the whole line before it
	// splits the keyword off at ASCII blanks: "RUN\u00a0" is RUN.
	n := min(len(kw), len(bytes.TrimRightFunc(in.text, unicode.IsSpace)))
	in.keyword = in.text[:n]
	in.kw = lower(in.keyword)

	if bytes.Contains(in.text, []byte("<<")) {
		if err := x.skipHeredocs(&in); err != nil {
			return in, false, err
		}
	}
	in.end, in.to = x.line, x.pos
	return in, true, nil
}

// original is the text as a string, a part of the data's when it can.
func (x *lexer) original(in *lexed) string {
	if in.at >= 0 && x.src != "" {
		return x.src[in.at : in.at+len(in.text)]
	}
	return string(in.text)
}

// splitFlags splits the leading --flags as the parser's
// extractBuilderFlags does: quotes group, the escape character escapes
// (each byte read as a rune, even a UTF-8 one), and "--" ends the flags.
func (x *lexer) splitFlags(in *lexed) {
	if in.split {
		return
	}
	in.split = true
	x.flags, x.words = x.flags[:0], x.words[:0]
	t := bytes.TrimSpace(in.text)
	pos := len(in.keyword)
	for {
		for pos < len(t) && isSpaceByte(t[pos]) {
			pos++
		}
		if !bytes.HasPrefix(t[pos:], []byte("--")) {
			break
		}
		start, quote := len(x.words), byte(0)
		for ; pos < len(t) && (quote != 0 || !isSpaceByte(t[pos])); pos++ {
			c := t[pos]
			switch {
			case quote == 0 && (c == '"' || c == '\''):
				quote = c
				continue
			case quote != 0 && c == quote:
				quote = 0
				continue
			case c == x.escape:
				if pos+1 == len(t) {
					continue
				}
				pos++
				c = t[pos]
			}
			if c < utf8.RuneSelf {
				x.words = append(x.words, c)
			} else {
				x.words = utf8.AppendRune(x.words, rune(c))
			}
		}
		word := x.words[start:]
		if string(word) == "--" {
			x.words = x.words[:start]
			break
		}
		x.flags = append(x.flags, word)
	}
	in.flags, in.args = x.flags, pos
}

// isSpaceByte is unicode.IsSpace of a byte read as a rune.
func isSpaceByte(b byte) bool {
	switch b {
	case '\t', '\n', '\v', '\f', '\r', ' ', 0x85, 0xa0:
		return true
	}
	return false
}

// maybeJSON reports whether the instruction's arguments may be a JSON
// array, which the parser reads apart (and never as a heredoc).
func (in *lexed) maybeJSON() bool {
	return bytes.HasPrefix(bytes.TrimLeftFunc(in.text[in.args:], unicode.IsSpace), []byte("["))
}

// skipHeredocs reads the heredoc bodies of an instruction that has any.
func (x *lexer) skipHeredocs(in *lexed) error {
	switch in.kw {
	case "run", "copy", "add":
	case "onbuild":
		return errUnsure
	default:
		return nil
	}
	x.splitFlags(in)
	if in.maybeJSON() {
		return errUnsure
	}
	// As the parser's heredocsFromLine.
	lex := shell.NewLex('\\')
	lex.RawQuotes, lex.RawEscapes, lex.SkipUnsetEnv = true, true, true
	words, _ := lex.ProcessWords(string(in.text), shell.EnvsFromSlice(nil))
	for _, w := range words {
		if !strings.Contains(w, "<<") {
			continue // what the parser's pattern needs
		}
		h, err := parser.ParseHeredoc(w)
		if err != nil {
			return errUnsure
		}
		if h == nil {
			continue
		}
		for {
			if x.pos >= len(x.data) {
				return errUnsure // unterminated: the parser's error
			}
			line, err := x.readLine()
			if err != nil {
				return err
			}
			if h.Chomp {
				line = bytes.TrimLeft(line, "\t")
			}
			if string(line) == h.Name {
				break
			}
		}
	}
	return nil
}

// keywords are the instructions, ours included, in lower case, the most
// frequent first.
var keywords = strings.Fields(`run copy from env arg workdir add label expose cmd entrypoint user
	if else end done poetry volume shell onbuild healthcheck stopsignal maintainer`)

// lower is strings.ToLower, without allocating for a keyword.
func lower(b []byte) string {
	var buf [len("healthcheck")]byte
	if len(b) <= len(buf) {
		for i, c := range b {
			if 'A' <= c && c <= 'Z' {
				c += 'a' - 'A'
			}
			buf[i] = c
		}
		for _, k := range keywords {
			if k == string(buf[:len(b)]) {
				return k
			}
		}
	}
	return strings.ToLower(string(b))
}
