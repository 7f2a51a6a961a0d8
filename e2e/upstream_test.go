package e2e

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/xdockerfile/xdockerfile/internal/testfs"
)

// Upstream features keep working through the frontend image.

func TestUpstreamFeaturesThroughTheFrontend(t *testing.T) {
	extra := t.TempDir()
	testfs.Write(t, extra, map[string]string{"from-named-context.txt": "named\n"})
	dir := project(t, map[string]string{
		"Dockerfile": syntaxLine + `# check=skip=StageNameCasing
ARG MODE=full
FROM 127.0.0.1:5000/busybox AS Tools
RUN mkdir /t && echo tool > /t/tool

FROM 127.0.0.1:5000/busybox AS build
IF $MODE == full
RUN <<EOT
IF this line is data
echo heredoc > /heredoc
EOT
COPY <<EOF /copied-heredoc
END inside a heredoc is data too
EOF
END
RUN --mount=type=cache,target=/cache echo cached > /cache/c && cp /cache/c /from-cache
RUN --mount=type=tmpfs,target=/scratch touch /scratch/x && ls /scratch > /from-tmpfs
RUN --mount=type=bind,from=Tools,source=/t,target=/mnt cat /mnt/tool > /from-bind
RUN --mount=type=secret,id=token,env=TOKEN test -n "$TOKEN" && echo has-token > /from-secret
RUN --mount=type=ssh test -S "$SSH_AUTH_SOCK" && echo has-agent > /from-ssh
COPY --from=extra from-named-context.txt /
COPY --chmod=0640 --link Dockerfile /linked

FROM scratch
COPY --from=build /heredoc /copied-heredoc /from-cache /from-tmpfs /from-bind /from-secret /from-ssh /from-named-context.txt /linked /
`})
	secrets := t.TempDir()
	testfs.Write(t, secrets, map[string]string{"token": "t0ken-value"})
	key := filepath.Join(secrets, "id_ed25519")
	if _, err := theLab.Run(context.Background(), "ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", key); err != nil {
		t.Fatal(err)
	}
	log, out := mustBuild(t, dir,
		"--local", "extra="+extra, "--opt", "context:extra=local:extra",
		"--secret", "id=token,src="+filepath.Join(secrets, "token"),
		"--ssh", "default="+key)
	for file, want := range map[string]string{
		"heredoc": "heredoc", "copied-heredoc": "END inside a heredoc is data too",
		"from-cache": "cached", "from-tmpfs": "x", "from-bind": "tool",
		"from-secret": "has-token", "from-ssh": "has-agent", "from-named-context.txt": "named",
	} {
		if got := strings.TrimSpace(readFile(t, filepath.Join(out, file))); got != want {
			t.Errorf("%s = %q, want %q", file, got, want)
		}
	}
	readFile(t, filepath.Join(out, "linked"))
	assertNotContains(t, log, "t0ken-value")
	// # check=skip applies to upstream's rules through our frontend.
	assertNotContains(t, log, "StageNameCasing")
}

func TestUpstreamLintRulesStillReport(t *testing.T) {
	dir := project(t, map[string]string{"Dockerfile": syntaxLine + "from 127.0.0.1:5000/busybox AS Base\nIF $NOPE\nEND\nRUN true\n"})
	out := subrequest(t, dir, "frontend.lint")
	assertContains(t, out, "StageNameCasing")
	assertContains(t, out, "FromAsCasing")
	assertContains(t, out, "ConditionUndefinedVar")
	assertContains(t, out, "Dockerfile:3")
}
