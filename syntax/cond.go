package syntax

import (
	"errors"
	"fmt"
	"regexp"
	rsyntax "regexp/syntax"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Expr is a condition. The set of expression types is closed.
type Expr interface {
	exprNode()
	String() string
}

// Word is an operand as the user wrote it: bare, "double quoted" or
// 'single quoted', with any $VAR references still in it. Evaluation expands
// it with BuildKit's shell lexer, so quoting means what it means in RUN.
type Word struct {
	Raw string
}

type (
	// Binary is X && Y or X || Y.
	Binary struct {
		Op   string // "&&" or "||"
		X, Y Expr
	}
	// Not is !X.
	Not struct{ X Expr }
	// Compare is X == Y, X != Y, X =~ Y or X !~ Y.
	Compare struct {
		Op    string
		X, Y  Word
		Regex *regexp.Regexp // compiled at parse time when Y has no variables
	}
	// Exists tests a path or glob in the main build context.
	Exists struct{ Path Word }
	// Defined tests that an ARG or ENV of that name is declared and set.
	Defined struct{ Name string }
	// Truth tests a word for truthiness.
	Truth struct{ Word Word }
)

func (*Binary) exprNode()  {}
func (*Not) exprNode()     {}
func (*Compare) exprNode() {}
func (*Exists) exprNode()  {}
func (*Defined) exprNode() {}
func (*Truth) exprNode()   {}

func (e *Binary) String() string { return "(" + e.X.String() + " " + e.Op + " " + e.Y.String() + ")" }
func (e *Not) String() string {
	x := e.X.String()
	if strings.HasPrefix(x, "~") || strings.HasPrefix(x, "=") {
		return "! " + x // "!~" and "!=" are operators
	}
	return "!" + x
}
func (e *Compare) String() string { return e.X.Raw + " " + e.Op + " " + e.Y.Raw }
func (e *Exists) String() string  { return "EXISTS " + e.Path.Raw }
func (e *Defined) String() string { return "DEFINED " + e.Name }
func (e *Truth) String() string   { return e.Word.Raw }

// Truthy reports whether a value counts as true: non-empty and not one of
// 0, false, no, off in any case.
func Truthy(s string) bool {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "", "0", "false", "no", "off":
		return false
	}
	return true
}

// Words returns the operands of e in source order.
func Words(e Expr) []Word {
	switch e := e.(type) {
	case *Binary:
		return append(Words(e.X), Words(e.Y)...)
	case *Not:
		return Words(e.X)
	case *Compare:
		return []Word{e.X, e.Y}
	case *Exists:
		return []Word{e.Path}
	case *Truth:
		return []Word{e.Word}
	}
	return nil
}

// ParseCondition parses the text after IF or ELSE IF. escape is the file's
// escape character.
func ParseCondition(src string, escape rune) (Expr, error) {
	p := &condParser{lex: condLexer{src: src, escape: escape}}
	p.next()
	if p.tok.kind == tEOF && p.err == nil {
		return nil, fmt.Errorf("missing condition")
	}
	e := p.or()
	if p.err == nil && p.tok.kind != tEOF {
		p.fail("unexpected %s", p.tok)
	}
	if p.err != nil {
		return nil, p.err
	}
	return e, nil
}

type tokKind int

const (
	tEOF tokKind = iota
	tWord
	tOp // == != =~ !~
	tAnd
	tOr
	tNot
	tLParen
	tRParen
)

type token struct {
	kind tokKind
	text string
	raw  bool // a bare word with no quotes or variables
}

func (t token) String() string {
	switch t.kind {
	case tEOF:
		return "end of condition"
	case tWord:
		return fmt.Sprintf("word %q", t.text)
	}
	return fmt.Sprintf("%q", t.text)
}

type condLexer struct {
	src    string
	pos    int
	escape rune
}

func (l *condLexer) peekAt(i int) byte {
	if l.pos+i < len(l.src) {
		return l.src[l.pos+i]
	}
	return 0
}

// scan returns the next token. In regex mode a bare word may hold
// balanced parentheses and single '|', so `=~ ^(a|b)$` needs no quotes.
func (l *condLexer) scan(regex bool) (token, error) {
	for l.pos < len(l.src) && isSpace(l.src[l.pos]) {
		l.pos++
	}
	if l.pos >= len(l.src) {
		return token{kind: tEOF}, nil
	}
	c, c1 := l.peekAt(0), l.peekAt(1)
	two := string([]byte{c, c1})
	switch {
	case two == "==" || two == "!=" || two == "=~" || two == "!~":
		l.pos += 2
		return token{kind: tOp, text: two}, nil
	case two == "&&":
		l.pos += 2
		return token{kind: tAnd, text: two}, nil
	case two == "||":
		l.pos += 2
		return token{kind: tOr, text: two}, nil
	case c == '!':
		l.pos++
		return token{kind: tNot, text: "!"}, nil
	case c == '(' && !regex:
		l.pos++
		return token{kind: tLParen, text: "("}, nil
	case c == ')':
		l.pos++
		return token{kind: tRParen, text: ")"}, nil
	case c == '=':
		return token{}, fmt.Errorf("'=' is not an operator; compare with '=='")
	}
	return l.word(regex)
}

