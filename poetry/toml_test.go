package poetry

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pelletier/go-toml/v2"
)

// The tree builder checks TOML's rules on redefinition itself; go-toml's
// decoder, which the frontend does not link, is the oracle here: both
// accept and reject the same documents and read the same values.

var tomlSeeds = []string{
	"a = 1\na = 2",
	"[a]\n[a]",
	"[a.b]\n[a]",
	"[a.b]\n[a]\n[a]",
	"[a]\nb.c = 1\n[a.b]",
	"[a]\nb.c = 1\n[a.b.d]\nx = 1",
	"[a.b.c]\n[a]\nb.d = 1",
	"a.b = 1\n[a]",
	"a = {b = 1}\n[a.c]",
	"a = {b = 1}\na.c = 2",
	"a = {b.c = 1, b.d = 2}",
	"a = {b.c = 1, b = 2}",
	"a = [1]\n[[a]]",
	"a = []\n[[a]]",
	"a = [{}]\n[[a]]",
	"a = [{}]\n[a.b]",
	"[[a]]\nx = 1\n[[a]]\nx = 2\n[a.b]\ny = 1\n[[a]]\n[a.b]",
	"[[a]]\n[a]",
	"[a]\n[[a]]",
	"[[a.b]]\n[a]\nb.y = 2",
	"[a]\n[[a.b]]\n[a.b]",
	"[fruit]\napple.color = \"red\"\napple.taste.sweet = true\n[fruit.apple.texture]\nsmooth = true",
	"x = 1\nx.y = 2",
	"[x]\ny = 1\n[x.y]",
	"a = 0x1F\nb = 0o17\nc = 0b101\nd = 1_000\ne = -3\nf = +4",
	"a = 01",
	"a = 9223372036854775808",
	"a = 1.5e3\nb = inf\nc = -nan\nd = 1_0.0_1",
	"d = 1979-05-27\nt = 07:32:00\nl = 1979-05-27T07:32:00.999\no = 1979-05-27 07:32:00Z",
	"d = 1979-13-27",
	"t = 25:00:00",
	"s = \"a\\tb\\u00e9\"\nm = '''\nline'''\n",
	"a = [1, [2, \"x\"], {y = 3}]",
	"\"quoted.key\" = 1\n'lit' = 2\n[\"a\".'b']\nc = 3",
	"a = \"x\" # comment\n# only\n",
	"a =",
	"[a",
	"a = {b = 1,}",
	"a = \"\x00\"",
}

func TestTOMLAgainstDecoder(t *testing.T) {
	docs := append([]string{}, tomlSeeds...)
	for _, glob := range []string{"../testdata/poetry/*/*.toml", "../testdata/poetry/*/poetry.lock", "../testdata/examples/*/*.toml", "../testdata/examples/*/*.lock"} {
		files, _ := filepath.Glob(glob)
		for _, f := range files {
			dt, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			docs = append(docs, string(dt))
		}
	}
	if len(docs) < len(tomlSeeds)+20 {
		t.Fatalf("only %d documents: the corpus is missing", len(docs))
	}
	for _, doc := range docs {
		if msg := compareTOML([]byte(doc)); msg != "" {
			t.Errorf("%q:\n%s", short(doc), msg)
		}
	}
}

func FuzzTOML(f *testing.F) {
	for _, s := range tomlSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		if msg := compareTOML(data); msg != "" {
			t.Fatal(msg)
		}
	})
}

// compareTOML is "" when parseTOML and go-toml's decoder agree on data.
func compareTOML(data []byte) string {
	var want map[string]any
	werr := toml.Unmarshal(data, &want)
	got, gerr := parseTOML(data)
	switch {
	case werr != nil && gerr != nil:
		return ""
	case werr != nil:
		return "accepted, the decoder says: " + werr.Error()
	case gerr != nil:
		return "rejected (" + gerr.Error() + "), the decoder accepts it"
	}
	if g, w := render(got), render(want); g != w {
		return fmt.Sprintf("read\n%s\nthe decoder reads\n%s", g, w)
	}
	return ""
}

// render prints a value with sorted keys and dates as written.
func render(v any) string {
	var b strings.Builder
	var walk func(v any)
	walk = func(v any) {
		switch v := v.(type) {
		case *table:
			m := map[string]any{}
			for _, k := range v.keys {
				m[k] = v.vals[k]
			}
			walk(m)
		case map[string]any:
			b.WriteString("{")
			for _, k := range sortedKeys(v) {
				fmt.Fprintf(&b, "%q:", k)
				walk(v[k])
				b.WriteString(",")
			}
			b.WriteString("}")
		case []any:
			b.WriteString("[")
			for _, e := range v {
				walk(e)
				b.WriteString(",")
			}
			b.WriteString("]")
		case tomlDateTime, toml.LocalDate, toml.LocalTime, toml.LocalDateTime, fmt.Stringer:
			b.WriteString("date")
		default:
			fmt.Fprintf(&b, "%T(%v)", v, v)
		}
	}
	walk(v)
	return b.String()
}

func sortedKeys(m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	for i := range keys {
		for j := i + 1; j < len(keys); j++ {
			if keys[j] < keys[i] {
				keys[i], keys[j] = keys[j], keys[i]
			}
		}
	}
	return keys
}

func short(s string) string {
	if len(s) > 80 {
		return s[:80] + "…"
	}
	return s
}
