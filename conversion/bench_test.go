package conversion

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/moby/buildkit/frontend/dockerfile/dockerfile2llb"
	"github.com/xdockerfile/xdockerfile/syntax"
)

// BenchmarkConversion measures what the dialect costs over upstream's
// frontend, from the file's bytes to a marshalled LLB definition, each side
// doing what its frontend does (`make bench` reads the sub-benchmark names):
//
//   - corpus: every plain corpus file that upstream converts, in one op,
//     through upstream's dockerfile2llb and through xdockerfile;
//   - ext30, ext300, ext3000: an extended file of that many lines through
//     xdockerfile, against upstream converting the plain file it lowers to.
func BenchmarkConversion(b *testing.B) {
	ctx := context.Background()
	var plain []benchInput
	files, _ := filepath.Glob("../testdata/corpus/plain/*.Dockerfile")
	for _, p := range files {
		dt, err := os.ReadFile(p)
		if err != nil {
			b.Fatal(err)
		}
		in := benchInput{name: filepath.Base(p), dt: dt, opt: corpusOpt(dt, p)}
		if _, err := dockerfile2llb.Dockerfile2LLB(ctx, dt, in.opt); err == nil {
			plain = append(plain, in)
		}
	}
	benchPair(b, "corpus", plain, plain)

	for _, n := range []int{30, 300, 3000} {
		dt := extendedFile(n)
		ours := benchInput{name: "Dockerfile", dt: dt, opt: corpusOpt(dt, "Dockerfile")}
		f, err := syntax.Parse("Dockerfile", dt)
		if err != nil {
			b.Fatal(err)
		}
		res, err := (&Build{File: f}).Plain(ctx, ours.opt, nil)
		if err != nil {
			b.Fatal(err)
		}
		lowered := benchInput{name: "Dockerfile", dt: res.Dockerfile, opt: corpusOpt(res.Dockerfile, "Dockerfile")}
		benchPair(b, fmt.Sprintf("ext%d", n), []benchInput{lowered}, []benchInput{ours})
	}
}

type benchInput struct {
	name string
	dt   []byte
	opt  ConvertOpt
}

// benchPair runs upstream on its inputs and xdockerfile on ours, as the
// two frontends would: read, convert, marshal.
func benchPair(b *testing.B, name string, upstream, ours []benchInput) {
	ctx := context.Background()
	b.Run(name+"/upstream", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			for _, in := range upstream {
				res, err := dockerfile2llb.Dockerfile2LLB(ctx, in.dt, in.opt)
				if err != nil {
					b.Fatal(err)
				}
				if _, err := res.State.Marshal(ctx); err != nil {
					b.Fatal(err)
				}
			}
		}
	})
	b.Run(name+"/xdockerfile", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			for _, in := range ours {
				f, err := syntax.Read(in.name, in.dt)
				if err != nil {
					b.Fatal(err)
				}
				res, _, err := (&Build{File: f}).ToLLB(ctx, in.opt)
				if err != nil {
					b.Fatal(err)
				}
				if _, err := res.State.Marshal(ctx); err != nil {
					b.Fatal(err)
				}
			}
		}
	})
}

// extendedFile is a deterministic xdockerfile of n lines in the shape of a
// real multi-stage build: a base stage whose FROM a block chooses, then
// build stages with ENV, cache mounts, nested IF / ELSE IF / ELSE blocks and
// a COPY --from=${var} chained to the previous stage, and a final stage
// that collects the last one, so that every stage is converted.
func extendedFile(n int) []byte {
	var lines []string
	add := func(format string, args ...any) {
		lines = append(lines, strings.Split(fmt.Sprintf(format, args...), "\n")...)
	}
	add(`# syntax=xdockerfile
ARG VARIANT=slim
IF $VARIANT == "full"
FROM golang:1.26-bookworm AS base
ELSE
FROM golang:1.26-alpine AS base
END
ENV CGO_ENABLED=0 GOFLAGS=-trimpath
WORKDIR /src`)
	const stage, final = 17, 4 // lines
	branches := [2]string{`IF $TARGETARCH == "amd64"
    RUN GOAMD64=v2 go build -o /out/pkg%[1]d $PKG
    IF $VARIANT == "full"
        RUN go test -race $PKG
    END
ELSE
    RUN go build -o /out/pkg%[1]d $PKG
END`, `IF $TARGETARCH == "amd64"
    RUN GOAMD64=v2 go build -o /out/pkg%[1]d $PKG
ELSE IF $TARGETARCH =~ "^arm" && !DEFINED CI
    ENV GOARM=7
    RUN go build -o /out/pkg%[1]d $PKG
ELSE
    RUN go build -o /out/pkg%[1]d $PKG
END`}
	prev := "base"
	for i := 0; len(lines)+final < n; i++ {
		if len(lines)+stage+final > n {
			add("RUN go vet ./...") // too little room for a stage
			continue
		}
		add(`
FROM base AS build-%[1]d
ARG TARGETARCH
ARG DEP=%[2]s
ENV PKG=./pkg%[1]d
COPY --from=${DEP} /out /deps
COPY pkg%[1]d/ ./pkg%[1]d/
`+branches[i%2]+`
RUN --mount=type=cache,target=/root/.cache/go-build \
    go generate $PKG && ls /out`, i, prev)
		prev = fmt.Sprintf("build-%d", i)
	}
	add(`FROM scratch
ARG LAST=%s
COPY --from=${LAST} /out /bin
ENTRYPOINT ["/bin/pkg0"]`, prev)
	return []byte(strings.Join(lines, "\n") + "\n")
}

func TestExtendedFileHasItsLength(t *testing.T) {
	for _, n := range []int{30, 300, 3000} {
		dt := extendedFile(n)
		if got := strings.Count(string(dt), "\n"); got != n {
			t.Errorf("extendedFile(%d) has %d lines", n, got)
		}
		if _, err := syntax.Parse("Dockerfile", dt); err != nil {
			t.Errorf("extendedFile(%d): %v", n, err)
		}
	}
}
