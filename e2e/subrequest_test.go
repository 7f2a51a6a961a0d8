package e2e

import (
	"encoding/json"
	"strings"
	"testing"
)

const subrequestDockerfile = syntaxLine + `
ARG VARIANT=slim
IF $VARIANT == "full"
# base-full is the full image
FROM 127.0.0.1:5000/busybox AS base-full
ELSE
# base-slim is the slim image
FROM scratch AS base-slim
END
ARG SLIM_TAG=1
ARG GLOBAL_ONLY_IN_CONDITION=1
FROM scratch AS final
ARG BUILD_ID=0
IF $UNDECLARED_IN_CONDITION
END
IF 1 == 1
END
COPY --from=base-${VARIANT} / /
IF $GLOBAL_ONLY_IN_CONDITION
END
`

func subrequest(t *testing.T, dir, id string, args ...string) string {
	t.Helper()
	log, _, err := build(t, dir, append([]string{"--opt", "requestid=" + id}, args...)...)
	if err != nil {
		t.Fatalf("%s: %v", id, err)
	}
	return log
}

func TestSubrequestTargets(t *testing.T) {
	dir := project(t, map[string]string{"Dockerfile": subrequestDockerfile})
	out := subrequest(t, dir, "frontend.targets")
	assertContains(t, out, "base-slim")
	assertNotContains(t, out, "base-full")
	assertContains(t, out, "the slim image")

	out = subrequest(t, dir, "frontend.targets", buildArgs("VARIANT=full")...)
	assertContains(t, out, "base-full")
	assertContains(t, out, "the full image")
}

func TestSubrequestOutline(t *testing.T) {
	dir := project(t, map[string]string{"Dockerfile": subrequestDockerfile})
	out := subrequest(t, dir, "frontend.outline")
	assertContains(t, out, "BUILD_ID")
	// read only by a condition, yet a build argument of this build
	assertContains(t, out, "GLOBAL_ONLY_IN_CONDITION")
}

func TestSubrequestCheckReportsExtensionRules(t *testing.T) {
	dir := project(t, map[string]string{"Dockerfile": subrequestDockerfile})
	out := subrequest(t, dir, "frontend.lint")
	assertContains(t, out, "ConditionUndefinedVar")
	assertContains(t, out, "$UNDECLARED_IN_CONDITION")
	assertContains(t, out, "Dockerfile:15")
	assertContains(t, out, "ConstantCondition")
	assertContains(t, out, "Dockerfile:17")

	// # check= applies to the extensions' rules as to upstream's.
	skipped := project(t, map[string]string{"Dockerfile": strings.Replace(subrequestDockerfile, syntaxLine,
		syntaxLine+"# check=skip=ConstantCondition\n", 1)})
	out = subrequest(t, skipped, "frontend.lint")
	assertContains(t, out, "ConditionUndefinedVar")
	assertNotContains(t, out, "ConstantCondition")

	strict := project(t, map[string]string{"Dockerfile": strings.Replace(subrequestDockerfile, syntaxLine,
		syntaxLine+"# check=error=true\n", 1)})
	log, _, err := build(t, strict)
	if err == nil {
		t.Fatal("# check=error=true: the build passed despite lint findings")
	}
	assertContains(t, log, "ConditionUndefinedVar")
}

func TestSubrequestConvertLLB(t *testing.T) {
	dir := project(t, map[string]string{"Dockerfile": subrequestDockerfile})
	out := subrequest(t, dir, "frontend.convertllb")
	start := strings.Index(out, "{")
	var res struct {
		Def map[string]json.RawMessage `json:"def"`
	}
	if start < 0 || json.Unmarshal([]byte(out[start:]), &res) != nil {
		t.Fatalf("no LLB JSON in output:\n%s", out)
	}
	if len(res.Def) == 0 {
		t.Fatal("empty definition")
	}
	assertNotContains(t, out, "busybox")
}
