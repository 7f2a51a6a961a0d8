package lab

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"strings"
)

// BuildctlOutput runs `buildctl build` against the lab's buildkitd with
// extra environment variables, and returns what it printed on standard
// output (a subrequest's result) apart from the rest (progress, errors).
// A build that fails only in a PushRace runs once more; stderr keeps both.
func (l *Lab) BuildctlOutput(ctx context.Context, env []string, args ...string) (stdout, stderr string, err error) {
	all := append([]string{"--addr", l.Addr, "build", "--progress=plain"}, args...)
	var out, errOut bytes.Buffer
	for attempt := 0; ; attempt++ {
		out.Reset()
		cmd := exec.CommandContext(ctx, l.Buildctl, all...)
		cmd.Env = append(os.Environ(), env...)
		cmd.Stdout, cmd.Stderr = &out, &errOut
		err = cmd.Run()
		if err == nil || attempt > 0 || !PushRace(errOut.String()) {
			break
		}
	}
	if err != nil {
		return out.String(), errOut.String(), fmt.Errorf("buildctl %s: %w\n%s", strings.Join(all, " "), err, errOut.String())
	}
	return out.String(), errOut.String(), nil
}

// PushRace tells whether a build log shows the registry rejecting one of
// two concurrent uploads of the same blob. BuildKit pushes an image and
// its cache export at once, and both may carry the same layer; now and
// then the loopback registry refuses one of them. Nothing of ours is
// involved and a CI job would retry, so the tests run such a build again,
// once.
func PushRace(log string) bool {
	return strings.Contains(log, "provided digest did not match uploaded content") ||
		strings.Contains(log, "unexpected commit digest")
}
