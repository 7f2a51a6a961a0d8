package syntax

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"strings"

	"github.com/moby/buildkit/frontend/dockerfile/parser"
)

// Range is a span of physical lines of the user's file, 1-based, inclusive.
type Range struct{ Start, End int }

// Node is an element of a body: an *Instruction or a *Block.
type Node interface {
	Range() Range
	node()
}

// Instruction is one instruction as BuildKit's parser read it, with its
// continuation and heredoc lines. Instructions that lowering never reads
// and that the parser cannot reject (RUN, COPY, ADD… without a variable
// in their flags, WORKDIR, USER…) are not handed to the parser, which
// dockerfile2llb runs on the lowered file anyway: their Node has only the
// keyword, the text and the lines. No Node keeps the comments above it.
type Instruction struct{ *parser.Node }

// Block is IF … [ELSE IF …]… [ELSE …] END.
type Block struct {
	Branches []*Branch
	End      Range // the END (or DONE) line

	elseLine int // the ELSE line, once seen
}

// Branch is one arm of a block.
type Branch struct {
	Head Range  // the IF, ELSE IF or ELSE line
	Cond Expr   // nil for ELSE
	Text string // the condition as written
	Body []Node
}

func (i *Instruction) Range() Range { return Range{i.StartLine, i.EndLine} }
func (b *Block) Range() Range       { return Range{b.Branches[0].Head.Start, b.End.End} }
func (*Instruction) node()          {}
func (*Block) node()                {}

// Keyword is the instruction's keyword in upper case.
func (i *Instruction) Keyword() string { return strings.ToUpper(i.Value) }

// File is a parsed xdockerfile.
type File struct {
	Name   string
	Data   []byte
	Escape rune
	Body   []Node
	// Blocks reports whether the file uses IF blocks at all.
	Blocks bool
	// Plain is set by Read on a file that uses no extension; Body is then
	// empty, and the file lowers to Data.
	Plain bool
}

// Walk calls fn for every instruction of every branch, in file order.
func Walk(body []Node, fn func(*Instruction)) {
	for _, n := range body {
		switch n := n.(type) {
		case *Instruction:
			fn(n)
		case *Block:
			for _, b := range n.Branches {
				Walk(b.Body, fn)
			}
		}
	}
}

// Parse reads an xdockerfile. name is used in error messages.
func Parse(name string, data []byte) (*File, error) {
	f, nodes, err := lexNodes(name, data)
	if errors.Is(err, errUnsure) {
		f, nodes, err = parseNodes(name, data)
	}
	if err != nil {
		return nil, err
	}
	b := &blockBuilder{file: f, root: make([]Node, 0, len(nodes)), insts: make([]Instruction, 0, len(nodes))}
	for _, n := range nodes {
		b.add(n)
	}
	f.Body = b.finish()
	return f, b.errs.Err()
}

// parseNodes reads the file with BuildKit's parser.
func parseNodes(name string, data []byte) (*File, []*parser.Node, error) {
	res, err := parser.Parse(bytes.NewReader(data))
	if err != nil {
		if line := tooLong(data); line > 0 {
			// The parser says so at the line before, or, inside a
			// heredoc, calls the heredoc unterminated.
			return nil, nil, &Error{File: name, Line: line, Msg: fmt.Sprintf("dockerfile line greater than max allowed size of %d", bufio.MaxScanTokenSize-1)}
		}
		line := 0
		var le *parser.LocationError
		if errors.As(err, &le) && len(le.Locations) > 0 && len(le.Locations[0]) > 0 {
			line = le.Locations[0][0].Start.Line
		}
		msg := err.Error()
		if le != nil {
			msg = le.Unwrap().Error()
		}
		// The parser reports a directive it rejects at the line before,
		// the number of lines it had read.
		if strings.HasPrefix(msg, "invalid escape token") || strings.HasSuffix(msg, "parser directive can be used") {
			line++
		}
		return nil, nil, &Error{File: name, Line: line, Msg: msg}
	}
	return &File{Name: name, Data: data, Escape: res.EscapeToken}, res.AST.Children, nil
}

// tooLong returns the first line longer than BuildKit's parser reads
// (its scanner's buffer holds the line and its newline), or 0.
func tooLong(data []byte) int {
	for n := 1; len(data) > 0; n++ {
		end := bytes.IndexByte(data, '\n')
		if end < 0 {
			end = len(data)
		}
		if end >= bufio.MaxScanTokenSize {
			return n
		}
		data = data[min(end+1, len(data)):]
	}
	return 0
}

