package e2e

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// scannerScript is a stand-in SBOM generator: it follows BuildKit's scanner
// protocol and lists the files it was given to scan.
const scannerScript = `files=$(cd "$BUILDKIT_SCAN_SOURCE" && find . -type f | sort | tr '\n' ' ')
printf '{"_type":"https://in-toto.io/Statement/v0.1","predicateType":"https://spdx.dev/Document","subject":[],"predicate":{"name":"lab-scanner","files":"%s"}}' "$files" > "$BUILDKIT_SCAN_DESTINATION/lab.spdx.json"
`

func TestSBOMScanningArguments(t *testing.T) {
	scanner := project(t, map[string]string{
		"Dockerfile": "FROM 127.0.0.1:5000/busybox\nCOPY scan.sh /scan.sh\nCMD [\"/bin/sh\", \"/scan.sh\"]\n",
		"scan.sh":    scannerScript,
	})
	ref := theLab.Registry + "/lab-scanner:1"
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if _, err := theLab.BuildctlBuild(ctx, "--frontend", "dockerfile.v0", "--local", "context="+scanner,
		"--local", "dockerfile="+scanner, "--output", "type=image,name="+ref+",push=true"); err != nil {
		t.Fatal(err)
	}

	dir := project(t, map[string]string{
		"Dockerfile": syntaxLine + `
ARG FLAVOR=a
FROM scratch
IF $FLAVOR == a
COPY a.txt /payload-a
ELSE
COPY b.txt /payload-b
END
`,
		"a.txt": "a\n", "b.txt": "b\n",
	})
	_, out := mustBuild(t, dir, "--opt", "attest:sbom=generator="+ref)
	var sbom string
	_ = filepath.WalkDir(out, func(p string, d os.DirEntry, err error) error {
		if err == nil && strings.HasSuffix(p, ".spdx.json") {
			sbom = readFile(t, p)
		}
		return nil
	})
	if sbom == "" {
		t.Fatalf("no SBOM exported next to the image files in %s", out)
	}
	assertContains(t, sbom, "lab-scanner")
	assertContains(t, sbom, "./payload-a")
	assertNotContains(t, sbom, "payload-b")
}
