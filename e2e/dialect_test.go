package e2e

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

const syntaxLine = "# syntax=127.0.0.1:5000/xdockerfile:1\n"

// versionProject is a context whose Dockerfile writes /version by the
// branch BUILD_VERSION takes: one (the default, 1), two or other.
func versionProject(t *testing.T) string {
	t.Helper()
	return project(t, map[string]string{"Dockerfile": syntaxLine + `
FROM 127.0.0.1:5000/busybox AS base
ARG BUILD_VERSION=1
IF $BUILD_VERSION==1
RUN echo one > /version
ELSE IF $BUILD_VERSION == 2
RUN echo two > /version
ELSE
RUN echo other > /version
END
FROM scratch
COPY --from=base /version /version
`})
}

func TestIfElseSelectsBranchByBuildArg(t *testing.T) {
	dir := versionProject(t)
	for arg, want := range map[string]string{"": "one", "2": "two", "7": "other"} {
		var args []string
		if arg != "" {
			args = buildArgs("BUILD_VERSION=" + arg)
		}
		_, out := mustBuild(t, dir, args...)
		if got := strings.TrimSpace(readFile(t, filepath.Join(out, "version"))); got != want {
			t.Errorf("BUILD_VERSION=%q: /version = %q, want %q", arg, got, want)
		}
	}
}

func TestUntakenBranchIsNeverResolved(t *testing.T) {
	dir := project(t, map[string]string{"Dockerfile": syntaxLine + `
ARG VARIANT=slim
IF $VARIANT == "full"
FROM 127.0.0.1:5000/no-such-image:full AS base
ELSE
FROM 127.0.0.1:5000/busybox AS base
END
RUN echo "$0" > /shell
FROM scratch
COPY --from=base /shell /shell
`})
	log, out := mustBuild(t, dir)
	readFile(t, filepath.Join(out, "shell"))
	assertNotContains(t, log, "no-such-image")

	// The same file with the other branch taken does resolve it, so the
	// assertion above is about the branch, not about a silent registry.
	log, _, err := build(t, dir, buildArgs("VARIANT=full")...)
	if err == nil {
		t.Fatal("building the branch with the missing image succeeded")
	}
	assertContains(t, log, "no-such-image")
}

func TestIndependentStagesRunConcurrently(t *testing.T) {
	// Each stage records the machine's uptime before and after sleeping;
	// the intervals overlap only if BuildKit ran the stages side by side.
	stage := func(name string) string {
		return "FROM 127.0.0.1:5000/busybox AS " + name + "\n" +
			"RUN cut -d' ' -f1 /proc/uptime > /start && sleep 2 && cut -d' ' -f1 /proc/uptime > /end\n"
	}
	dir := project(t, map[string]string{"Dockerfile": syntaxLine +
		"ARG PARALLEL=1\nIF $PARALLEL\n" + stage("a") + stage("b") + "END\n" +
		"FROM scratch\nCOPY --from=a /start /a.start\nCOPY --from=a /end /a.end\nCOPY --from=b /start /b.start\nCOPY --from=b /end /b.end\n"})
	begin := time.Now()
	_, out := mustBuild(t, dir)
	elapsed := time.Since(begin)
	num := func(name string) float64 {
		f, err := strconv.ParseFloat(strings.TrimSpace(readFile(t, filepath.Join(out, name))), 64)
		if err != nil {
			t.Fatal(err)
		}
		return f
	}
	aStart, aEnd, bStart, bEnd := num("a.start"), num("a.end"), num("b.start"), num("b.end")
	if !(aStart < bEnd && bStart < aEnd) {
		t.Fatalf("stages ran one after the other: a %.2f–%.2f, b %.2f–%.2f", aStart, aEnd, bStart, bEnd)
	}
	t.Logf("two 2-second stages overlapped (a %.2f–%.2f, b %.2f–%.2f); whole build %s", aStart, aEnd, bStart, bEnd, elapsed.Round(10*time.Millisecond))
}

func TestVariablesInStageReferences(t *testing.T) {
	dir := variablesProject(t)
	// Its stage 5 is unnamed: references by index keep working.
	log, out := mustBuild(t, dir, buildArgs("src=stage1")...)
	if got := strings.TrimSpace(readFile(t, filepath.Join(out, "copied"))); got != "one" {
		t.Errorf("COPY --from=build-${src}: got %q, want one", got)
	}
	if got := strings.TrimSpace(readFile(t, filepath.Join(out, "mounted"))); got != "amd64-tool" {
		t.Errorf("RUN --mount from=tools-${TARGETARCH}: got %q, want amd64-tool", got)
	}
	assertNotContains(t, log, "no-such-image")
	assertNotContains(t, log, "[build-stage0")
}

