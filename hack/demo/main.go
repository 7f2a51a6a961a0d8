// Command demo is `make demo`: it starts a registry on 127.0.0.1:5000 and a
// buildkitd, publishes the frontend image built from this tree, then builds
// an example through `# syntax=127.0.0.1:5000/xdockerfile:1` and shows what
// came out. With -keep it leaves everything running until interrupted.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"time"

	"github.com/xdockerfile/xdockerfile/internal/lab"
)

func main() {
	keep := flag.Bool("keep", false, "keep the registry and buildkitd running until interrupted")
	example := flag.String("example", "testdata/examples/branch-if-else", "the example to build")
	buildArg := flag.String("build-arg", "BUILD_VERSION=2", "a build argument for it")
	flag.Parse()
	if err := run(*example, *buildArg, *keep); err != nil {
		fmt.Fprintln(os.Stderr, "demo:", err)
		os.Exit(1)
	}
}

func step(format string, args ...any) { fmt.Printf("\n==> "+format+"\n", args...) }

func run(example, buildArg string, keep bool) error {
	ctx, cancel := signal.NotifyContext(context.Background(), os.Interrupt)
	defer cancel()
	root, _ := os.Getwd()

	step("starting a registry on 127.0.0.1:5000 and buildkitd %s", "(runc, overlayfs)")
	l, err := lab.Start(ctx, lab.Options{BuildkitBin: os.Getenv("XDOCKERFILE_BUILDKIT_BIN"), RegistryPort: 5000})
	if err != nil {
		return err
	}
	defer l.Close()
	fmt.Println("    buildkitd:", l.Addr)

	step("publishing a busybox base image and the frontend image")
	if err := l.PublishBusybox(ctx); err != nil {
		return err
	}
	if err := l.PublishFrontend(ctx, root); err != nil {
		return err
	}
	fmt.Println("    ", l.Busybox)
	fmt.Println("    ", l.Frontend)

	df, err := os.ReadFile(filepath.Join(example, "Dockerfile"))
	if err != nil {
		return err
	}
	step("%s/Dockerfile", example)
	fmt.Print(indent(string(df)))

	step("xdockerfile lower --build-arg %s  (the plain Dockerfile BuildKit gets)", buildArg)
	plain, err := l.Run(ctx, "go", "run", "./cmd/xdockerfile", "lower", "--build-arg", buildArg, example)
	if err != nil {
		return err
	}
	fmt.Print(indent(plain))

	out := filepath.Join(l.Dir, "demo-out")
	step("buildctl build --opt build-arg:%s  (through # syntax=%s)", buildArg, l.Frontend)
	start := time.Now()
	log, err := l.BuildctlBuild(ctx, "--frontend", "dockerfile.v0",
		"--local", "context="+example, "--local", "dockerfile="+example,
		"--opt", "build-arg:"+buildArg, "--output", "type=local,dest="+out)
	fmt.Print(indent(log))
	if err != nil {
		return err
	}
	step("built in %s; the image's files:", time.Since(start).Round(time.Millisecond))
	entries, _ := os.ReadDir(out)
	var names []string
	for _, e := range entries {
		names = append(names, "/"+e.Name())
	}
	fmt.Println("    " + strings.Join(names, " "))

	if root := os.Getenv("XDOCKERFILE_PYTHON_ROOTFS"); root != "" {
		if err := poetryDemo(ctx, l, root); err != nil {
			return err
		}
	}

	if keep {
		step("registry and buildkitd keep running; try:\n    %s --addr %s build --frontend dockerfile.v0 --local context=DIR --local dockerfile=DIR\n    (Ctrl-C stops them)", l.Buildctl, l.Addr)
		<-ctx.Done()
	}
	return nil
}

func indent(s string) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	return "    " + strings.Join(lines, "\n    ") + "\n"
}

// poetryDemo builds testdata/examples/poetry-app: POETRY INSTALL from a
// loopback package index, the venv carried into a runtime stage.
func poetryDemo(ctx context.Context, l *lab.Lab, rootfs string) error {
	const example = "testdata/examples/poetry-app"
	step("publishing a Python base image (Debian bookworm, python3) and serving the example's package index on %s", lab.ExampleIndex)
	if _, err := l.PublishPython(ctx, rootfs, "3-bookworm"); err != nil {
		return err
	}
	index, err := lab.ServeExampleIndex(example)
	if err != nil {
		return err
	}
	defer index.Close()

	df, err := os.ReadFile(filepath.Join(example, "Dockerfile"))
	if err != nil {
		return err
	}
	step("%s/Dockerfile", example)
	fmt.Print(indent(string(df)))

	step("xdockerfile poetry export --only=main %s  (what POETRY INSTALL --only=main installs)", example)
	reqs, err := l.Run(ctx, "go", "run", "./cmd/xdockerfile", "poetry", "export", "--only=main", example)
	if err != nil {
		return err
	}
	fmt.Print(indent(reqs))

	out := filepath.Join(l.Dir, "poetry-demo-out")
	step("buildctl build --opt target=runtime")
	log, err := l.BuildctlBuild(ctx, "--frontend", "dockerfile.v0",
		"--local", "context="+example, "--local", "dockerfile="+example,
		"--opt", "target=runtime", "--output", "type=local,dest="+out)
	fmt.Print(indent(log))
	if err != nil {
		return err
	}
	greeting, err := os.ReadFile(filepath.Join(out, "greeting"))
	if err != nil {
		return err
	}
	step("the runtime image says: %s", strings.TrimSpace(string(greeting)))
	return nil
}
