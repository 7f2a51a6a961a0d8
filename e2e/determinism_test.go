package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/moby/buildkit/solver/pb"
	digest "github.com/opencontainers/go-digest"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
)

// The frontend in buildkitd gives the same LLB for the same inputs, run
// after run: the convert-to-LLB subrequest of a file with conditions,
// stage references in variables and several POETRY INSTALL steps (groups,
// extras, markers, git, URL, path and archive dependencies) answers the
// same definition twenty times.
//
// One thing does differ between runs, by design: every buildctl run opens
// a session of its own, and BuildKit names it in the sources that read the
// client's directories (the local.session attribute), which is no part of
// any cache key. The comparison takes it out and digests the ops again;
// everything else must be equal byte for byte.

const determinismRuns = 20

const determinismDockerfile = syntaxLine + `ARG VARIANT=slim
ARG PICK=deps
IF $VARIANT == "slim" && DEFINED PICK
FROM 127.0.0.1:5000/python:3-bookworm AS base
ELSE
FROM 127.0.0.1:5000/busybox AS base
END
ENV LANG=C.UTF-8

FROM base AS deps
ARG TARGETARCH
IF $TARGETARCH == "amd64"
POETRY INSTALL --with=dev --extras=fancy
ELSE
POETRY INSTALL --only=main
END

FROM base AS direct
POETRY INSTALL --project=direct --allow-unhashed --secret=direct-auth

FROM base AS all
POETRY INSTALL --all-groups --all-extras --venv=/opt/all --compile --with-pip

FROM base AS tools
IF EXISTS direct/libs/*/pyproject.toml
COPY direct/libs /libs
ELSE
RUN false
END

FROM base AS final
ARG PICK
COPY --from=${PICK} /opt/venv /opt/venv
COPY --from=direct /opt/venv /opt/direct
COPY --link --from=all /opt/all /opt/all
COPY --from=tools /libs /libs
IF $TARGETPLATFORM =~ "^linux/(amd64|arm64)$"
RUN --mount=type=secret,id=token python3 -c "print('determinism')"
END
`