func (l *condLexer) word(regex bool) (token, error) {
	start, depth, plain := l.pos, 0, true
	esc := byte(l.escape)
	for l.pos < len(l.src) {
		c, c1 := l.src[l.pos], l.peekAt(1)
		switch {
		case isSpace(c):
			return l.done(start, plain), nil
		case c == esc:
			if l.pos+1 >= len(l.src) {
				return token{}, fmt.Errorf("escape character %q at the end of the condition", esc)
			}
			plain = false
			l.pos += 2
			continue
		case c == '"' || c == '\'':
			plain = false
			if err := l.quoted(c); err != nil {
				return token{}, err
			}
			continue
		case c == '$':
			plain = false
			if c1 == '{' {
				if err := l.braced(); err != nil {
					return token{}, err
				}
				continue
			}
		case (c == '=' || c == '!') && (c1 == '=' || c1 == '~'):
			return l.done(start, plain), nil
		case (c == '&' && c1 == '&') || (c == '|' && c1 == '|'):
			return l.done(start, plain), nil
		case c == '(':
			if !regex {
				return l.done(start, plain), nil
			}
			depth++
		case c == ')':
			if depth == 0 {
				return l.done(start, plain), nil
			}
			depth--
		}
		l.pos++
	}
	return l.done(start, plain), nil
}

func (l *condLexer) done(start int, plain bool) token {
	return token{kind: tWord, text: l.src[start:l.pos], raw: plain}
}

func (l *condLexer) quoted(q byte) error {
	start := l.pos
	l.pos++
	for l.pos < len(l.src) {
		c := l.src[l.pos]
		if q == '"' && c == byte(l.escape) && l.pos+1 < len(l.src) {
			l.pos += 2
			continue
		}
		l.pos++
		if c == q {
			return nil
		}
	}
	return fmt.Errorf("unterminated quote in %s", l.src[start:])
}

func (l *condLexer) braced() error {
	start, depth := l.pos, 0
	for l.pos < len(l.src) {
		switch l.src[l.pos] {
		case '{':
			depth++
		case '}':
			depth--
			if depth == 0 {
				l.pos++
				return nil
			}
		}
		l.pos++
	}
	return fmt.Errorf("missing '}' in %s", l.src[start:])
}

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\r' || c == '\n' }

type condParser struct {
	lex condLexer
	tok token
	err error
}

func (p *condParser) next() { p.nextMode(false) }

func (p *condParser) nextMode(regex bool) {
	if p.err != nil {
		p.tok = token{kind: tEOF}
		return
	}
	t, err := p.lex.scan(regex)
	if err != nil {
		p.err = err
		t = token{kind: tEOF}
	}
	p.tok = t
}

func (p *condParser) fail(format string, args ...any) {
	if p.err == nil {
		p.err = fmt.Errorf(format, args...)
	}
	p.tok = token{kind: tEOF}
}

func (p *condParser) or() Expr {
	x := p.and()
	for p.tok.kind == tOr {
		p.next()
		x = &Binary{Op: "||", X: x, Y: p.and()}
	}
	return x
}

func (p *condParser) and() Expr {
	x := p.unary()
	for p.tok.kind == tAnd {
		p.next()
		x = &Binary{Op: "&&", X: x, Y: p.unary()}
	}
	return x
}

func (p *condParser) unary() Expr {
	switch p.tok.kind {
	case tNot:
		p.next()
		return &Not{X: p.unary()}
	case tLParen:
		p.next()
		x := p.or()
		if p.tok.kind != tRParen {
			p.fail("missing ')'")
			return x
		}
		p.next()
		return x
	case tWord:
		return p.test()
	}
	p.fail("expected an operand, found %s", p.tok)
	return &Truth{}
}

func (p *condParser) test() Expr {
	first := p.tok
	p.next()
	if first.raw && p.tok.kind == tWord {
		switch strings.ToUpper(first.text) {
		case "EXISTS":
			path := p.tok
			p.next()
			return &Exists{Path: Word{Raw: path.text}}
		case "DEFINED":
			name := p.tok
			p.next()
			if !name.raw || !isName(name.text) {
				p.fail("DEFINED takes a variable name, not %s", name)
			}
			return &Defined{Name: name.text}
		}
	}
	if p.tok.kind != tOp {
		return &Truth{Word: Word{Raw: first.text}}
	}
	op := p.tok.text
	regex := op == "=~" || op == "!~"
	p.nextMode(regex)
	if p.tok.kind != tWord {
		p.fail("expected an operand after %q, found %s", op, p.tok)
		return &Truth{}
	}
	c := &Compare{Op: op, X: Word{Raw: first.text}, Y: Word{Raw: p.tok.text}}
	if regex && p.tok.raw {
		re, err := regexp.Compile(p.tok.text)
		if err != nil {
			p.fail("%s", RegexpError(p.tok.text, err))
			return c
		}
		c.Regex = re
	}
	p.next()
	return c
}

// RegexpError says why pattern does not compile, quoting no more than the
// start of a long one (a build arg may hold kilobytes).
func RegexpError(pattern string, err error) string {
	msg := strings.TrimPrefix(err.Error(), "error parsing regexp: ")
	var se *rsyntax.Error
	if errors.As(err, &se) {
		msg = se.Code.String()
		if se.Expr != "" {
			msg += ": `" + prefix(se.Expr) + "`"
		}
	}
	quoted := fmt.Sprintf("%q", prefix(pattern))
	if len(pattern) > maxQuoted {
		quoted += fmt.Sprintf(" (%d bytes)", len(pattern))
	}
	return fmt.Sprintf("invalid regular expression %s: %s", quoted, msg)
}

const maxQuoted = 60

// prefix cuts s after maxQuoted bytes, at a rune boundary, marking the cut.
func prefix(s string) string {
	if len(s) <= maxQuoted {
		return s
	}
	cut := maxQuoted
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "…"
}

func isName(s string) bool {
	for i, r := range s {
		if r != '_' && !unicode.IsLetter(r) && (i == 0 || !unicode.IsDigit(r)) {
			return false
		}
	}
	return s != ""
}
