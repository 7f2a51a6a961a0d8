package poetry

import (
	"bytes"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/pelletier/go-toml/v2/unstable"
)

// table is a TOML table that remembers key order (dependency order decides
// the order markers are combined in, which shows in the output) and the line
// each key was written on (for error messages).
type table struct {
	keys   []string
	vals   map[string]any // scalar, []any, *table
	lines  map[string]int
	line   int
	origin origin
}

// origin is how a table came to be, which decides what TOML still lets a
// document add to it.
type origin uint8

const (
	implied origin = iota // named on the way to a header: a in [a.b]
	header                // [a], or an element of [[a]]
	dotted                // made by a dotted key: a in a.b = 1
	inline                // a = {…}: closed once written
)

func newTable(line int) *table {
	return &table{vals: map[string]any{}, lines: map[string]int{}, line: line}
}

func (t *table) set(k string, v any, line int) {
	if _, ok := t.vals[k]; !ok {
		t.keys = append(t.keys, k)
	}
	t.vals[k] = v
	t.lines[k] = line
}

func (t *table) get(k string) (any, bool) {
	if t == nil {
		return nil, false
	}
	v, ok := t.vals[k]
	return v, ok
}

func (t *table) table(k string) *table {
	v, _ := t.get(k)
	tt, _ := v.(*table)
	return tt
}

func (t *table) str(k string) (string, bool) {
	v, _ := t.get(k)
	s, ok := v.(string)
	return s, ok
}

func (t *table) boolean(k string) bool {
	v, _ := t.get(k)
	b, _ := v.(bool)
	return b
}

func (t *table) array(k string) []any {
	v, _ := t.get(k)
	a, _ := v.([]any)
	return a
}

func (t *table) lineOf(k string) int {
	if t == nil {
		return 0
	}
	if l, ok := t.lines[k]; ok {
		return l
	}
	return t.line
}

// tomlError is a syntax error with its line.
type tomlError struct {
	line int
	msg  string
}

func (e *tomlError) Error() string { return e.msg }

func parseTOML(data []byte) (*table, error) {
	b := &treeBuilder{root: newTable(0)}
	b.root.origin = header
	b.p.Reset(data)
	b.cur = b.root
	for b.p.NextExpression() {
		if err := b.expression(b.p.Expression()); err != nil {
			return nil, err
		}
	}
	if err := b.p.Error(); err != nil {
		line := 0
		if pe, ok := err.(*unstable.ParserError); ok {
			line = lineAt(data, pe.Highlight)
		}
		return nil, &tomlError{line: line, msg: "invalid TOML: " + err.Error()}
	}
	return b.root, nil
}

type treeBuilder struct {
	p     unstable.Parser
	root  *table
	cur   *table
	lines []int // offset of each line's end
}

// line is the line a node starts on, found in the line index: asking the
// parser would rescan the document from its start for every key.
func (b *treeBuilder) line(n *unstable.Node) int {
	if b.lines == nil {
		data := b.p.Data()
		for i, c := range data {
			if c == '\n' {
				b.lines = append(b.lines, i)
			}
		}
		b.lines = append(b.lines, len(data))
	}
	i, _ := slices.BinarySearch(b.lines, int(n.Raw.Offset))
	return i + 1
}

func (b *treeBuilder) errorf(n *unstable.Node, format string, args ...any) error {
	return &tomlError{line: b.line(n), msg: fmt.Sprintf(format, args...)}
}

func keyParts(it unstable.Iterator) []*unstable.Node {
	var parts []*unstable.Node
	for it.Next() {
		parts = append(parts, it.Node())
	}
	return parts
}

// lineAt is the line of part, a slice of data (0 when it is not one).
func lineAt(data, part []byte) int {
	off := cap(data) - cap(part)
	if part == nil || off < 0 || off > len(data) {
		return 0
	}
	return bytes.Count(data[:off], []byte("\n")) + 1
}

