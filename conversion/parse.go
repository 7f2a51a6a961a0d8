package conversion

import (
	"strings"

	"github.com/moby/buildkit/frontend/dockerfile/instructions"
	"github.com/moby/buildkit/frontend/dockerfile/parser"
)

// FROM, ARG and ENV are read as instructions.ParseInstruction reads them,
// their usual forms by hand: ParseInstruction's set-up (flags, linter,
// location, a typed command) costs more than lowering such a line. Each
// returns false where ParseInstruction fails.

// parseFrom returns the base image and the stage name of a FROM line.
func parseFrom(n *parser.Node) (base, name string, ok bool) {
	args, ok := plainArgs(n)
	if !ok {
		st, ok := parseInstruction[*instructions.Stage](n)
		if !ok {
			return "", "", false
		}
		return st.BaseName, st.Name, true
	}
	switch {
	case len(args) == 3 && strings.EqualFold(args[1], "as"):
		name = strings.ToLower(args[2])
		if !validStageName(name) {
			return "", "", false
		}
	case len(args) != 1:
		return "", "", false
	}
	return args[0], name, true
}

// validStageName is instructions' `^[a-z][a-z0-9-_.]*$`.
func validStageName(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('a' <= c && c <= 'z' || i > 0 && ('0' <= c && c <= '9' || c == '-' || c == '_' || c == '.')) {
			return false
		}
	}
	return s != ""
}

// parseArg returns the variables an ARG line declares. ARG has no flags
// that upstream reads.
func parseArg(n *parser.Node) ([]instructions.KeyValuePairOptional, bool) {
	args, ok := nodeArgs(n)
	if !ok {
		ac, ok := parseInstruction[*instructions.ArgCommand](n)
		if !ok {
			return nil, false
		}
		return ac.Args, true
	}
	if len(args) == 0 {
		return nil, false
	}
	kvs := make([]instructions.KeyValuePairOptional, len(args))
	for i, arg := range args {
		key, value, ok := strings.Cut(arg, "=")
		if ok && key == "" {
			return nil, false
		}
		kvs[i].Key = key
		if ok {
			kvs[i].Value = &value
		}
	}
	return kvs, true
}

// parseEnv returns the variables an ENV line sets.
func parseEnv(n *parser.Node) (instructions.KeyValuePairs, bool) {
	args, ok := plainArgs(n)
	if !ok {
		ec, ok := parseInstruction[*instructions.EnvCommand](n)
		if !ok {
			return nil, false
		}
		return ec.Env, true
	}
	// The parser splits each pair into name, value and "=".
	if len(args) == 0 || len(args)%3 != 0 {
		return nil, false
	}
	kvs := make(instructions.KeyValuePairs, 0, len(args)/3)
	for i := 0; i < len(args); i += 3 {
		if args[i] == "" {
			return nil, false
		}
		kvs = append(kvs, instructions.KeyValuePair{Key: args[i], Value: args[i+1], NoDelim: args[i+2] == ""})
	}
	return kvs, true
}

// plainArgs returns the words of a node with no flags and no sub-command,
// or false.
func plainArgs(n *parser.Node) ([]string, bool) {
	if len(n.Flags) > 0 {
		return nil, false
	}
	return nodeArgs(n)
}

// nodeArgs returns the words of a node with no sub-command, or false.
func nodeArgs(n *parser.Node) ([]string, bool) {
	count := 0
	for a := n.Next; a != nil; a = a.Next {
		if len(a.Children) > 0 {
			return nil, false
		}
		count++
	}
	args := make([]string, 0, count)
	for a := n.Next; a != nil; a = a.Next {
		args = append(args, a.Value)
	}
	return args, true
}

func parseInstruction[T any](n *parser.Node) (T, bool) {
	cmd, err := instructions.ParseInstruction(n)
	c, ok := cmd.(T)
	return c, ok && err == nil
}
