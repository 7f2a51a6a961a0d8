package lab

import (
	"context"
	"fmt"
	"os/exec"
	"time"
)

// DockerClient is Debian's docker client, the one that speaks to its
// engine 20.10 (a newer client elsewhere on PATH lacks the classic builder
// switch).
const DockerClient = "/usr/bin/docker"

// StartDocker starts Debian's docker engine (20.10, with its built-in
// BuildKit) on a socket of the lab's, with no bridge and no iptables, and
// returns its DOCKER_HOST.
func (l *Lab) StartDocker(ctx context.Context) (string, error) {
	dockerd, err := exec.LookPath("dockerd")
	if err != nil {
		return "", fmt.Errorf("dockerd is not installed (hack/deps.sh installs docker.io): %w", err)
	}
	host := "unix://" + l.path("docker.sock")
	if err := l.spawn("dockerd", dockerd,
		"--host", host,
		"--data-root", l.path("docker"),
		"--exec-root", l.path("docker-exec"),
		"--pidfile", l.path("docker.pid"),
		"--iptables=false", "--ip-forward=false", "--bridge=none",
		"--containerd-namespace", "xdockerfile-lab",
		"--containerd-plugins-namespace", "xdockerfile-lab-plugins",
		"--insecure-registry", l.Registry,
	); err != nil {
		return "", err
	}
	err = waitFor(ctx, 60*time.Second, func() error {
		_, err := l.Docker(ctx, host, "version")
		return err
	}, func() string { return l.Log("dockerd") })
	return host, err
}

// Docker runs Debian's docker client against host with BuildKit enabled.
func (l *Lab) Docker(ctx context.Context, host string, args ...string) (string, error) {
	return l.RunEnv(ctx, []string{"DOCKER_HOST=" + host, "DOCKER_BUILDKIT=1"}, DockerClient, args...)
}
