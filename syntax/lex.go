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
	text  []byte
	flags [][]byte // the leading --flags, as the parser splits them
	// args is the offset in text of what follows the flags.
	args   int
	escape rune
}

type lexer struct {
	data   []byte
	pos    int // offset of the next line
	line   int // physical lines read
	escape byte
	text   []byte   // reused for lexed.text
	flags  [][]byte // reused for lexed.flags
	words  []byte   // reused for the bytes of lexed.flags
}

// newLexer reads the parser directives, of which only escape matters here.
func newLexer(data []byte) (*lexer, error) {
	x := &lexer{data: bytes.TrimPrefix(data, []byte("\xef\xbb\xbf")), escape: '\\'}
	var dp parser.DirectiveParser
	for pos := 0; pos < len(x.data); {
		line, next := lineAt(x.data, pos)
		d, err := dp.ParseLine(bytes.TrimLeftFunc(line, unicode.IsSpace))
		if err != nil {
			return nil, errUnsure // the parser's to report
		}
		if d == nil {
			break
		}
		if d.Name == "escape" {
			if d.Value != "`" && d.Value != `\` {
				return nil, errUnsure
			}
			x.escape = d.Value[0]
		}
		pos = next
	}
	return x, nil
}

// lineAt returns the line at pos without its line ending (as the parser's
// trimNewline: every trailing \r and \n), and where the next line starts.
func lineAt(data []byte, pos int) (line []byte, next int) {
	end := bytes.IndexByte(data[pos:], '\n')
	if end < 0 {
		end, next = len(data), len(data)
	} else {
		end, next = pos+end, pos+end+1
	}
	return bytes.TrimRight(data[pos:end], "\r\n"), next
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
func isBlank(b byte) bool {
	return b == ' ' || b == '\t' || b == '\v' || b == '\f' || b == '\r'
}

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
	t := bytes.TrimRight(line, " \t")
	n := len(t)
	if n == 0 || t[n-1] != x.escape || (n > 1 && t[n-2] == x.escape) {
		return line, false
	}
	return t[:n-1], true
}

// next returns the next instruction, or false at the end of the file.
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
		if line, err = trimLeft(line); err != nil {
			return in, false, err
		}
		if len(line) > 0 && line[0] != '#' {
			first = line
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
	x.text = append(x.text[:0], text...)
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
	}
	in.text = x.text
	in.keyword = in.text[:len(kw)]
	in.kw = lower(in.keyword)
	x.splitFlags(&in)

	if bytes.Contains(in.text, []byte("<<")) {
		if err := x.skipHeredocs(&in); err != nil {
			return in, false, err
		}
	}
	in.end, in.to = x.line, x.pos
	return in, true, nil
}

// splitFlags splits the leading --flags as the parser's
// extractBuilderFlags does: quotes group, the escape character escapes
// (each byte read as a rune, even a UTF-8 one), and "--" ends the flags.
func (x *lexer) splitFlags(in *lexed) {
	space := func(b byte) bool { return unicode.IsSpace(rune(b)) }
	x.flags, x.words = x.flags[:0], x.words[:0]
	t := bytes.TrimSpace(in.text)
	pos := len(in.keyword)
	for {
		for pos < len(t) && space(t[pos]) {
			pos++
		}
		if !bytes.HasPrefix(t[pos:], []byte("--")) {
			break
		}
		start, quote := len(x.words), byte(0)
		for ; pos < len(t) && (quote != 0 || !space(t[pos])); pos++ {
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
			x.words = utf8.AppendRune(x.words, rune(c))
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
	if in.maybeJSON() {
		return errUnsure
	}
	// As the parser's heredocsFromLine.
	lex := shell.NewLex('\\')
	lex.RawQuotes, lex.RawEscapes, lex.SkipUnsetEnv = true, true, true
	words, _ := lex.ProcessWords(string(in.text), shell.EnvsFromSlice(nil))
	for _, w := range words {
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

// keywords are the instructions, ours included, in lower case.
var keywords = map[string]string{}

func init() {
	for _, k := range []string{"add", "arg", "cmd", "copy", "entrypoint", "env", "expose", "from",
		"healthcheck", "label", "maintainer", "onbuild", "run", "shell", "stopsignal", "user",
		"volume", "workdir", "if", "else", "end", "done", "poetry"} {
		keywords[k] = k
	}
}

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
		if k, ok := keywords[string(buf[:len(b)])]; ok {
			return k
		}
	}
	return strings.ToLower(string(b))
}
