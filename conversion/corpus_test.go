package conversion

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/moby/buildkit/client/llb"
	"github.com/moby/buildkit/frontend/dockerfile/dockerfile2llb"
	digest "github.com/opencontainers/go-digest"
	ocispecs "github.com/opencontainers/image-spec/specs-go/v1"
	"github.com/xdockerfile/xdockerfile/syntax"
)

// corpus lists the real-world Dockerfiles that must pass through unchanged.
func corpus(t *testing.T) []string {
	t.Helper()
	files, _ := filepath.Glob("../testdata/corpus/plain/*.Dockerfile")
	if len(files) < 29 {
		t.Fatalf("corpus incomplete: %d files", len(files))
	}
	return files
}

func corpusOpt(dt []byte, name string) ConvertOpt {
	opt := Offline(ConvertOpt{})
	opt.BuildArgs = map[string]string{}
	opt.BuildPlatforms = []ocispecs.Platform{goldenBuildPlatform}
	main := llb.Local("context", llb.LocalUniqueID("corpus"))
	opt.MainContext = &main
	opt.SourceMap = llb.NewSourceMap(nil, name, "Dockerfile", dt)
	return opt
}

func TestCorpusLowersToTheSameBytes(t *testing.T) {
	for _, path := range corpus(t) {
		dt, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		f, err := syntax.Parse(filepath.Base(path), dt)
		if err != nil {
			t.Errorf("%s: %v", path, err)
			continue
		}
		b := &Build{File: f, Context: DirContext{Root: t.TempDir()}}
		res, err := b.Plain(context.Background(), corpusOpt(dt, path), nil)
		if err != nil {
			t.Errorf("%s: %v", path, err)
			continue
		}
		if !bytes.Equal(res.Dockerfile, dt) {
			t.Errorf("%s: lowering changed a file that uses no extension", path)
		}
	}
}

func TestCorpusGivesUpstreamsLLB(t *testing.T) {
	ctx := context.Background()
	converted := 0
	for _, path := range corpus(t) {
		dt, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		opt := corpusOpt(dt, filepath.Base(path))
		if strings.Contains(path, "windows") || strings.Contains(path, "nanoserver") {
			p := ocispecs.Platform{OS: "windows", Architecture: "amd64"}
			opt.TargetPlatform = &p
		}
		want, wantErr := dockerfile2llb.Dockerfile2LLB(ctx, dt, opt)
		// Read is the frontend's way, which skips our parser on a plain
		// file; Parse is the full way, taken by files Read cannot prove plain.
		for _, read := range []func(string, []byte) (*syntax.File, error){syntax.Read, syntax.Parse} {
			f, err := read(filepath.Base(path), dt)
			if err != nil {
				t.Fatalf("%s: %v", path, err)
			}
			got, _, gotErr := (&Build{File: f, Context: DirContext{Root: t.TempDir()}}).ToLLB(ctx, opt)
			if (wantErr == nil) != (gotErr == nil) || (wantErr != nil && wantErr.Error() != gotErr.Error()) {
				t.Errorf("%s (plain: %v): upstream error %v, ours %v", path, f.Plain, wantErr, gotErr)
				continue
			}
			if wantErr != nil {
				t.Logf("%s: both reject it: %v", filepath.Base(path), wantErr)
				continue
			}
			if normalized(t, want) != normalized(t, got) {
				t.Errorf("%s (plain: %v): LLB differs from upstream's", path, f.Plain)
				continue
			}
			wantImg, _ := json.Marshal(want.Image)
			gotImg, _ := json.Marshal(got.Image)
			if !bytes.Equal(wantImg, gotImg) {
				t.Errorf("%s (plain: %v): image config differs from upstream's", path, f.Plain)
				continue
			}
			if f.Plain {
				converted++
			}
		}
	}
	t.Logf("%d corpus files give byte-identical LLB and image config, both ways", converted)
	if converted < 25 {
		t.Errorf("only %d corpus files converted", converted)
	}
}

// normalized is a definition in a form that is equal for equal LLB: ops
// by digest, with their metadata and source locations, the random
// progress group IDs left out.
func normalized(t *testing.T, r *LLBResult) string {
	t.Helper()
	def, err := r.State.Marshal(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, dt := range def.Def {
		dgst := digest.FromBytes(dt)
		md := def.Metadata[dgst]
		md.ProgressGroup = nil
		mdj, _ := json.Marshal(md)
		var locs []string
		if def.Source != nil {
			for _, l := range def.Source.Locations[dgst.String()].GetLocations() {
				locs = append(locs, l.String())
			}
		}
		out = append(out, dgst.String()+" "+string(mdj)+" "+strings.Join(locs, ","))
	}
	slices.Sort(out)
	return strings.Join(out, "\n")
}
