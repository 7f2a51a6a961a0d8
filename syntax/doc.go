// Package syntax reads the xdockerfile dialect: a Dockerfile whose lines may
// be grouped into IF / ELSE IF / ELSE / END blocks with conditions.
//
// Lines are lexed by BuildKit's own Dockerfile parser, which keeps unknown
// keywords such as IF with their line numbers, so continuation lines,
// heredocs, comments and parser directives mean exactly what they mean
// upstream. This package only adds the block structure and the condition
// language on top; it evaluates nothing and knows nothing about LLB.
package syntax
