// Package syntax reads the xdockerfile dialect: a Dockerfile whose lines may
// be grouped into IF / ELSE IF / ELSE / END blocks with conditions.
//
// Lines mean exactly what they mean to BuildKit's own Dockerfile parser,
// which keeps unknown keywords such as IF with their line numbers, so
// continuation lines, heredocs, comments and parser directives mean what
// they mean upstream. A lexer that delimits instructions as that parser
// does (lex.go) spares most of its cost: dockerfile2llb parses the lowered
// file again anyway. This package only adds the block structure and the
// condition language on top; it evaluates nothing and knows nothing about
// LLB.
package syntax
