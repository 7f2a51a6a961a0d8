package pyindex

import (
	"maps"
	"strings"
	"testing"

	"github.com/xdockerfile/xdockerfile/internal/testfs"
)

// A pip install of one wheel and an install that differs from it only as
// expected: INSTALLER names the installer, and there is no REQUESTED.
func compareFixture() (ours, pip map[string]testfs.Entry) {
	const info = "lib/python3.11/site-packages/alpha-1.0.dist-info/"
	rows := "alpha/__init__.py,sha256=abc,1\n" + info + "METADATA,sha256=def,2\n" + info + "RECORD,,\n"
	pip = map[string]testfs.Entry{
		"lib/python3.11/site-packages/alpha/__init__.py": {Mode: 0o644, Data: "x"},
		info + "METADATA":  {Mode: 0o644, Data: "Name: alpha\n"},
		info + "INSTALLER": {Mode: 0o644, Data: "pip\n"},
		info + "REQUESTED": {Mode: 0o644, Data: ""},
		info + "RECORD":    {Mode: 0o644, Data: rows + info + "INSTALLER,sha256=pip,4\n" + info + "REQUESTED,sha256=e,0\n"},
	}
	ours = maps.Clone(pip)
	delete(ours, info+"REQUESTED")
	ours[info+"INSTALLER"] = testfs.Entry{Mode: 0o644, Data: "ours\n"}
	ours[info+"RECORD"] = testfs.Entry{Mode: 0o644, Data: rows + info + "INSTALLER,sha256=ours,5\n"}
	return ours, pip
}

func TestCompareInstalls(t *testing.T) {
	const info = "lib/python3.11/site-packages/alpha-1.0.dist-info/"
	none := func(string) bool { return false }
	for _, c := range []struct {
		name string
		edit func(ours, pip map[string]testfs.Entry)
		want string // a difference reported, "" for none
	}{
		{"the expected differences only", func(ours, pip map[string]testfs.Entry) {}, ""},
		{"we wrote REQUESTED", func(ours, pip map[string]testfs.Entry) {
			ours[info+"REQUESTED"] = testfs.Entry{Mode: 0o644}
		}, "ours wrote " + info + "REQUESTED, which Poetry's installer does not"},
		{"a REQUESTED row in our RECORD", func(ours, pip map[string]testfs.Entry) {
			e := ours[info+"RECORD"]
			e.Data += info + "REQUESTED,sha256=e,0\n"
			ours[info+"RECORD"] = e
		}, "a REQUESTED row in ours's true"},
		{"pip wrote no REQUESTED row", func(ours, pip map[string]testfs.Entry) {
			e := pip[info+"RECORD"]
			e.Data = strings.Replace(e.Data, info+"REQUESTED,sha256=e,0\n", "", 1)
			pip[info+"RECORD"] = e
		}, "in pip's false"},
		{"a module differs", func(ours, pip map[string]testfs.Entry) {
			ours["lib/python3.11/site-packages/alpha/__init__.py"] = testfs.Entry{Mode: 0o755, Data: "x"}
		}, "alpha/__init__.py differs"},
		{"another RECORD row differs", func(ours, pip map[string]testfs.Entry) {
			e := ours[info+"RECORD"]
			e.Data = strings.Replace(e.Data, "sha256=abc", "sha256=abd", 1)
			ours[info+"RECORD"] = e
		}, "RECORD differs"},
		{"INSTALLER names another", func(ours, pip map[string]testfs.Entry) {
			ours[info+"INSTALLER"] = testfs.Entry{Mode: 0o644, Data: "pip\n"}
		}, "INSTALLER"},
	} {
		t.Run(c.name, func(t *testing.T) {
			ours, pip := compareFixture()
			c.edit(ours, pip)
			diffs, equal := CompareInstalls(ours, pip, "ours", none)
			got := strings.Join(diffs, "\n")
			switch {
			case c.want == "" && len(diffs) > 0:
				t.Fatalf("unexpected differences:\n%s", got)
			case c.want == "" && equal != 2:
				t.Fatalf("%d files equal, want 2 (the module and METADATA)", equal)
			case c.want != "" && !strings.Contains(got, c.want):
				t.Fatalf("differences %q lack %q", got, c.want)
			}
		})
	}
}