func TestDeterminismConvertLLB(t *testing.T) {
	ix := startIndexes(t)
	pkgs := append(slices.Clone(basePackages),
		pkg{name: "gitdep", version: "2.0", git: gitSource{"http://git.invalid/gitdep.git", "main", "0123456789abcdef0123456789abcdef01234567", "sub/dir"}},
		pkg{name: "urldep", version: "1.0", url: "http://files.invalid/urldep-1.0-py3-none-any.whl", hash: strings.Repeat("ab", 32)},
	)
	files := poetryProject(t, ix, pkgs, nil)
	// a lock of git, URL, path and archive dependencies, from the export corpus
	src := filepath.Join(repoRoot, "testdata/poetry/220-h-lock21-vcs-url-path")
	err := filepath.WalkDir(src, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		dt, err := os.ReadFile(p)
		rel, _ := filepath.Rel(src, p)
		files["direct/"+filepath.ToSlash(rel)] = string(dt)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	files["Dockerfile"] = determinismDockerfile
	dir := project(t, files)

	var first string
	sessions := map[string]bool{}
	start := time.Now()
	for i := range determinismRuns {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		out, log, err := theLab.BuildctlOutput(ctx, nil, "--frontend", "dockerfile.v0",
			"--local", "context="+dir, "--local", "dockerfile="+dir,
			"--opt", "requestid=frontend.convertllb", "--opt", "build-arg:PICK=deps")
		cancel()
		if err != nil {
			t.Fatalf("run %d: %v\n%s", i, err, log)
		}
		got, session := normalizedLLB(t, out)
		sessions[session] = true
		if i == 0 {
			first = got
			for _, want := range []string{"POETRY INSTALL --with=dev --extras=fancy", "xdockerfile-poetry-", "/opt/direct", "determinism"} {
				if !strings.Contains(got, want) {
					t.Fatalf("the LLB lacks %q: the file does not convert as it should\n%s", want, got)
				}
			}
			continue
		}
		if got != first {
			t.Fatalf("run %d converted differently:\n%s", i, lineDiff(first, got))
		}
	}
	if len(sessions) != determinismRuns {
		t.Errorf("%d sessions in %d runs: the runs were not independent", len(sessions), determinismRuns)
	}
	t.Logf("%d runs, one LLB (%s), in %s", determinismRuns, digest.FromString(first).Encoded()[:16], time.Since(start).Round(time.Millisecond))
}

// normalizedLLB reads buildctl's output of the convert-to-LLB subrequest
// and describes the definition with the session taken out: each op by its
// digest as recomputed, with its metadata and source locations, in digest
// order. It returns the session it took out.
func normalizedLLB(t *testing.T, out string) (string, string) {
	t.Helper()
	body, ok := strings.CutPrefix(strings.TrimSpace(out), "result.json\n")
	if !ok {
		t.Fatalf("not the convert-to-LLB subrequest's output:\n%s", out)
	}
	var res struct {
		Def      map[string]json.RawMessage `json:"def"`
		Metadata map[string]json.RawMessage `json:"metadata"`
		Source   json.RawMessage            `json:"source"`
	}
	if err := json.Unmarshal([]byte(body), &res); err != nil {
		t.Fatalf("%v\n%s", err, body)
	}
	ops := map[string]*pb.Op{}
	for dgst, raw := range res.Def {
		op := &pb.Op{}
		if err := protojson.Unmarshal(raw, op); err != nil {
			t.Fatalf("op %s: %v", dgst, err)
		}
		ops[dgst] = op
	}
	renamed, session := withoutSession(t, ops)

	var source pb.Source
	if err := protojson.Unmarshal(res.Source, &source); err != nil {
		t.Fatalf("source: %v", err)
	}
	var lines []string
	for old, op := range ops {
		var md map[string]any
		if raw, ok := res.Metadata[old]; ok {
			if err := json.Unmarshal(raw, &md); err != nil {
				t.Fatal(err)
			}
			// upstream draws the IDs of progress groups (COPY --link) at
			// random: they belong to no op and no cache key
			if pg, ok := md["progress_group"].(map[string]any); ok {
				delete(pg, "id")
			}
		}
		mdj, _ := json.Marshal(md)
		opj, _ := protojson.MarshalOptions{UseProtoNames: true}.Marshal(op)
		var canon any
		_ = json.Unmarshal(opj, &canon)
		opc, _ := json.Marshal(canon)
		line := fmt.Sprintf("op %s %s\n  md %s", renamed[old], opc, mdj)
		for _, l := range source.Locations[old].GetLocations() {
			line += fmt.Sprintf("\n  at %d %v", l.SourceIndex, l.Ranges)
		}
		lines = append(lines, line)
	}
	slices.Sort(lines)
	for _, info := range source.Infos {
		defOps := map[string]*pb.Op{}
		for _, dt := range info.GetDefinition().GetDef() {
			op := &pb.Op{}
			if err := proto.Unmarshal(dt, op); err != nil {
				t.Fatal(err)
			}
			defOps[digest.FromBytes(dt).String()] = op
		}
		infoOps, _ := withoutSession(t, defOps)
		lines = append(lines, fmt.Sprintf("source %s %s %s %v", info.Filename, info.Language, digest.FromBytes(info.Data), slices.Sorted(maps.Values(infoOps))))
	}
	return strings.Join(lines, "\n"), session
}

// withoutSession takes the session out of the ops that read the client's
// directories, in place, and digests every op again, inputs first; it
// returns the new digest of each old one, and the session.
func withoutSession(t *testing.T, ops map[string]*pb.Op) (map[string]string, string) {
	t.Helper()
	session := ""
	for _, op := range ops {
		if src := op.GetSource(); src != nil && strings.HasPrefix(src.Identifier, "local://") {
			if s := src.Attrs[pb.AttrLocalSessionID]; s != "" {
				if session != "" && s != session {
					t.Fatalf("two sessions in one definition: %s, %s", session, s)
				}
				session = s
			}
			delete(src.Attrs, pb.AttrLocalSessionID)
		}
	}
	renamed := map[string]string{}
	var rename func(old string) string
	rename = func(old string) string {
		if d, ok := renamed[old]; ok {
			return d
		}
		op, ok := ops[old]
		if !ok {
			t.Fatalf("the definition has no op %s", old)
		}
		for _, in := range op.Inputs {
			in.Digest = rename(in.Digest)
		}
		dt, err := proto.MarshalOptions{Deterministic: true}.Marshal(op)
		if err != nil {
			t.Fatal(err)
		}
		renamed[old] = digest.FromBytes(dt).String()
		return renamed[old]
	}
	for _, old := range slices.Sorted(maps.Keys(ops)) {
		rename(old)
	}
	return renamed, session
}

// lineDiff shows the lines of one text that the other lacks, both ways.
func lineDiff(a, b string) string {
	al, bl := strings.Split(a, "\n"), strings.Split(b, "\n")
	var out []string
	for _, l := range al {
		if !slices.Contains(bl, l) {
			out = append(out, "- "+l)
		}
	}
	for _, l := range bl {
		if !slices.Contains(al, l) {
			out = append(out, "+ "+l)
		}
	}
	return strings.Join(out, "\n")
}
