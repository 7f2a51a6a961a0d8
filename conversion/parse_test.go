package conversion

import (
	"bytes"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/moby/buildkit/frontend/dockerfile/instructions"
	"github.com/moby/buildkit/frontend/dockerfile/parser"
	"github.com/xdockerfile/xdockerfile/internal/golden"
)

// TestParseLikeUpstream holds parseFrom, parseArg and parseEnv to
// instructions.ParseInstruction on every FROM, ARG and ENV line we have.
func TestParseLikeUpstream(t *testing.T) {
	srcs := []string{`FROM a
FROM a AS b
FROM a as B
FROM a AS b-c_d.9
FROM a AS 1b
FROM a AS b/c
FROM a AS _b
FROM a b
FROM a AS
FROM a AS b c
FROM --platform=$P a AS b
FROM --bogus=1 a
FROM
ARG A
ARG A=1 B C=
ARG =1
ARG "A=1 2" 'B'
ARG --x=1 A
ARG
ENV A=1
ENV A=1 B="2 3"
ENV A 1 2
ENV =1
ENV --x=1 A=1
ENV
`}
	paths, _ := filepath.Glob("../testdata/corpus/plain/*.Dockerfile")
	goldens, _ := filepath.Glob("testdata/lower/*.txt")
	for _, p := range append(paths, goldens...) {
		dt, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		if strings.HasSuffix(p, ".txt") {
			df, _ := golden.Parse(dt).Get("Dockerfile")
			dt = []byte(df)
		}
		srcs = append(srcs, string(dt))
	}
	checked := 0
	for _, src := range srcs {
		res, err := parser.Parse(bytes.NewReader([]byte(src)))
		if err != nil {
			continue
		}
		for _, n := range res.AST.Children {
			cmd, err := instructions.ParseInstruction(n)
			var got, want any
			switch strings.ToLower(n.Value) {
			case "from":
				base, name, ok := parseFrom(n)
				got = []any{base, name, ok}
				st, _ := cmd.(*instructions.Stage)
				want = []any{"", "", false}
				if err == nil {
					want = []any{st.BaseName, st.Name, true}
				}
			case "arg":
				args, ok := parseArg(n)
				got = []any{args, ok}
				want = []any{[]instructions.KeyValuePairOptional(nil), false}
				if ac, _ := cmd.(*instructions.ArgCommand); err == nil {
					for i := range ac.Args {
						ac.Args[i].DocComment = ""
					}
					want = []any{ac.Args, true}
				}
			case "env":
				env, ok := parseEnv(n)
				got = []any{env, ok}
				want = []any{instructions.KeyValuePairs(nil), false}
				if ec, _ := cmd.(*instructions.EnvCommand); err == nil {
					want = []any{ec.Env, true}
				}
			default:
				continue
			}
			checked++
			if !reflect.DeepEqual(got, want) {
				t.Errorf("%q: got %+v, ParseInstruction gives %+v", n.Original, got, want)
			}
		}
	}
	if checked < 200 {
		t.Errorf("only %d lines checked", checked)
	}
}
