package installer

import (
	"strings"
	"testing"

	"github.com/xdockerfile/xdockerfile/poetry"
)

func TestWellFormedHash(t *testing.T) {
	for h, want := range map[string]bool{
		"sha256:49d477fea4419bbf60d43cec6db36fa8fe909ad8a4091b61be138620ad231315": true,
		"sha512:" + strings.Repeat("0a", 64):                                      true,
		"sha256:49D477FEA4419BBF60D43CEC6DB36FA8FE909AD8A4091B61BE138620AD231315": true,
		"sha256:not-hex":                  false,
		"sha256:":                         false,
		"md5:" + strings.Repeat("a", 32):  false,
		"sha256:ab\n--index-url http://x": false,
		strings.Repeat("a", 64):           false,
	} {
		if got := wellFormedHash(h); got != want {
			t.Errorf("wellFormedHash(%q) = %v", h, got)
		}
	}
}

func TestOneVersionEach(t *testing.T) {
	req := func(version, markers string) poetry.Requirement {
		return poetry.Requirement{Name: "numpy", Version: version, Markers: markers}
	}
	for _, c := range []struct {
		reqs []poetry.Requirement
		ok   bool
	}{
		{[]poetry.Requirement{req("1.0", ""), req("1.0", `python_version >= "3.9"`)}, true},
		{[]poetry.Requirement{req("1.0", `python_version < "3.9"`), req("2.0", `python_version >= "3.9"`)}, true},
		{[]poetry.Requirement{req("1.0", ""), req("2.0", `sys_platform == "linux"`)}, false},
		{[]poetry.Requirement{req("1.0", `python_version >= "3.8"`), req("2.0", `python_version >= "3.9"`)}, false},
	} {
		if err := oneVersionEach(c.reqs, "poetry.lock"); (err == nil) != c.ok {
			t.Errorf("%v: %v", c.reqs, err)
		}
	}
}
