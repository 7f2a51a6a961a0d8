package installer

import (
	"slices"
	"strings"
	"testing"

	"github.com/xdockerfile/xdockerfile/poetry"
)

// TestPreparePathDependencies: a path dependency inside the build context
// is bound from it; one outside comes from the named context of its name,
// or is an error that says how to pass it.
func TestPreparePathDependencies(t *testing.T) {
	s := Settings{Venv: "/opt/venv", Secret: "poetry-auth", Project: "svc"}
	dir := func(name, at string) poetry.Requirement {
		return poetry.Requirement{Name: name, Version: "0.1.0", Kind: "directory", Path: at, Line: "-e file:///x/" + at}
	}
	archive := poetry.Requirement{Name: "my-lib", Version: "1.0", Kind: "file", Path: "../../dist/my_lib-1.0.tar.gz",
		Hashes: []string{"sha256:ab"}, Line: "my-lib @ file:///dist/my_lib-1.0.tar.gz"}
	cases := []struct {
		name     string
		req      poetry.Requirement
		contexts []string
		paths    []string
		bound    []ContextPath
		line     string
		err      string
	}{
		{name: "inside", req: dir("helper", "../helper"), contexts: []string{"helper"},
			paths: []string{"helper"}, line: "helper @ file:///run/xdockerfile-paths/helper\n"},
		{name: "outside, named", req: dir("common", "../../libs/common"), contexts: []string{"common"},
			bound: []ContextPath{{Package: "common", Context: "common", Path: "../libs/common"}},
			line:  "common @ file:///run/xdockerfile-contexts/common\n"},
		{name: "outside, another context", req: dir("common", "../../libs/common"), contexts: []string{"libs"},
			err: "poetry.lock: common is a path dependency at ../../libs/common, outside the build context: build from a directory that holds both, with POETRY INSTALL --project=<the project's directory in it>, or pass it as a named context: --build-context common=../libs/common"},
		{name: "absolute", req: dir("common", "/src/libs/common"),
			err: "or pass it as a named context: --build-context common=/src/libs/common"},
		{name: "archive, named", req: archive, contexts: []string{"my-lib"},
			bound: []ContextPath{{Package: "my-lib", Context: "my-lib", Path: "../dist/my_lib-1.0.tar.gz", File: "my_lib-1.0.tar.gz"}},
			line:  "my-lib @ file:///run/xdockerfile-contexts/my-lib/my_lib-1.0.tar.gz --hash=sha256:ab\n"},
		{name: "archive", req: archive,
			err: "or pass the directory holding it as a named context: --build-context my-lib=../dist"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s := s
			s.Contexts = c.contexts
			in, err := Prepare(&poetry.Export{Requirements: []poetry.Requirement{c.req}}, nil, s, "poetry.lock")
			if c.err != "" {
				if err == nil || !strings.Contains(err.Error(), c.err) {
					t.Fatalf("error %v, want %q", err, c.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(in.Paths, c.paths) || !slices.Equal(in.Contexts, c.bound) {
				t.Errorf("paths %q, contexts %+v; want %q, %+v", in.Paths, in.Contexts, c.paths, c.bound)
			}
			if got := string(in.Files["install.json"]); !strings.Contains(got, `"line": "`+strings.ReplaceAll(c.line, "\n", `\n`)+`"`) {
				t.Errorf("install.json lacks the line %q:\n%s", c.line, got)
			}
		})
	}
}
