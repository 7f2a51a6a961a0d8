package lab

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
)

// PublishBusybox pushes <registry>/busybox:latest: Debian's static busybox
// with its applets installed, built by the lab's own buildkitd.
func (l *Lab) PublishBusybox(ctx context.Context) error {
	src, err := exec.LookPath("busybox")
	if err != nil {
		return fmt.Errorf("busybox-static is not installed (hack/deps.sh installs it): %w", err)
	}
	dir := l.path("busybox-context")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	if err := copyFile(src, filepath.Join(dir, "busybox"), 0o755); err != nil {
		return err
	}
	df := "FROM scratch\nCOPY busybox /bin/busybox\nRUN [\"/bin/busybox\", \"--install\", \"-s\", \"/bin\"]\n"
	if err := os.WriteFile(filepath.Join(dir, "Dockerfile"), []byte(df), 0o644); err != nil {
		return err
	}
	ref := l.Registry + "/busybox:latest"
	if _, err := l.BuildctlBuild(ctx, "--frontend", "dockerfile.v0",
		"--local", "context="+dir, "--local", "dockerfile="+dir,
		"--output", "type=image,name="+ref+",push=true"); err != nil {
		return err
	}
	l.Busybox = ref
	return nil
}

// PublishFrontend compiles the frontend from the module at root, packages it
// with the release Dockerfile and pushes <registry>/xdockerfile:1.
func (l *Lab) PublishFrontend(ctx context.Context, root string) error {
	bin := filepath.Join(root, "bin")
	if _, err := l.RunEnv(ctx, []string{"CGO_ENABLED=0"}, "go", "build", "-C", root, "-trimpath",
		"-ldflags", "-s -w", "-o", filepath.Join(bin, "xdockerfile-frontend"), "./cmd/xdockerfile-frontend"); err != nil {
		return err
	}
	ref := l.Registry + "/xdockerfile:1"
	if _, err := l.BuildctlBuild(ctx, "--frontend", "dockerfile.v0",
		"--local", "context="+root, "--local", "dockerfile="+root,
		"--opt", "build-arg:FRONTEND_BINARY=prebuilt",
		"--output", "type=image,\"name="+ref+","+l.Registry+"/xdockerfile:latest\",push=true"); err != nil {
		return err
	}
	l.Frontend = ref
	return nil
}

// Localize rewrites the registry of the examples, 127.0.0.1:5000, to the lab's.
func (l *Lab) Localize(dockerfile string) string {
	return strings.ReplaceAll(dockerfile, "127.0.0.1:5000/", l.Registry+"/")
}

func copyFile(src, dst string, mode os.FileMode) error {
	dt, err := os.ReadFile(src)
	if err != nil {
		return err
	}
	return os.WriteFile(dst, dt, mode)
}

// unmountUnder lazily unmounts whatever a daemon left mounted below dir, so
// the directory can be removed.
func unmountUnder(dir string) {
	dt, err := os.ReadFile("/proc/self/mounts")
	if err != nil || dir == "" {
		return
	}
	lines := strings.Split(string(dt), "\n")
	for i := len(lines) - 1; i >= 0; i-- {
		f := strings.Fields(lines[i])
		if len(f) > 1 && strings.HasPrefix(f[1], dir+"/") {
			_ = syscall.Unmount(f[1], syscall.MNT_DETACH)
		}
	}
}

// PublishPython pushes <registry>/python:<tag> from a root file system
// made by hack/python-rootfs.sh.
func (l *Lab) PublishPython(ctx context.Context, rootfs, tag string) (string, error) {
	ref := l.Registry + "/python:" + tag
	return ref, l.PublishRootfs(ctx, rootfs, ref, "", "ENV LANG=C.UTF-8 PYTHONDONTWRITEBYTECODE=1", `CMD ["python3"]`)
}

// PublishRootfs pushes ref made of a root file system copied onto the image
// from ("" for scratch), followed by the Dockerfile lines in extra (ENV,
// CMD…). On an image, rootfs is one more layer, so layer sizes compare.
func (l *Lab) PublishRootfs(ctx context.Context, rootfs, ref, from string, extra ...string) error {
	dir, err := os.MkdirTemp(l.Dir, "rootfs-dockerfile-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	if from == "" {
		from = "scratch"
	}
	df := "FROM " + from + "\nCOPY . /\n" + strings.Join(extra, "\n") + "\n"
	if err := os.WriteFile(filepath.Join(dir, "Dockerfile"), []byte(df), 0o644); err != nil {
		return err
	}
	_, err = l.BuildctlBuild(ctx, "--frontend", "dockerfile.v0",
		"--local", "context="+rootfs, "--local", "dockerfile="+dir,
		"--output", "type=image,name="+ref+",push=true")
	return err
}
