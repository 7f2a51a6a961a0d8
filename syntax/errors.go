package syntax

import (
	"fmt"
	"sort"
	"strings"
)

// Error is a problem at a line of the user's file.
type Error struct {
	File string
	Line int // 1-based; 0 when the problem has no line
	Msg  string
}

func (e *Error) Error() string {
	name := e.File
	if name == "" {
		name = "Dockerfile"
	}
	if e.Line <= 0 {
		return name + ": " + e.Msg
	}
	return fmt.Sprintf("%s:%d: %s", name, e.Line, e.Msg)
}

// maxErrors bounds how many problems one file reports; past that the rest
// are mostly consequences of the first ones.
const maxErrors = 10

// ErrorList collects the problems of one file, like go/scanner's.
type ErrorList []*Error

func (l *ErrorList) add(file string, line int, format string, args ...any) {
	*l = append(*l, &Error{File: file, Line: line, Msg: fmt.Sprintf(format, args...)})
}

func (l ErrorList) Error() string {
	msgs := make([]string, len(l))
	for i, e := range l {
		msgs[i] = e.Error()
	}
	return strings.Join(msgs, "\n")
}

// Err returns nil for an empty list, the single error for one, and the
// sorted, de-duplicated, bounded list otherwise.
func (l ErrorList) Err() error {
	switch len(l) {
	case 0:
		return nil
	case 1:
		return l[0]
	}
	sort.SliceStable(l, func(i, j int) bool { return l[i].Line < l[j].Line })
	out := l[:0]
	for i, e := range l {
		if i > 0 && *e == *l[i-1] {
			continue
		}
		out = append(out, e)
	}
	if len(out) > maxErrors {
		out = out[:maxErrors]
	}
	return out
}
