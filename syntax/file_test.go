package syntax

import (
	"strings"
	"testing"
)

// BuildKit's parser reports these at the line before the one at fault;
// Parse reports them at their own line.
func TestParserErrorsAtTheirLine(t *testing.T) {
	long := strings.Repeat("a", 70000)
	for _, c := range []struct {
		name, data, want string
	}{
		{"line too long", "FROM alpine\nARG X=1\nENV A=" + long + "\n", "Dockerfile:3: dockerfile line greater than max allowed size of 65535"},
		{"line too long in a heredoc", "FROM alpine\nIF 1\nRUN <<EOF\n" + long + "\nEOF\nEND\n", "Dockerfile:4: dockerfile line greater than max allowed size of 65535"},
		{"bad escape", "# escape=x\nFROM alpine\n", "Dockerfile:1: invalid escape token 'x'"},
		{"escape twice", "# escape=`\n# escape=`\nFROM alpine\n", "Dockerfile:2: only one escape parser directive can be used"},
	} {
		_, err := Parse("Dockerfile", []byte(c.data))
		if err == nil || !strings.HasPrefix(err.Error(), c.want) {
			t.Errorf("%s: got %v, want %s…", c.name, err, c.want)
		}
	}
	// A line just short of the limit is read.
	if _, err := Parse("Dockerfile", []byte("FROM alpine\nIF 1\nENV A="+strings.Repeat("a", 65535-6)+"\nEND\n")); err != nil {
		t.Errorf("a line of 65535 bytes: %v", err)
	}
}
