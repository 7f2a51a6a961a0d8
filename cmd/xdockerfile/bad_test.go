package main

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/xdockerfile/xdockerfile/internal/badinput"
)

// The bounds every bad input must stay within.
const (
	badTimeout = 30 * time.Second
	badMaxRSS  = 1 << 30 // bytes
)

// runAsCLI makes the test binary act as xdockerfile, so that each case
// runs in a process of its own, whose time and memory can be measured.
const runAsCLI = "XDOCKERFILE_TEST_RUN_CLI"

func TestMain(m *testing.M) {
	if os.Getenv(runAsCLI) == "1" {
		os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
	}
	os.Exit(m.Run())
}

// TestBadInputs runs testdata/bad through `xdockerfile lower`: each case
// ends within bounded time and memory, without a panic, and says what
// its "want" section says.
func TestBadInputs(t *testing.T) {
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range badinput.Load(t, filepath.Join("..", "..", "testdata", "bad")) {
		t.Run(c.Name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			c.Write(t, dir, nil)
			args := []string{"lower"}
			for _, kv := range c.Args {
				args = append(args, "--build-arg", kv)
			}
			args = append(args, dir)

			ctx, cancel := context.WithTimeout(context.Background(), badTimeout)
			defer cancel()
			cmd := exec.CommandContext(ctx, self, args...)
			cmd.Env = append(os.Environ(), runAsCLI+"=1")
			var stdout, stderr bytes.Buffer
			cmd.Stdout, cmd.Stderr = &stdout, &stderr
			start := time.Now()
			err := cmd.Run()
			elapsed := time.Since(start)
			if ctx.Err() != nil {
				t.Fatalf("still running after %s", badTimeout)
			}
			var exit *exec.ExitError
			if err != nil && !errors.As(err, &exit) {
				t.Fatal(err)
			}
			if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); !ok {
				t.Fatal("no resource usage for the process")
			} else if rss := ru.Maxrss * 1024; rss > badMaxRSS {
				t.Errorf("peak memory %d MiB, more than %d MiB", rss>>20, badMaxRSS>>20)
			}
			t.Logf("%s, exit code %d", elapsed.Round(time.Millisecond), cmd.ProcessState.ExitCode())
			errText := stderr.String()
			for _, crash := range []string{"panic", "goroutine ", "fatal error"} {
				if strings.Contains(errText, crash) {
					t.Fatalf("stderr shows a crash:\n%s", tail(errText))
				}
			}
			if c.Want.OK {
				if err != nil {
					t.Fatalf("exit code %d:\n%s", cmd.ProcessState.ExitCode(), tail(errText))
				}
				if bytes.Contains(stdout.Bytes(), []byte(badinput.MustNotRun)) {
					t.Errorf("the lowered file keeps %q", badinput.MustNotRun)
				}
				return
			}
			if cmd.ProcessState.ExitCode() != 1 {
				t.Fatalf("exit code %d, want 1; stderr:\n%s", cmd.ProcessState.ExitCode(), tail(errText))
			}
			for _, e := range c.Want.Errors {
				if !hasError(errText, e) {
					t.Errorf("stderr lacks %q:\n%s", e, tail(errText))
				}
			}
		})
	}
}

// hasError reports whether a line of stderr is e: <path ending in
// /e.File>:<e.Line>: <text containing e.Msg>, or without the line for
// line 0 (a file with no lines).
func hasError(stderr string, e badinput.Expect) bool {
	at := e.File + ":" + strconv.Itoa(e.Line) + ": "
	if e.Line == 0 {
		at = e.File + ": "
	}
	for _, line := range strings.Split(stderr, "\n") {
		i := strings.Index(line, at)
		if i > 0 && line[i-1] == '/' && strings.Contains(line[i+len(at):], e.Msg) {
			return true
		}
	}
	return false
}

// tail keeps the end of a long output readable in a failure.
func tail(s string) string {
	if len(s) > 4000 {
		return "…" + s[len(s)-4000:]
	}
	return s
}
