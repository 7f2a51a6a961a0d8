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
func (l *Lab) BuildctlOutput(ctx context.Context, env []string, args ...string) (stdout, stderr string, err error) {
	all := append([]string{"--addr", l.Addr, "build", "--progress=plain"}, args...)
	cmd := exec.CommandContext(ctx, l.Buildctl, all...)
	cmd.Env = append(os.Environ(), env...)
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	if err := cmd.Run(); err != nil {
		return out.String(), errOut.String(), fmt.Errorf("buildctl %s: %w\n%s", strings.Join(all, " "), err, errOut.String())
	}
	return out.String(), errOut.String(), nil
}
