// Package lab brings up the real parts a frontend runs against: a loopback
// registry, a rootful buildkitd with runc, a busybox base image made from
// Debian's busybox-static, the frontend image built from the working tree,
// and, on request, Debian's docker engine. The end-to-end tests and
// `make demo` share it.
package lab

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"
)

// Lab is a running set of services under one directory.
type Lab struct {
	Dir      string // scratch space, removed by Close
	Registry string // host:port of the loopback registry
	Addr     string // buildkitd's address
	Buildctl string // path of buildctl
	Frontend string // the frontend image reference, once published
	Busybox  string // the busybox image reference, once published

	procs     []*exec.Cmd
	buildkitd *exec.Cmd // also in procs; StopBuildkitd takes it out
	bkBin     string
	bkRoot    string
	bkFlags   []string

	registryBin string
}

// Options says where things are.
type Options struct {
	// BuildkitBin holds buildkitd and buildctl (hack/deps.sh prints it).
	BuildkitBin string
	// RegistryPort is the registry's port on 127.0.0.1; 0 picks a free one.
	RegistryPort int
	// Dir is the scratch directory; empty makes one under /var/tmp, which
	// must be a file system overlayfs can use.
	Dir string
	// BuildkitdRoot is buildkitd's --root; empty means Dir/buildkitd.
	BuildkitdRoot string
	// BuildkitdFlags are more flags for buildkitd.
	BuildkitdFlags []string
	// RegistryBinary is the registry program; empty means docker-registry
	// on PATH. A copy under another name survives the `pkill -x
	// docker-registry` of hack/deps.sh run by a neighbour.
	RegistryBinary string
}

// Start brings up the registry and buildkitd.
func Start(ctx context.Context, opt Options) (_ *Lab, err error) {
	l := &Lab{Dir: opt.Dir, Buildctl: filepath.Join(opt.BuildkitBin, "buildctl"),
		bkBin: opt.BuildkitBin, bkRoot: opt.BuildkitdRoot, bkFlags: opt.BuildkitdFlags, registryBin: opt.RegistryBinary}
	if l.Dir == "" {
		if l.Dir, err = os.MkdirTemp("/var/tmp", "xdockerfile-lab-"); err != nil {
			return nil, err
		}
	}
	defer func() {
		if err != nil {
			l.Close()
		}
	}()
	port := opt.RegistryPort
	if port == 0 {
		if port, err = freePort(); err != nil {
			return nil, err
		}
	}
	l.Registry = fmt.Sprintf("127.0.0.1:%d", port)
	if err := l.startRegistry(ctx); err != nil {
		return nil, err
	}
	if err := l.StartBuildkitd(ctx, l.bkRoot); err != nil {
		return nil, err
	}
	return l, nil
}

func freePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

func (l *Lab) path(p ...string) string { return filepath.Join(append([]string{l.Dir}, p...)...) }

// spawn starts a long-running process logging to Dir/<name>.log.
func (l *Lab) spawn(name string, args ...string) error {
	log, err := os.Create(l.path(name + ".log"))
	if err != nil {
		return err
	}
	cmd := exec.Command(args[0], args[1:]...)
	cmd.Stdout, cmd.Stderr = log, log
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start %s: %w", name, err)
	}
	l.procs = append(l.procs, cmd)
	return nil
}

// Log returns the tail of a service's log, for failure messages.
func (l *Lab) Log(name string) string {
	dt, _ := os.ReadFile(l.path(name + ".log"))
	if len(dt) > 4000 {
		dt = dt[len(dt)-4000:]
	}
	return string(dt)
}

func (l *Lab) startRegistry(ctx context.Context) error {
	cfg := fmt.Sprintf("version: 0.1\nlog:\n  level: warn\nstorage:\n  filesystem:\n    rootdirectory: %s\n  delete:\n    enabled: true\nhttp:\n  addr: %s\n", l.path("registry"), l.Registry)
	if err := os.WriteFile(l.path("registry.yml"), []byte(cfg), 0o644); err != nil {
		return err
	}
	bin := l.registryBin
	if bin == "" {
		bin = "docker-registry"
	}
	if err := l.spawn("registry", bin, "serve", l.path("registry.yml")); err != nil {
		return err
	}
	return waitFor(ctx, 20*time.Second, func() error {
		c, err := net.Dial("tcp", l.Registry)
		if err == nil {
			c.Close()
		}
		return err
	}, func() string { return l.Log("registry") })
}