// descend walks a header's key to the table it names, creating the tables
// on the way; into the last element of an array of tables.
func (b *treeBuilder) descend(parts []*unstable.Node) (*table, error) {
	t := b.root
	for _, k := range parts {
		name := string(k.Data)
		switch v := t.vals[name].(type) {
		case nil:
			nt := newTable(b.line(k))
			t.set(name, nt, b.line(k))
			t = nt
		case *table:
			if v.origin == inline {
				return nil, b.errorf(k, "invalid TOML: table %q is an inline table, which cannot be extended", name)
			}
			t = v
		case []any:
			last := tableArrayEnd(v)
			if last == nil {
				return nil, b.errorf(k, "invalid TOML: key %q is an array, not a table", name)
			}
			t = last
		default:
			return nil, b.errorf(k, "invalid TOML: key %q is a value, not a table", name)
		}
	}
	return t, nil
}

// tableArrayEnd is the last table of an array made by [[…]] headers, nil
// for an array written as a value.
func tableArrayEnd(a []any) *table {
	if len(a) == 0 {
		return nil
	}
	if t, ok := a[len(a)-1].(*table); ok && t.origin == header {
		return t
	}
	return nil
}

func (b *treeBuilder) expression(n *unstable.Node) error {
	switch n.Kind {
	case unstable.Table:
		parts := keyParts(n.Key())
		parent, err := b.descend(parts[:len(parts)-1])
		if err != nil {
			return err
		}
		last := parts[len(parts)-1]
		name := string(last.Data)
		switch v := parent.vals[name].(type) {
		case nil:
			b.cur = newTable(b.line(last))
			parent.set(name, b.cur, b.line(last))
		case *table:
			if v.origin != implied {
				return b.errorf(last, "invalid TOML: table %q is defined twice", name)
			}
			b.cur = v
		default:
			return b.errorf(last, "invalid TOML: key %q is already defined", name)
		}
		b.cur.origin, b.cur.line = header, b.line(last)
	case unstable.ArrayTable:
		parts := keyParts(n.Key())
		parent, err := b.descend(parts[:len(parts)-1])
		if err != nil {
			return err
		}
		last := parts[len(parts)-1]
		name := string(last.Data)
		arr, isArr := parent.vals[name].([]any)
		if _, ok := parent.vals[name]; ok && (!isArr || tableArrayEnd(arr) == nil) {
			return b.errorf(last, "invalid TOML: key %q is already defined, not as an array of tables", name)
		}
		b.cur = newTable(b.line(last))
		b.cur.origin = header
		parent.set(name, append(arr, b.cur), b.line(last))
	case unstable.KeyValue:
		return b.keyValue(b.cur, n)
	}
	return nil
}

// keyValue sets a key of t; a dotted key makes (or extends) tables that
// only dotted keys may extend.
func (b *treeBuilder) keyValue(t *table, n *unstable.Node) error {
	parts := keyParts(n.Key())
	for _, k := range parts[:len(parts)-1] {
		name := string(k.Data)
		switch v := t.vals[name].(type) {
		case nil:
			nt := newTable(b.line(k))
			nt.origin = dotted
			t.set(name, nt, b.line(k))
			t = nt
		case *table:
			if v.origin != dotted {
				return b.errorf(k, "invalid TOML: key %q is already defined", name)
			}
			t = v
		default:
			return b.errorf(k, "invalid TOML: key %q is already defined", name)
		}
	}
	last := parts[len(parts)-1]
	if _, ok := t.vals[string(last.Data)]; ok {
		return b.errorf(last, "invalid TOML: key %q is already defined", last.Data)
	}
	v, err := b.value(n.Value())
	if err != nil {
		return err
	}
	t.set(string(last.Data), v, b.line(last))
	return nil
}

