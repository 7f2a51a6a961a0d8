package e2e

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// The same dialect through Debian's docker engine 20.10 and its built-in
// BuildKit (DOCKER_BUILDKIT=1 docker build), as a user with an older
// engine runs it. docs/compatibility.md records what that engine can do.

func dockerBuild(t *testing.T, dir string, args ...string) (string, string, error) {
	t.Helper()
	need(t, "the docker engine", dockerErr)
	return dockerBuilder(t, dir, args)
}

func TestDockerEngineErrorsPointAtTheUsersLines(t *testing.T) {
	dir := project(t, map[string]string{"Dockerfile": syntaxLine + "FROM 127.0.0.1:5000/busybox\nARG X=1\nIF $X\nRUN true\nEND\nRUN exit 3\nIF $X ==\nEND\n"})
	log, _, err := dockerBuild(t, dir)
	if err == nil {
		t.Fatal("build succeeded")
	}
	assertContains(t, log, "Dockerfile:8")
	assertContains(t, log, "expected an operand")

	// A failing RUN: engine 20.10 prints a source snippet for it exactly
	// when its own built-in frontend does for the same plain file.
	body := "FROM 127.0.0.1:5000/busybox\nARG X=1\nIF $X\nRUN true\nEND\nRUN exit 3\n"
	plain := "FROM 127.0.0.1:5000/busybox\nARG X=1\n\nRUN true\n\nRUN exit 3\n"
	ours, _, err := dockerBuild(t, project(t, map[string]string{"Dockerfile": syntaxLine + body}))
	if err == nil {
		t.Fatal("build succeeded")
	}
	builtin, _, err := dockerBuild(t, project(t, map[string]string{"Dockerfile": "# plain\n" + plain}))
	if err == nil {
		t.Fatal("plain build succeeded")
	}
	assertContains(t, ours, "exit code: 3")
	if strings.Contains(builtin, "Dockerfile:7") != strings.Contains(ours, "Dockerfile:7") {
		t.Fatalf("line reporting differs from the engine's own frontend:\n--- ours\n%s\n--- built-in\n%s", ours, builtin)
	}
}

func TestDockerEnginePerPlatformConditions(t *testing.T) {
	dir := project(t, map[string]string{
		"Dockerfile": syntaxLine + "FROM scratch\nIF $TARGETARCH == arm64\nCOPY arm64.txt /arch\nELSE\nCOPY amd64.txt /arch\nEND\n",
		"amd64.txt":  "amd64\n",
		"arm64.txt":  "arm64\n",
	})
	for _, arch := range []string{"amd64", "arm64"} {
		_, out, err := dockerBuild(t, dir, "--platform", "linux/"+arch)
		if err != nil {
			t.Fatal(err)
		}
		if got := strings.TrimSpace(readFile(t, filepath.Join(out, "arch"))); got != arch {
			t.Errorf("%s: got %q", arch, got)
		}
	}
	// The classic client of engine 20.10 builds one platform per build; a
	// list is refused by the daemon before any frontend runs.
	log, _, err := dockerBuild(t, dir, "--platform", "linux/amd64,linux/arm64")
	if err == nil {
		t.Fatal("engine 20.10 accepted a platform list: update docs/compatibility.md")
	}
	assertContains(t, log, "invalid component")
}

func TestDockerEngineExistsAndVariablesInFrom(t *testing.T) {
	dir := project(t, map[string]string{
		"Dockerfile": syntaxLine + `
FROM scratch AS build-a
COPY a.txt /out
FROM scratch AS build-b
COPY b.txt /out
FROM scratch
ARG src=a
COPY --from=build-${src} /out /out
IF EXISTS "*.md"
COPY README.md /
END
`,
		"a.txt": "a\n", "b.txt": "b\n", "README.md": "hi\n",
	})
	_, out, err := dockerBuild(t, dir, "--build-arg", "src=b")
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.TrimSpace(readFile(t, filepath.Join(out, "out"))); got != "b" {
		t.Errorf("got %q", got)
	}
	if _, err := os.Stat(filepath.Join(out, "README.md")); err != nil {
		t.Error("EXISTS did not see README.md")
	}
}

func TestDockerEngineLintFindings(t *testing.T) {
	// Engine 20.10's BuildKit predates build warnings: findings are not
	// shown, but # check=error=true still stops the build at the line.
	dir := project(t, map[string]string{"Dockerfile": syntaxLine + "FROM scratch\nIF $NOT_DECLARED\nEND\nCOPY Dockerfile /\n"})
	log, _, err := dockerBuild(t, dir)
	if err != nil {
		t.Fatal(err)
	}
	assertNotContains(t, log, "ConditionUndefinedVar")

	strict := project(t, map[string]string{"Dockerfile": syntaxLine + "# check=error=true\nFROM scratch\nIF $NOT_DECLARED\nEND\n"})
	log, _, err = dockerBuild(t, strict)
	if err == nil {
		t.Fatal("# check=error=true did not fail the build")
	}
	assertContains(t, log, "ConditionUndefinedVar")
	assertContains(t, log, "Dockerfile:4")
}
