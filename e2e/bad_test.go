package e2e

import (
	"context"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/xdockerfile/xdockerfile/internal/badinput"
)

// TestBadInputs builds testdata/bad through the frontend and pushes what
// builds: a case that fails says its message at the user's line, and
// leaves no image behind; a case that is ok builds and pushes its image.
func TestBadInputs(t *testing.T) {
	for _, c := range badinput.Load(t, filepath.Join(repoRoot, "testdata", "bad")) {
		t.Run(c.Name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			c.Write(t, dir, func(name string, dt []byte) []byte {
				if name == "Dockerfile" {
					dt = append([]byte(syntaxLine), dt...)
				}
				return []byte(theLab.Localize(string(dt)))
			})
			ref := theLab.Registry + "/bad-" + strings.ToLower(c.Name) + ":latest"
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
			defer cancel()
			args := append([]string{"--frontend", "dockerfile.v0",
				"--local", "context=" + dir, "--local", "dockerfile=" + dir,
				"--output", "type=image,name=" + ref + ",push=true"}, buildArgs(c.Args...)...)
			start := time.Now()
			log, err := theLab.BuildctlBuild(ctx, args...)
			t.Logf("built in %s", time.Since(start).Round(time.Millisecond))
			if ctx.Err() != nil {
				t.Fatalf("the build did not end within its time:\n%s", tail(log))
			}
			for _, crash := range []string{"panic:", "goroutine "} {
				assertNotContains(t, log, crash)
			}
			_, imgErr := theLab.ReadImage(ctx, ref)
			if c.Want.OK {
				if err != nil {
					t.Fatalf("build failed: %v", err)
				}
				if imgErr != nil {
					t.Fatalf("the image was not pushed: %v", imgErr)
				}
				return
			}
			if err == nil {
				t.Fatalf("build succeeded:\n%s", tail(log))
			}
			if imgErr == nil {
				t.Errorf("the failed build pushed %s", ref)
			}
			for _, e := range c.Want.Errors {
				assertContains(t, log, e.Msg)
			}
			// The first error's line, one down for the # syntax= line,
			// with the user's own text under it.
			first := c.Want.Errors[0]
			if first.Line == 0 {
				return // a file with no lines
			}
			assertContains(t, log, first.File+":"+strconv.Itoa(first.Line+1)+"\n")
			if text := c.Line(first.File, first.Line); strings.TrimSpace(text) != "" && utf8.ValidString(text) && len(text) < 200 {
				assertContains(t, log, ">>> "+text)
			}
		})
	}
}

// tail keeps the end of a long log readable in a failure.
func tail(s string) string {
	if len(s) > 4000 {
		return "…" + s[len(s)-4000:]
	}
	return s
}