// StartBuildkitd starts buildkitd with its state under root (empty:
// Dir/buildkitd) and the Options' extra flags; StopBuildkitd must have
// stopped any earlier one.
func (l *Lab) StartBuildkitd(ctx context.Context, root string) error {
	if l.buildkitd != nil {
		return fmt.Errorf("buildkitd is already running")
	}
	if root == "" {
		root = l.path("buildkitd")
	}
	l.bkRoot = root
	var err error
	l.Addr, l.buildkitd, err = l.startBuildkitd(ctx, l.bkBin, "buildkitd", root)
	return err
}

// startBuildkitd starts the buildkitd of bin (a directory holding buildkitd
// and buildctl) whose socket and log are Dir/<name>.sock and Dir/<name>.log,
// with its state under root, and waits until its own buildctl reaches it.
// The process is returned even when it never answered, so it can be stopped.
func (l *Lab) startBuildkitd(ctx context.Context, bin, name, root string) (string, *exec.Cmd, error) {
	cfg := fmt.Sprintf("[worker.oci]\n  enabled = true\n  gc = false\n[worker.containerd]\n  enabled = false\n[registry.%q]\n  http = true\n", l.Registry)
	if err := os.WriteFile(l.path("buildkitd.toml"), []byte(cfg), 0o644); err != nil {
		return "", nil, err
	}
	addr := "unix://" + l.path(name+".sock")
	args := append([]string{filepath.Join(bin, "buildkitd"),
		"--root", root, "--addr", addr, "--config", l.path("buildkitd.toml")}, l.bkFlags...)
	if err := l.spawn(name, args...); err != nil {
		return "", nil, err
	}
	cmd := l.procs[len(l.procs)-1]
	return addr, cmd, waitFor(ctx, 60*time.Second, func() error {
		_, err := l.Run(ctx, filepath.Join(bin, "buildctl"), "--addr", addr, "debug", "workers")
		return err
	}, func() string { return l.Log(name) })
}

func waitFor(ctx context.Context, limit time.Duration, ready func() error, log func() string) error {
	deadline := time.Now().Add(limit)
	for {
		err := ready()
		if err == nil {
			return nil
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			return fmt.Errorf("not ready after %s: %v\n%s", limit, err, log())
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// Run runs a command and returns its combined output; the error carries it.
func (l *Lab) Run(ctx context.Context, name string, args ...string) (string, error) {
	return l.RunEnv(ctx, nil, name, args...)
}

// RunEnv is Run with extra environment variables.
func (l *Lab) RunEnv(ctx context.Context, env []string, name string, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Env = append(os.Environ(), env...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	if err != nil {
		return out.String(), fmt.Errorf("%s %s: %w\n%s", filepath.Base(name), strings.Join(args, " "), err, out.String())
	}
	return out.String(), nil
}

// BuildctlBuild runs `buildctl build` against the lab's buildkitd.
func (l *Lab) BuildctlBuild(ctx context.Context, args ...string) (string, error) {
	return l.Run(ctx, l.Buildctl, append([]string{"--addr", l.Addr, "build", "--progress=plain"}, args...)...)
}

// StopBuildkitd stops buildkitd and lazily unmounts what it left mounted
// under its root, so that root can be unmounted or removed.
func (l *Lab) StopBuildkitd() {
	if l.buildkitd == nil {
		return
	}
	l.stopProc(l.buildkitd)
	l.buildkitd = nil
	unmountUnder(l.bkRoot)
}

// stopProc stops one of the lab's processes and forgets it.
func (l *Lab) stopProc(p *exec.Cmd) {
	stop(p)
	for i, q := range l.procs {
		if q == p {
			l.procs = append(l.procs[:i], l.procs[i+1:]...)
			break
		}
	}
}

// stop interrupts a process and kills it if it has not exited in 10 s.
func stop(p *exec.Cmd) {
	_ = p.Process.Signal(os.Interrupt)
	done := make(chan struct{})
	go func() { _ = p.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		_ = p.Process.Kill()
		<-done
	}
}

// Close stops every service and removes the scratch directory.
func (l *Lab) Close() {
	for i := len(l.procs) - 1; i >= 0; i-- {
		stop(l.procs[i])
	}
	l.procs = nil
	l.buildkitd = nil
	if l.bkRoot != "" {
		unmountUnder(l.bkRoot)
	}
	unmountUnder(l.Dir)
	_ = os.RemoveAll(l.Dir)
}
