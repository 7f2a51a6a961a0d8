package poetry

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
)

// knownFailing lists corpus cases whose output still differs from Poetry's,
// each with the reason. The test insists they do fail, so that fixing one
// forces updating this list.
var knownFailing = map[string]string{}

type caseOptions struct {
	CLIArgs []string          `json:"cli_args"`
	Env     map[string]string `json:"env"`
}

// runCase exports one corpus case and returns what poetry would print on
// success, or the error message.
func runCase(dir string) (out string, errMsg string, err error) {
	raw, err := os.ReadFile(filepath.Join(dir, "options.json"))
	if err != nil {
		return "", "", err
	}
	var co caseOptions
	if err := json.Unmarshal(raw, &co); err != nil {
		return "", "", err
	}
	opt, _, err := ParseExportArgs(co.CLIArgs)
	if err != nil {
		return "", err.Error(), nil
	}
	opt.Getenv = func(k string) string { return co.Env[k] }
	p, err := Load(dir)
	if err == nil {
		var e *Export
		e, err = p.Export(opt)
		if err == nil {
			return e.String(), "", nil
		}
	}
	var pe *Error
	if errors.As(err, &pe) {
		return "", pe.Msg, nil
	}
	return "", err.Error(), nil
}

func projectRootURI(t *testing.T, dir string) string {
	abs, err := filepath.Abs(dir)
	if err != nil {
		t.Fatal(err)
	}
	if r, err := filepath.EvalSymlinks(abs); err == nil {
		abs = r
	}
	return FileURI(filepath.ToSlash(abs))
}

func TestCorpus(t *testing.T) {
	dirs, err := filepath.Glob("../testdata/poetry/*")
	if err != nil {
		t.Fatal(err)
	}
	var cases []string
	for _, d := range dirs {
		if st, err := os.Stat(d); err == nil && st.IsDir() {
			cases = append(cases, d)
		}
	}
	sort.Strings(cases)
	if len(cases) == 0 {
		t.Fatal("no corpus cases found")
	}
	passed, failed := 0, 0
	seen := map[string]bool{}
	for _, dir := range cases {
		name := filepath.Base(dir)
		seen[name] = true
		matched := false
		t.Run(name, func(t *testing.T) {
			got, gotErr, err := runCase(dir)
			if err != nil {
				t.Fatal(err)
			}
			var mismatch string
			if want, err := os.ReadFile(filepath.Join(dir, "expected.txt")); err == nil {
				w := strings.ReplaceAll(string(want), "${PROJECT_ROOT_URI}", projectRootURI(t, dir))
				switch {
				case gotErr != "":
					mismatch = fmt.Sprintf("unexpected error: %s", gotErr)
				case got != w:
					mismatch = fmt.Sprintf("output differs\n--- got\n%s--- want\n%s", got, w)
				}
			} else {
				want, err := os.ReadFile(filepath.Join(dir, "expected-error.txt"))
				if err != nil {
					t.Fatal("case has neither expected.txt nor expected-error.txt")
				}
				w := strings.TrimSpace(string(want))
				switch {
				case gotErr == "":
					mismatch = fmt.Sprintf("expected error %q, got output\n%s", w, got)
				case strings.TrimSpace(gotErr) != w:
					mismatch = fmt.Sprintf("error differs\n--- got\n%s\n--- want\n%s", gotErr, w)
				}
			}
			reason, known := knownFailing[name]
			switch {
			case known && mismatch == "":
				t.Errorf("known failing case now passes (%s): remove it from knownFailing", reason)
			case known:
				t.Logf("known failure (%s)", reason)
			case mismatch != "":
				t.Error(mismatch)
			}
			matched = mismatch == ""
		})
		if matched {
			passed++
		} else {
			failed++
		}
	}
	for name := range knownFailing {
		if !seen[name] {
			t.Errorf("knownFailing lists %s, which is not in the corpus", name)
		}
	}
	fmt.Printf("poetry corpus: %d passed, %d failed (of %d; %d known failing)\n", passed, failed, len(cases), len(knownFailing))
}
