package syntax

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/moby/buildkit/frontend/dockerfile/parser"
	"github.com/xdockerfile/xdockerfile/internal/golden"
)

// plainCases are the lexer's hard cases, with whether Plain proves them
// plain.
var plainCases = []struct {
	name  string
	plain bool
	src   string
}{
	{"plain", true, "FROM alpine\nRUN echo hi\n"},
	{"if", false, "FROM alpine\nIF $A\nRUN x\nEND\n"},
	{"lower case done", false, "FROM alpine\nif 1\ndone\n"},
	{"else alone", false, "FROM alpine\n  ElSe\n"},
	{"poetry", false, "FROM python\nPOETRY INSTALL\n"},
	{"copy from variable", false, "FROM alpine\nCOPY --from=${SRC} /a /b\n"},
	{"copy from variable, upper case", false, "FROM alpine\nCOPY --FROM=$SRC /a /b\n"},
	{"mount from variable", false, "FROM alpine\nRUN --mount=type=bind,from=tools-$ARCH,target=/t x\n"},
	{"flag continued on the next line", false, "FROM alpine\nCOPY --from=\\\n$SRC /a /b\n"},
	{"quoted flag", false, "FROM alpine\nRUN --mount=\"type=bind, from=$X\" true\n"},
	{"onbuild", false, "FROM alpine\nONBUILD COPY --from=$X /a /b\n"},
	{"variables elsewhere", true, "FROM --platform=$BUILDPLATFORM alpine\nCOPY --chown=$U /a /b\nRUN --mount=type=cache,target=$HOME x\nRUN echo $from\n"},
	{"after --", true, "FROM alpine\nRUN -- --from=$X\n"},
	{"shell if in a continuation", true, "FROM alpine\nRUN set -e; \\\n    if [ -f x ]; then \\\n      echo y; \\\n    fi\n"},
	{"shell done after a comment in a continuation", true, "FROM alpine\nRUN for i in 1 2; do \\\n# comment \\\n\n  echo $i; \\\n  done\n"},
	{"shell if in a heredoc", true, "FROM alpine\nRUN <<EOF\nif true; then\n  echo y\nfi\nEOF\n"},
	{"two heredocs", true, "FROM alpine\nCOPY <<A <<-B /\nif\nA\n\tend\n\tB\n"},
	{"quoted heredoc", true, "FROM alpine\nRUN <<'EOF' bash\nend\nEOF\n"},
	{"heredoc on a JSON-like line", false, "FROM alpine\nRUN [\"sh\"] <<EOF\nEOF\n"},
	{"not a heredoc", false, "FROM alpine\nRUN echo \"<<EOF\"\nIF x\nEND\n"},
	{"IF after a heredoc", false, "FROM alpine\nRUN <<EOF\nx\nEOF\nIF 1\nEND\n"},
	{"unterminated heredoc", false, "FROM alpine\nRUN <<EOF\nIF\n"},
	{"keyword split by a continuation", false, "FROM alpine\nI\\\nF 1\nEND\n"},
	{"lone escape starts a continuation", false, "FROM alpine\n\\\nIF 1\nEND\n"},
	{"backtick escape", true, "# escape=`\nFROM alpine\nRUN echo `\n  if x\n"},
	{"backslash is not the escape", false, "# escape=`\nFROM alpine\nRUN echo \\\nIF x\nEND\n"},
	{"escape directive after a comment is not one", false, "# hello\n# escape=`\nFROM alpine\nRUN echo `\nIF x\nEND\n"},
	{"bad escape directive", false, "# escape=x\nFROM alpine\n"},
	{"leading non-ASCII", false, "FROM alpine\n\u00a0RUN x\n"},
	{"crlf", true, "FROM alpine\r\nRUN a \\\r\n  if\r\n"},
	{"escaped escape ends a line", false, "FROM alpine\nRUN echo \\\\\nIF 1\nEND\n"},
	{"byte order mark", true, "\xef\xbb\xbfFROM alpine\n"},
}

func TestPlain(t *testing.T) {
	for _, c := range plainCases {
		t.Run(c.name, func(t *testing.T) {
			if got := Plain([]byte(c.src)); got != c.plain {
				t.Errorf("Plain = %v, want %v", got, c.plain)
			}
			checkLexer(t, []byte(c.src))
		})
	}
}

// files returns every Dockerfile we have: goldens of both packages and
// the plain corpus.
func files(t testing.TB) map[string][]byte {
	out := map[string][]byte{}
	for _, pattern := range []string{"testdata/parse/*.txt", "../conversion/testdata/lower/*.txt"} {
		paths, _ := filepath.Glob(pattern)
		for _, p := range paths {
			dt, err := os.ReadFile(p)
			if err != nil {
				t.Fatal(err)
			}
			if df, ok := golden.Parse(dt).Get("Dockerfile"); ok {
				out[p] = []byte(df)
			}
		}
	}
	paths, _ := filepath.Glob("../testdata/corpus/plain/*.Dockerfile")
	for _, p := range paths {
		dt, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		out[p] = dt
	}
	if len(out) < 60 {
		t.Fatalf("only %d files", len(out))
	}
	return out
}

