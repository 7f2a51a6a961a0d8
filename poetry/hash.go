package poetry

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"
	"unicode/utf16"
)

// pyJSON writes v as Python's json.dumps(v, sort_keys=True) does: ", " and
// ": " separators and ASCII-only output with \uXXXX escapes.
func pyJSON(b *strings.Builder, v any) error {
	switch x := v.(type) {
	case nil:
		b.WriteString("null")
	case bool:
		if x {
			b.WriteString("true")
		} else {
			b.WriteString("false")
		}
	case int64:
		b.WriteString(strconv.FormatInt(x, 10))
	case float64:
		b.WriteString(pyFloat(x))
	case string:
		pyString(b, x)
	case tomlDateTime:
		// Python's json module cannot encode dates: poetry would crash.
		return fmt.Errorf("cannot hash a date/time value (%s)", string(x))
	case []any:
		b.WriteString("[")
		for i, e := range x {
			if i > 0 {
				b.WriteString(", ")
			}
			if err := pyJSON(b, e); err != nil {
				return err
			}
		}
		b.WriteString("]")
	case *table:
		keys := append([]string(nil), x.keys...)
		sort.Strings(keys)
		b.WriteString("{")
		for i, k := range keys {
			if i > 0 {
				b.WriteString(", ")
			}
			pyString(b, k)
			b.WriteString(": ")
			if err := pyJSON(b, x.vals[k]); err != nil {
				return err
			}
		}
		b.WriteString("}")
	default:
		return fmt.Errorf("cannot hash %T", v)
	}
	return nil
}

func pyString(b *strings.Builder, s string) {
	b.WriteByte('"')
	for _, r := range s {
		switch r {
		case '"':
			b.WriteString(`\"`)
		case '\\':
			b.WriteString(`\\`)
		case '\n':
			b.WriteString(`\n`)
		case '\r':
			b.WriteString(`\r`)
		case '\t':
			b.WriteString(`\t`)
		case '\b':
			b.WriteString(`\b`)
		case '\f':
			b.WriteString(`\f`)
		default:
			switch {
			case r < 0x20 || (r >= 0x7f && r <= 0xffff):
				fmt.Fprintf(b, `\u%04x`, r)
			case r > 0xffff:
				r1, r2 := utf16.EncodeRune(r)
				fmt.Fprintf(b, `\u%04x\u%04x`, r1, r2)
			default:
				b.WriteRune(r)
			}
		}
	}
	b.WriteByte('"')
}

// pyFloat is Python's repr of a float, which json uses: shortest digits,
// exponent form when the decimal exponent is below -4 or above 15.
func pyFloat(f float64) string {
	switch {
	case math.IsInf(f, 1):
		return "Infinity"
	case math.IsInf(f, -1):
		return "-Infinity"
	case math.IsNaN(f):
		return "NaN"
	}
	e := strconv.FormatFloat(f, 'e', -1, 64)
	exp, _ := strconv.Atoi(e[strings.IndexByte(e, 'e')+1:])
	if f != 0 && (exp < -4 || exp >= 16) {
		return e
	}
	s := strconv.FormatFloat(f, 'f', -1, 64)
	if !strings.Contains(s, ".") {
		s += ".0"
	}
	return s
}

var legacyKeys = []string{"dependencies", "source", "extras", "dev-dependencies"}
var relevantKeys = append(append([]string(nil), legacyKeys...), "group")
var relevantProjectKeys = []string{"requires-python", "dependencies", "optional-dependencies"}

// contentHashes returns the content-hash Poetry 2 computes from pyproject
// and, as an accepted alternative, the variant that also covers
// [dependency-groups] (see isFresh).
func contentHashes(doc *table) ([]string, error) {
	project := doc.table("project")
	poetry := doc.table("tool").table("poetry")
	relProject := newTable(0)
	for _, k := range relevantProjectKeys {
		if v, ok := project.get(k); ok {
			relProject.set(k, v, 0)
		}
	}
	relPoetry := newTable(0)
	for _, k := range relevantKeys {
		v, ok := poetry.get(k)
		if !ok {
			isLegacy := false
			for _, l := range legacyKeys {
				isLegacy = isLegacy || l == k
			}
			if !isLegacy || len(relProject.keys) > 0 {
				continue
			}
		}
		relPoetry.set(k, v, 0)
	}
	var content *table
	if len(relProject.keys) > 0 {
		content = newTable(0)
		content.set("project", relProject, 0)
		tool := newTable(0)
		tool.set("poetry", relPoetry, 0)
		content.set("tool", tool, 0)
	} else {
		content = relPoetry
	}
	var hashes []string
	h, err := jsonHash(content)
	if err != nil {
		return nil, err
	}
	hashes = append(hashes, h)
	if groups := doc.table("dependency-groups"); groups != nil {
		with := newTable(0)
		for _, k := range content.keyList() {
			with.set(k, content.vals[k], 0)
		}
		with.set("dependency-groups", groups, 0)
		h, err := jsonHash(with)
		if err != nil {
			return nil, err
		}
		hashes = append(hashes, h)
	}
	return hashes, nil
}

func jsonHash(v any) (string, error) {
	var b strings.Builder
	if err := pyJSON(&b, v); err != nil {
		return "", err
	}
	sum := sha256.Sum256([]byte(b.String()))
	return hex.EncodeToString(sum[:]), nil
}
