package poetry

import (
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/pelletier/go-toml/v2"
	"github.com/pelletier/go-toml/v2/unstable"
)

// table is a TOML table that remembers key order (dependency order decides
// the order markers are combined in, which shows in the output) and the line
// each key was written on (for error messages).
type table struct {
	keys  []string
	vals  map[string]any // scalar, []any, *table
	lines map[string]int
	line  int
}

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
	// go-toml's decoder checks the document's semantics (redefined keys and
	// tables); the tree itself is built from its parser to keep the order.
	var check map[string]any
	if err := toml.Unmarshal(data, &check); err != nil {
		var de *toml.DecodeError
		if errors.As(err, &de) {
			row, _ := de.Position()
			return nil, &tomlError{line: row, msg: "invalid TOML: " + de.Error()}
		}
		return nil, &tomlError{msg: "invalid TOML: " + err.Error()}
	}
	b := &treeBuilder{root: newTable(0)}
	b.p.Reset(data)
	b.cur = b.root
	for b.p.NextExpression() {
		if err := b.expression(b.p.Expression()); err != nil {
			return nil, err
		}
	}
	if err := b.p.Error(); err != nil {
		return nil, &tomlError{msg: "invalid TOML: " + err.Error()}
	}
	return b.root, nil
}

type treeBuilder struct {
	p    unstable.Parser
	root *table
	cur  *table
}

func (b *treeBuilder) line(n *unstable.Node) int {
	return b.p.Shape(n.Raw).Start.Line
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

// descend walks (creating) the tables of a dotted key; into the last
// element of an array of tables when one is met.
func (b *treeBuilder) descend(t *table, parts []*unstable.Node) (*table, error) {
	for _, k := range parts {
		name := string(k.Data)
		switch v := t.vals[name].(type) {
		case nil:
			nt := newTable(b.line(k))
			t.set(name, nt, b.line(k))
			t = nt
		case *table:
			t = v
		case []any:
			last, ok := v[len(v)-1].(*table)
			if !ok {
				return nil, b.errorf(k, "key %q is not a table", name)
			}
			t = last
		default:
			return nil, b.errorf(k, "key %q is not a table", name)
		}
	}
	return t, nil
}

func (b *treeBuilder) expression(n *unstable.Node) error {
	switch n.Kind {
	case unstable.Table:
		parts := keyParts(n.Key())
		t, err := b.descend(b.root, parts)
		if err != nil {
			return err
		}
		t.line = b.line(parts[len(parts)-1])
		b.cur = t
	case unstable.ArrayTable:
		parts := keyParts(n.Key())
		parent, err := b.descend(b.root, parts[:len(parts)-1])
		if err != nil {
			return err
		}
		last := parts[len(parts)-1]
		name := string(last.Data)
		arr, _ := parent.vals[name].([]any)
		nt := newTable(b.line(last))
		parent.set(name, append(arr, nt), b.line(last))
		b.cur = nt
	case unstable.KeyValue:
		return b.keyValue(b.cur, n)
	}
	return nil
}

func (b *treeBuilder) keyValue(t *table, n *unstable.Node) error {
	parts := keyParts(n.Key())
	t, err := b.descend(t, parts[:len(parts)-1])
	if err != nil {
		return err
	}
	v, err := b.value(n.Value())
	if err != nil {
		return err
	}
	last := parts[len(parts)-1]
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
		neg := strings.HasPrefix(s, "-")
		s = strings.TrimLeft(s, "+-")
		base := 10
		switch {
		case strings.HasPrefix(s, "0x"):
			base, s = 16, s[2:]
		case strings.HasPrefix(s, "0o"):
			base, s = 8, s[2:]
		case strings.HasPrefix(s, "0b"):
			base, s = 2, s[2:]
		}
		i, err := strconv.ParseInt(s, base, 64)
		if err != nil {
			return nil, b.errorf(n, "invalid integer %q", n.Data)
		}
		if neg {
			i = -i
		}
		return i, nil
	case unstable.Float:
		f, err := strconv.ParseFloat(strings.ReplaceAll(string(n.Data), "_", ""), 64)
		if err != nil {
			return nil, b.errorf(n, "invalid float %q", n.Data)
		}
		return f, nil
	case unstable.LocalDate, unstable.LocalTime, unstable.LocalDateTime, unstable.DateTime:
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
		return t, nil
	}
	return nil, b.errorf(n, "unsupported TOML value")
}

// tomlDateTime keeps date/time values as written.
type tomlDateTime string

// keyList is the keys in document order (none for a missing table).
func (t *table) keyList() []string {
	if t == nil {
		return nil
	}
	return t.keys
}