func TestErrorsPointAtTheUsersLines(t *testing.T) {
	cases := []struct {
		name, dockerfile string
		line             int
		msg              string
	}{
		{"unclosed IF", "FROM 127.0.0.1:5000/busybox\nIF $X\nRUN true\n", 3, "IF without END"},
		{"ELSE without IF", "FROM 127.0.0.1:5000/busybox\nRUN true\nELSE\n", 4, "ELSE without IF"},
		{"END without IF", "FROM 127.0.0.1:5000/busybox\nEND\n", 3, "END without IF"},
		{"ELSE IF after ELSE", "FROM 127.0.0.1:5000/busybox\nARG X\nIF $X\nELSE\nELSE IF $X\nEND\n", 6, "ELSE IF after ELSE"},
		{"malformed condition", "FROM 127.0.0.1:5000/busybox\nARG X\nIF $X == \nEND\n", 4, "expected an operand"},
		{"invalid regex", "FROM 127.0.0.1:5000/busybox\nARG X\nIF $X =~ 'a(b'\nEND\n", 4, "invalid regular expression"},
		{"unknowable --from", "FROM 127.0.0.1:5000/busybox AS a\nFROM 127.0.0.1:5000/busybox\nCOPY --from=${FROM_IMAGE_ENV} /a /b\n", 4, "FROM_IMAGE_ENV cannot be known before the build"},
		{"failing RUN after a block", "FROM 127.0.0.1:5000/busybox\nARG X=1\nIF $X\nRUN true\nELSE\nRUN true\nEND\n\nRUN exit 3\n", 10, "exit code: 3"},
		{"upstream error after a block", "FROM 127.0.0.1:5000/busybox\nARG X=1\nIF $X\nRUN true\nEND\nCOPY --chmod=bad a b\n", 7, "chmod"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := project(t, map[string]string{"Dockerfile": syntaxLine + c.dockerfile})
			log, _, err := build(t, dir)
			if err == nil {
				t.Fatalf("build succeeded")
			}
			assertContains(t, log, c.msg)
			assertContains(t, log, "Dockerfile:"+strconv.Itoa(c.line)+"\n")
			// The snippet printed under it is the user's file, IF lines included.
			lines := strings.Split(syntaxLine+c.dockerfile, "\n")
			assertContains(t, log, ">>> "+lines[c.line-1])
		})
	}
}

func TestMultiPlatformSelectsPerPlatform(t *testing.T) {
	_, out := mustBuild(t, platformProject(t), "--opt", "platform=linux/amd64,linux/arm64")
	for _, arch := range []string{"amd64", "arm64"} {
		p := filepath.Join(out, "linux_"+arch)
		if got := strings.TrimSpace(readFile(t, filepath.Join(p, "tool.txt"))); got != arch {
			t.Errorf("%s: tool.txt = %q", arch, got)
		}
		readFile(t, filepath.Join(p, "only-on-"+arch))
		entries, _ := os.ReadDir(p)
		if len(entries) != 2 {
			t.Errorf("%s: %d files, want 2: %v", arch, len(entries), entries)
		}
	}
}

// variablesProject is a context whose Dockerfile picks stages by build-${src}
// and tools-${TARGETARCH}, in COPY --from, RUN --mount from= and ONBUILD,
// next to an unused stage of an image that does not exist: with src=stage1
// on amd64 it gives /copied "one" and /mounted "amd64-tool".
func variablesProject(t *testing.T) string {
	t.Helper()
	return project(t, map[string]string{"Dockerfile": syntaxLine + `
FROM 127.0.0.1:5000/busybox AS build-stage0
RUN echo zero > /out
FROM 127.0.0.1:5000/busybox AS build-stage1
RUN echo one > /out
FROM 127.0.0.1:5000/no-such-image AS build-unused
FROM 127.0.0.1:5000/busybox AS tools-amd64
RUN echo amd64-tool > /tool
FROM 127.0.0.1:5000/busybox AS tools-arm64
RUN echo arm64-tool > /tool
FROM 127.0.0.1:5000/busybox
ARG src=stage0
COPY --from=build-${src} /out /copied
RUN --mount=type=bind,from=tools-${TARGETARCH},target=/tools cp /tools/tool /mounted
ONBUILD COPY --from=build-${src} /out /onbuild
FROM scratch
COPY --from=5 /copied /mounted /
`})
}

// platformProject is a context whose Dockerfile picks a branch and a
// stage by $TARGETARCH: each platform gets tool.txt and only-on-<arch>.
func platformProject(t *testing.T) string {
	t.Helper()
	return project(t, map[string]string{
		"Dockerfile": syntaxLine + `
FROM scratch AS tools-amd64
COPY amd64.txt /tool.txt
FROM scratch AS tools-arm64
COPY arm64.txt /tool.txt
FROM scratch
IF $TARGETARCH == "arm64"
COPY arm64.txt /only-on-arm64
ELSE
COPY amd64.txt /only-on-amd64
END
COPY --from=tools-${TARGETARCH} /tool.txt /tool.txt
`,
		"amd64.txt": "amd64\n",
		"arm64.txt": "arm64\n",
	})
}

// existsProject is a context whose Dockerfile copies what EXISTS finds:
// app.toml and no-vendor, never secret-key-seen (.dockerignore hides it).
func existsProject(t *testing.T) string {
	t.Helper()
	return project(t, map[string]string{
		"Dockerfile": syntaxLine + `
FROM scratch
IF EXISTS config/app.toml
COPY config/app.toml /app.toml
END
IF EXISTS "secrets/*.key"
COPY marker /secret-key-seen
END
IF !EXISTS vendor
COPY marker /no-vendor
END
`,
		"config/app.toml":  "name = 'x'\n",
		"secrets/prod.key": "not for the image\n",
		"marker":           "m\n",
		".dockerignore":    "secrets\n",
	})
}

func TestExistsReadsTheContextWithDockerignore(t *testing.T) {
	dir := existsProject(t)
	_, out := mustBuild(t, dir)
	readFile(t, filepath.Join(out, "app.toml"))
	readFile(t, filepath.Join(out, "no-vendor"))
	if _, err := os.Stat(filepath.Join(out, "secret-key-seen")); err == nil {
		t.Error("EXISTS saw a path that .dockerignore excludes")
	}
}