func (b *treeBuilder) value(n *unstable.Node) (any, error) {
	switch n.Kind {
	case unstable.String:
		return string(n.Data), nil
	case unstable.Bool:
		return string(n.Data) == "true", nil
	case unstable.Integer:
		s := strings.ReplaceAll(string(n.Data), "_", "")
		base := 10
		if len(s) > 2 && s[0] == '0' {
			switch s[1] {
			case 'x':
				base, s = 16, s[2:]
			case 'o':
				base, s = 8, s[2:]
			case 'b':
				base, s = 2, s[2:]
			}
		}
		i, err := strconv.ParseInt(s, base, 64)
		if err != nil {
			return nil, b.errorf(n, "invalid integer %q", n.Data)
		}
		return i, nil
	case unstable.Float:
		s := strings.ReplaceAll(string(n.Data), "_", "")
		if strings.HasSuffix(s, "nan") {
			s = "nan" // with any sign
		}
		f, err := strconv.ParseFloat(s, 64)
		if err != nil {
			return nil, b.errorf(n, "invalid float %q", n.Data)
		}
		return f, nil
	case unstable.LocalDate, unstable.LocalTime, unstable.LocalDateTime, unstable.DateTime:
		if !validDateTime(string(n.Data)) {
			return nil, b.errorf(n, "invalid TOML: impossible date or time %q", n.Data)
		}
		return tomlDateTime(string(n.Data)), nil
	case unstable.Array:
		arr := []any{}
		it := n.Children()
		for it.Next() {
			c := it.Node()
			if c.Kind == unstable.Comment {
				continue
			}
			v, err := b.value(c)
			if err != nil {
				return nil, err
			}
			arr = append(arr, v)
		}
		return arr, nil
	case unstable.InlineTable:
		t := newTable(b.line(n))
		it := n.Children()
		for it.Next() {
			c := it.Node()
			if c.Kind != unstable.KeyValue {
				continue
			}
			if err := b.keyValue(t, c); err != nil {
				return nil, err
			}
		}
		t.origin = inline
		return t, nil
	}
	return nil, b.errorf(n, "unsupported TOML value")
}

// tomlDateTime keeps date/time values as written.
type tomlDateTime string

// validDateTime tells whether a date-time value names a real one:
// [YYYY-MM-DD][(T| )HH:MM[:SS[.frac]][Z|±HH:MM]], seconds optional since
// TOML 1.1, an offset only after a date.
func validDateTime(s string) bool {
	num := func(digits string, max int) bool {
		n, err := strconv.Atoi(digits)
		return err == nil && digits[0] != '+' && digits[0] != '-' && n <= max
	}
	hasDate := len(s) >= 10 && s[4] == '-'
	if hasDate {
		if _, err := time.Parse(time.DateOnly, s[:10]); err != nil || !num(s[:4], 9999) || !num(s[5:7], 12) || !num(s[8:10], 31) {
			return false
		}
		if s = s[10:]; s == "" {
			return true
		}
		if s[0] != 'T' && s[0] != 't' && s[0] != ' ' {
			return false
		}
		s = s[1:]
	}
	if len(s) < 5 || s[2] != ':' || !num(s[:2], 23) || !num(s[3:5], 59) {
		return false
	}
	s = s[5:]
	if len(s) >= 3 && s[0] == ':' {
		if !num(s[1:3], 59) {
			return false
		}
		s = s[3:]
		if len(s) > 0 && s[0] == '.' {
			n := 1
			for n < len(s) && s[n] >= '0' && s[n] <= '9' {
				n++
			}
			if n == 1 {
				return false
			}
			s = s[n:]
		}
	}
	switch {
	case s == "":
		return true
	case !hasDate:
		return false
	case s == "Z" || s == "z":
		return true
	}
	return len(s) == 6 && (s[0] == '+' || s[0] == '-') && s[3] == ':' && num(s[1:3], 23) && num(s[4:6], 59)
}

// keyList is the keys in document order (none for a missing table).
func (t *table) keyList() []string {
	if t == nil {
		return nil
	}
	return t.keys
}
