package syntax

import (
	"bytes"
	"errors"
	"regexp"
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
// continuation and heredoc lines.
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

var blockKeyword = regexp.MustCompile(`(?i)^\s*(else\s+if|if|else|end|done)(\s+|$)`)

// Parse reads an xdockerfile. name is used in error messages.
func Parse(name string, data []byte) (*File, error) {
	res, err := parser.Parse(bytes.NewReader(data))
	if err != nil {
		line := 0
		var le *parser.LocationError
		if errors.As(err, &le) && len(le.Locations) > 0 && len(le.Locations[0]) > 0 {
			line = le.Locations[0][0].Start.Line
		}
		msg := err.Error()
		if le != nil {
			msg = le.Unwrap().Error()
		}
		return nil, &Error{File: name, Line: line, Msg: msg}
	}
	f := &File{Name: name, Data: data, Escape: res.EscapeToken}
	b := &blockBuilder{file: f}
	for _, n := range res.AST.Children {
		b.add(n)
	}
	f.Body = b.finish()
	return f, b.errs.Err()
}

type blockBuilder struct {
	file *File
	root []Node
	open []*Block // innermost last
	errs ErrorList
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
	kw := strings.ToLower(n.Value)
	switch kw {
	case "if", "else", "end", "done":
	default:
		body := b.body()
		*body = append(*body, &Instruction{n})
		return
	}
	b.file.Blocks = true
	m := blockKeyword.FindStringSubmatchIndex(n.Original)
	if m == nil {
		b.errorf(r.Start, "cannot read %s line", strings.ToUpper(kw))
		return
	}
	head := strings.ToUpper(strings.Join(strings.Fields(n.Original[m[2]:m[3]]), " "))
	rest := strings.TrimSpace(n.Original[m[1]:])

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
