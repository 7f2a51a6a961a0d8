package conversion

import (
	"bytes"
	"context"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/moby/buildkit/frontend/dockerfile/dockerfile2llb"
	"github.com/moby/buildkit/frontend/dockerfile/shell"
	"github.com/xdockerfile/xdockerfile/internal/golden"
	"github.com/xdockerfile/xdockerfile/syntax"
)

// TestFastPath converts files through syntax.Read, as the frontend does,
// and through syntax.Parse: a file Read finds plain skips our parser and
// lowering, and both ways give the same LLB, upstream's for a plain file.
func TestFastPath(t *testing.T) {
	for _, c := range []struct {
		name  string
		plain bool
		src   string
	}{
		{"shell if in a continuation", true, `FROM alpine
RUN set -e; \
    if [ -f /etc/os-release ]; then \
# a comment inside
      cat /etc/os-release; \
    fi
`},
		{"shell if in a heredoc", true, `FROM alpine
RUN <<EOF
if true; then
  echo yes
fi
for i in 1 2; do
  echo $i
done
EOF
COPY <<-END /etc/motd
	end
	END
`},
		{"backtick escape", true, "# escape=`\nFROM alpine\nRUN echo a `\n  if b\n"},
		{"variables outside stage references", true, `FROM --platform=$BUILDPLATFORM alpine AS base
ARG HOME=/root
RUN --mount=type=cache,target=$HOME/.cache echo $HOME
FROM base
COPY --from=base --chown=$UID /etc /etc
`},
		{"IF block", false, `FROM alpine
ARG V=1
IF $V == 1
RUN echo one
ELSE
RUN echo other
END
`},
		{"block after a heredoc with block keywords", false, `FROM alpine
RUN <<EOF
IF x
EOF
IF 1
RUN echo taken
END
`},
		{"stage reference with a variable", false, `FROM alpine AS tools-amd64
FROM alpine
ARG SRC=tools
COPY --from=${SRC}-amd64 /etc /etc
RUN --mount=type=bind,from=tools-$TARGETARCH,target=/t ls /t
`},
	} {
		t.Run(c.name, func(t *testing.T) {
			ctx := context.Background()
			dt := []byte(c.src)
			opt := corpusOpt(dt, "Dockerfile")
			fast, err := syntax.Read("Dockerfile", dt)
			if err != nil {
				t.Fatal(err)
			}
			if fast.Plain != c.plain {
				t.Fatalf("Read: Plain = %v, want %v", fast.Plain, c.plain)
			}
			full, err := syntax.Parse("Dockerfile", dt)
			if err != nil {
				t.Fatal(err)
			}
			got, _, err := (&Build{File: fast}).ToLLB(ctx, opt)
			if err != nil {
				t.Fatal(err)
			}
			want, _, err := (&Build{File: full}).ToLLB(ctx, opt)
			if err != nil {
				t.Fatal(err)
			}
			if normalized(t, got) != normalized(t, want) {
				t.Error("LLB differs between Read and Parse")
			}
			if !c.plain {
				return
			}
			upstream, err := dockerfile2llb.Dockerfile2LLB(ctx, dt, opt)
			if err != nil {
				t.Fatal(err)
			}
			if normalized(t, got) != normalized(t, upstream) {
				t.Error("LLB differs from upstream's")
			}
		})
	}
}

// TestWordLexer holds expand's shortcut to BuildKit's lexer.
func TestWordLexer(t *testing.T) {
	env := newVars()
	env.set("A", "a value")
	env.set("EMPTY", "")
	env.declare("UNSET")
	for _, escape := range []rune{'\\', '`'} {
		x := &wordLexer{escape: escape}
		for _, w := range []string{
			"", "amd64", `"amd64"`, `'amd64'`, `"a b"`, `''`, `""`, `"`, `'a"`, "a\\b", "a`b", "<<EOF", "a<b",
			"$A", "${A}", "$EMPTY", "$UNSET", "$NOPE", "${NOPE}", "$A$A", "$1", "$_x9", "$9x", "${A:-x}",
			"${A", "$", "x$", "$A-b", "é", "a\tb", `"$A"`, `'$A'`,
		} {
			var matched, unmatched []string
			got, gotErr := x.expand(w, env, func(name string, set bool) {
				if set {
					matched = append(matched, name)
				} else {
					unmatched = append(unmatched, name)
				}
			})
			want, wantErr := shell.NewLex(escape).ProcessWordWithMatches(w, env)
			if (gotErr == nil) != (wantErr == nil) || got != want.Result ||
				gotErr == nil && (!slices.Equal(matched, slices.Sorted(maps.Keys(want.Matched))) ||
					!slices.Equal(unmatched, slices.Sorted(maps.Keys(want.Unmatched)))) {
				t.Errorf("escape %c, %q: got %q %q %q, %v; the lexer gives %+v, %v", escape, w, got, matched, unmatched, gotErr, want, wantErr)
			}
		}
	}
}

// TestPlainLowersToItself: every golden and corpus file that syntax.Plain
// lets skip lowering does lower to itself, with no finding, when parsed
// and lowered in full.
func TestPlainLowersToItself(t *testing.T) {
	paths, _ := filepath.Glob("../testdata/corpus/plain/*.Dockerfile")
	goldens, _ := filepath.Glob("testdata/lower/*.txt")
	more, _ := filepath.Glob("../syntax/testdata/parse/*.txt")
	plain := 0
	for _, p := range append(append(paths, goldens...), more...) {
		dt, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		if strings.HasSuffix(p, ".txt") {
			df, ok := golden.Parse(dt).Get("Dockerfile")
			if !ok {
				continue
			}
			dt = []byte(df)
		}
		if !syntax.Plain(dt) {
			continue
		}
		plain++
		f, err := syntax.Parse("Dockerfile", dt)
		if err != nil {
			continue // BuildKit's parser rejects it: upstream reports it
		}
		res, err := Lower(context.Background(), f, Options{Target: "x", Context: DirContext{Root: t.TempDir()}})
		if err != nil || !bytes.Equal(res.Dockerfile, dt) || len(res.Warnings) > 0 || len(res.Inputs) > 0 || len(Check(f)) > 0 {
			t.Errorf("%s: called plain, but lowering changes it (%v)", p, err)
		}
	}
	if plain < 30 {
		t.Errorf("only %d plain files", plain)
	}
}