// lexNodes reads the file with the lexer. Of the instructions lowering
// reads, it builds the simplest itself and hands the others to BuildKit's
// parser, together as one smaller file; the others keep the lexer's
// keyword, text and lines.
func lexNodes(name string, data []byte) (*File, []*parser.Node, error) {
	x, err := newLexer(data)
	if err != nil {
		return nil, nil, err
	}
	x.src = string(x.data)
	var nodes, parse []*parser.Node
	var doc bytes.Buffer
	if x.escape != parser.DefaultEscapeToken {
		doc.WriteString("# escape=" + string(x.escape) + "\n")
	}
	for {
		in, more, err := x.next()
		if err != nil {
			return nil, nil, err
		}
		if !more {
			break
		}
		x.splitFlags(&in)
		light := blockKeyword(in.kw) || in.light()
		if !light {
			if n, ok := x.node(&in); ok {
				nodes = append(nodes, n)
				continue
			}
		}
		n := &x.nodes(1)[0]
		n.Original = x.original(&in)
		n.Value, n.StartLine, n.EndLine = n.Original[:len(in.keyword)], in.start, in.end
		nodes = append(nodes, n)
		if light {
			continue
		}
		parse = append(parse, n)
		doc.Write(x.data[in.from:in.to])
		if x.data[in.to-1] != '\n' {
			doc.WriteByte('\n')
		}
	}
	if len(nodes) == 0 {
		return nil, nil, errUnsure // the parser's error
	}
	if len(parse) > 0 {
		res, err := parser.Parse(&doc)
		if err != nil || len(res.AST.Children) != len(parse) {
			return nil, nil, errUnsure // errors are reported at their line by parseNodes
		}
		for i, c := range res.AST.Children {
			n := parse[i]
			if c.Original != n.Original || c.EndLine-c.StartLine != n.EndLine-n.StartLine {
				return nil, nil, errUnsure // never, but cheap to check
			}
			c.StartLine, c.EndLine = n.StartLine, n.EndLine
			*n = *c
		}
	}
	return &File{Name: name, Data: data, Escape: rune(x.escape)}, nodes, nil
}

// blockKeyword reports whether a keyword in lower case opens, continues or
// closes a block.
func blockKeyword(kw string) bool {
	switch kw {
	case "if", "else", "end", "done":
		return true
	}
	return false
}

type blockBuilder struct {
	file  *File
	root  []Node
	insts []Instruction // allocated at once, never grown
	open  []*Block      // innermost last
	errs  ErrorList
}

func (b *blockBuilder) errorf(line int, format string, args ...any) {
	b.errs.add(b.file.Name, line, format, args...)
}

// body returns the body that new nodes go into.
func (b *blockBuilder) body() *[]Node {
	if len(b.open) == 0 {
		return &b.root
	}
	br := b.open[len(b.open)-1].Branches
	return &br[len(br)-1].Body
}

func (b *blockBuilder) add(n *parser.Node) {
	r := Range{n.StartLine, n.EndLine}
	kw := n.Value
	if len(kw) <= len("else") { // nothing longer lowers to a block keyword
		kw = lower([]byte(kw))
	}
	if !blockKeyword(kw) {
		b.insts = append(b.insts, Instruction{n})
		body := b.body()
		*body = append(*body, &b.insts[len(b.insts)-1])
		return
	}
	b.file.Blocks = true
	head, rest, ok := blockHead(n.Original)
	if !ok {
		b.errorf(r.Start, "cannot read %s line", strings.ToUpper(kw))
		return
	}

	switch head {
	case "IF":
		blk := &Block{}
		blk.Branches = append(blk.Branches, b.branch(r, head, rest))
		body := b.body()
		*body = append(*body, blk)
		b.open = append(b.open, blk)
	case "ELSE IF", "ELSE":
		blk := b.innermost(r, head)
		if blk == nil {
			return
		}
		if blk.elseLine > 0 {
			b.errorf(r.Start, "%s after ELSE (the ELSE at line %d must come last)", head, blk.elseLine)
		} else if head == "ELSE" {
			blk.elseLine = r.Start
		}
		if head == "ELSE" && rest != "" {
			b.errorf(r.Start, "unexpected %q after ELSE (did you mean ELSE IF?)", rest)
		}
		blk.Branches = append(blk.Branches, b.branch(r, head, rest))
	case "END", "DONE":
		blk := b.innermost(r, head)
		if blk == nil {
			return
		}
		if rest != "" {
			b.errorf(r.Start, "unexpected %q after %s", rest, head)
		}
		blk.End = r
		b.open = b.open[:len(b.open)-1]
	}
}

// blockHead splits a block line into IF, ELSE IF, ELSE, END or DONE and
// the rest, as `(?i)^\s*(else\s+if|if|else|end|done)(\s+|$)` would.
func blockHead(line string) (head, rest string, ok bool) {
	word, rest := cutWord(line)
	for _, kw := range [...]string{"IF", "ELSE", "END", "DONE"} {
		if strings.EqualFold(word, kw) {
			head, ok = kw, true
		}
	}
	if head == "ELSE" && rest != "" {
		if word, after := cutWord(rest); strings.EqualFold(word, "IF") {
			head, rest = "ELSE IF", after
		}
	}
	return head, strings.TrimSpace(rest), ok
}

// cutWord returns the first word of s, delimited by the white space of
// regular expressions (\s), and what follows it.
func cutWord(s string) (word, rest string) {
	i := 0
	for i < len(s) && isSpaceRE(s[i]) {
		i++
	}
	j := i
	for j < len(s) && !isSpaceRE(s[j]) {
		j++
	}
	return s[i:j], s[j:]
}

func (b *blockBuilder) innermost(r Range, head string) *Block {
	if len(b.open) == 0 {
		b.errorf(r.Start, "%s without IF", head)
		return nil
	}
	return b.open[len(b.open)-1]
}

func (b *blockBuilder) branch(r Range, head, cond string) *Branch {
	br := &Branch{Head: r, Text: cond}
	if head == "ELSE" {
		return br
	}
	e, err := ParseCondition(cond, b.file.Escape)
	if err != nil {
		b.errorf(r.Start, "%s: %v", strings.TrimSpace(head+" "+cond), err)
		e = &Truth{}
	}
	br.Cond = e
	return br
}

func (b *blockBuilder) finish() []Node {
	for _, blk := range b.open {
		b.errorf(blk.Branches[0].Head.Start, "IF without END")
		blk.End = Range{-1, -1}
	}
	return b.root
}
