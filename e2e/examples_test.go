package e2e

import (
	"bufio"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/xdockerfile/xdockerfile/internal/lab"
)

// Each directory of testdata/examples is a build context with an
// expect.txt: "build [flags]" lines, each followed by checks of the
// exported files ("path = text", "path ~ text", "path exists",
// "path absent") or of a failure ("error = text"). Flags are
// --build-arg, --target and --secret, as docker build takes them.
type exampleBuild struct {
	flags  []string
	checks []string
}

func readExpect(t *testing.T, path string) []exampleBuild {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var builds []exampleBuild
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		switch {
		case line == "" || strings.HasPrefix(line, "#"):
		case line == "build" || strings.HasPrefix(line, "build "):
			builds = append(builds, exampleBuild{flags: strings.Fields(line)[1:]})
		case len(builds) == 0:
			t.Fatalf("%s: check before the first build line: %s", path, line)
		default:
			builds[len(builds)-1].checks = append(builds[len(builds)-1].checks, line)
		}
	}
	return builds
}

// builder runs one build of an example and returns its log and output.
type builder func(t *testing.T, dir string, flags []string) (string, string, error)

func buildctlBuilder(t *testing.T, dir string, flags []string) (string, string, error) {
	var args []string
	for i := 0; i+1 < len(flags); i += 2 {
		switch flags[i] {
		case "--build-arg":
			args = append(args, "--opt", "build-arg:"+flags[i+1])
		case "--target":
			args = append(args, "--opt", "target="+flags[i+1])
		case "--secret":
			args = append(args, "--secret", flags[i+1])
		default:
			t.Fatalf("unknown flag %s", flags[i])
		}
	}
	return build(t, dir, args...)
}

func dockerBuilder(t *testing.T, dir string, flags []string) (string, string, error) {
	out := filepath.Join(t.TempDir(), "out")
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	args := append([]string{"build", "--network", "host", "--progress", "plain", "-o", "type=local,dest=" + out}, flags...)
	log, err := theLab.Docker(ctx, dockerHost, append(args, dir)...)
	return log, out, err
}

func TestExamples(t *testing.T) {
	runExamples(t, buildctlBuilder)
}

func TestExamplesWithDockerEngine(t *testing.T) {
	need(t, "the docker engine", dockerErr)
	runExamples(t, dockerBuilder)
}

func runExamples(t *testing.T, b builder) {
	dirs, _ := filepath.Glob(filepath.Join(repoRoot, "testdata", "examples", "*", "expect.txt"))
	if len(dirs) == 0 {
		t.Fatal("no examples found")
	}
	for _, expect := range dirs {
		src := filepath.Dir(expect)
		t.Run(filepath.Base(src), func(t *testing.T) {
			if strings.HasPrefix(filepath.Base(src), "python") || strings.HasPrefix(filepath.Base(src), "poetry") {
				need(t, "the python base image", pythonErr)
			}
			if _, err := os.Stat(filepath.Join(src, "index")); err == nil {
				index, err := lab.ServeExampleIndex(src)
				if err != nil {
					t.Fatal(err)
				}
				defer index.Close()
			}
			dir := copyTree(t, src)
			secrets := t.TempDir()
			const password = "s3cr3t-pa55w0rd-for-e2e"
			if err := os.WriteFile(filepath.Join(secrets, "auth.toml"), []byte("username = \"ci\"\npassword = \""+password+"\"\n"), 0o600); err != nil {
				t.Fatal(err)
			}
			for _, eb := range readExpect(t, expect) {
				flags := make([]string, len(eb.flags))
				for i, f := range eb.flags {
					flags[i] = strings.ReplaceAll(f, "$SECRETS", secrets)
				}
				log, out, err := b(t, dir, flags)
				checkExample(t, flags, eb.checks, log, out, err)
				assertNotContains(t, log, password)
				assertTreeLacks(t, out, password)
			}
		})
	}
}

func checkExample(t *testing.T, flags, checks []string, log, out string, err error) {
	t.Helper()
	for _, c := range checks {
		if msg, ok := strings.CutPrefix(c, "error = "); ok {
			if err == nil {
				t.Fatalf("build %v succeeded, want an error with %q", flags, msg)
			}
			assertContains(t, log, msg)
			continue
		}
		if err != nil {
			t.Fatalf("build %v: %v", flags, err)
		}
		path, rest, _ := strings.Cut(c, " ")
		p := filepath.Join(out, path)
		switch {
		case rest == "exists":
			if _, err := os.Lstat(p); err != nil {
				t.Errorf("build %v: %s missing", flags, path)
			}
		case rest == "absent":
			if _, err := os.Lstat(p); err == nil {
				t.Errorf("build %v: %s present", flags, path)
			}
		case strings.HasPrefix(rest, "= "):
			if got := strings.TrimSpace(readFile(t, p)); got != rest[2:] {
				t.Errorf("build %v: %s = %q, want %q", flags, path, got, rest[2:])
			}
		case strings.HasPrefix(rest, "~ "):
			if got := readFile(t, p); !strings.Contains(got, rest[2:]) {
				t.Errorf("build %v: %s = %q, want it to contain %q", flags, path, got, rest[2:])
			}
		default:
			t.Fatalf("bad check %q", c)
		}
	}
}

// assertTreeLacks fails if any exported file contains s.
func assertTreeLacks(t *testing.T, root, s string) {
	t.Helper()
	_ = filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
		if err != nil || !d.Type().IsRegular() {
			return nil
		}
		if dt, _ := os.ReadFile(p); strings.Contains(string(dt), s) {
			t.Errorf("%s contains the secret", p)
		}
		return nil
	})
}