func TestLexerOnEveryFile(t *testing.T) {
	for name, dt := range files(t) {
		t.Run(filepath.Base(name), func(t *testing.T) { checkLexer(t, dt) })
	}
}

func TestCorpusIsPlain(t *testing.T) {
	for name, dt := range files(t) {
		if strings.Contains(name, "corpus") && !Plain(dt) {
			t.Errorf("%s: not proved plain", name)
		}
	}
}

// FuzzLexer is seeded with the goldens and the hard cases; the corpus
// files, large and checked by TestLexerOnEveryFile, would slow it down.
func FuzzLexer(f *testing.F) {
	for name, dt := range files(f) {
		if !strings.Contains(name, "corpus") {
			f.Add(dt)
		}
	}
	for _, c := range plainCases {
		f.Add([]byte(c.src))
	}
	f.Fuzz(func(t *testing.T, dt []byte) { checkLexer(t, dt) })
}

// checkLexer holds the lexer to BuildKit's parser: a file it calls plain
// uses no extension, and the nodes Parse builds from it are the parser's.
func checkLexer(t *testing.T, dt []byte) {
	t.Helper()
	res, err := parser.Parse(bytes.NewReader(dt))
	_, nodes, lexErr := lexNodes("Dockerfile", dt)
	if err != nil {
		if lexErr == nil {
			t.Fatalf("the parser fails (%v), the lexer does not", err)
		}
		return // upstream's error either way
	}
	if Plain(dt) {
		for _, n := range res.AST.Children {
			if ext := extension(n); ext != "" {
				t.Fatalf("called plain, but line %d uses %s", n.StartLine, ext)
			}
		}
	}
	if errors.Is(lexErr, errUnsure) {
		return
	}
	if lexErr != nil {
		t.Fatal(lexErr)
	}
	if len(nodes) != len(res.AST.Children) {
		t.Fatalf("%d nodes, the parser has %d", len(nodes), len(res.AST.Children))
	}
	for i, want := range res.AST.Children {
		got := nodes[i]
		if got.Value != want.Value || got.Original != want.Original || got.StartLine != want.StartLine || got.EndLine != want.EndLine {
			t.Fatalf("node %d: %q %d-%d, the parser has %q %d-%d", i, got.Original, got.StartLine, got.EndLine, want.Original, want.StartLine, want.EndLine)
		}
		if got.Next == nil && len(got.Flags) == 0 {
			continue // light or a block keyword: not read beyond this
		}
		if got.Dump() != want.Dump() || !slices.Equal(got.Flags, want.Flags) || len(got.Heredocs) != len(want.Heredocs) || len(got.Attributes) != len(want.Attributes) {
			t.Fatalf("node %d: %s %q, the parser has %s %q", i, got.Dump(), got.Flags, want.Dump(), want.Flags)
		}
	}
}

// extension names the extension a node of BuildKit's parser uses, the way
// lowering finds them, or returns "".
func extension(n *parser.Node) string {
	switch strings.ToUpper(n.Value) {
	case "IF", "ELSE", "END", "DONE", "POETRY":
		return n.Value
	case "ONBUILD":
		if n.Next != nil && len(n.Next.Children) > 0 {
			return extension(n.Next.Children[0])
		}
	case "COPY", "ADD":
		for _, f := range n.Flags {
			name, val, _ := strings.Cut(f, "=")
			if strings.EqualFold(name, "--from") && strings.Contains(val, "$") {
				return "a variable in " + f
			}
		}
	case "RUN":
		for _, f := range n.Flags {
			name, val, _ := strings.Cut(f, "=")
			for field := range strings.SplitSeq(val, ",") {
				key, ref, _ := strings.Cut(strings.Trim(field, `"`), "=")
				if strings.EqualFold(name, "--mount") && strings.EqualFold(key, "from") && strings.Contains(ref, "$") {
					return "a variable in " + f
				}
			}
		}
	}
	return ""
}

// FuzzDirective holds directive to BuildKit's directive parser.
func FuzzDirective(f *testing.F) {
	for _, s := range []string{"# syntax=x", "#escape = `  ", "# check=skip=all;error=true", "# Escape=\\",
		"# syntax =", "# escape= ", "# escape=  \t", "# 1a=b", "# a1=b", "#syntax=docker/dockerfile:1\r",
		"# foo=bar", "// syntax=x", "#\u00a0syntax=x", "# syntax\v=x", "# syntax=\u00a0", "#\tcheck\f=\f1 \f"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, line string) {
		if strings.Contains(line, "\n") {
			return // the lexer's lines have none
		}
		var dp parser.DirectiveParser
		d, _ := dp.ParseLine([]byte(line))
		name, value, ok := directive([]byte(line))
		if ok != (d != nil) || ok && (d.Name != directives[name] || d.Value != value) {
			t.Fatalf("%q: directive returns %v %q %q, the parser %+v", line, ok, directives[name], value, d)
		}
	})
}

func TestLightJSON(t *testing.T) {
	for _, src := range []string{
		`CMD ["a", null]`, `CMD ["a", 1]`, `CMD ["a"]`, `CMD [ "a" `, `ENTRYPOINT  ["a", "b"]  `, "CMD [\"a\"]\u00a0",
	} {
		checkLexer(t, []byte("FROM alpine\n"+src+"\n"))
	}
}
