package conversion

import (
	"bytes"
	"context"
	"testing"

	"github.com/moby/buildkit/frontend/dockerfile/dockerfile2llb"
	"github.com/moby/buildkit/frontend/dockerfile/parser"
	"github.com/xdockerfile/xdockerfile/syntax"
)

func BenchmarkZZParts(b *testing.B) {
	ctx := context.Background()
	dt := extendedFile(3000)
	f, _ := syntax.Parse("Dockerfile", dt)
	opt := corpusOpt(dt, "Dockerfile")
	res, _ := (&Build{File: f}).Plain(ctx, opt, nil)
	b.Run("bkparse", func(b *testing.B) {
		for b.Loop() {
			parser.Parse(bytes.NewReader(dt))
		}
	})
	b.Run("syntaxparse", func(b *testing.B) {
		for b.Loop() {
			syntax.Parse("Dockerfile", dt)
		}
	})
	b.Run("plain", func(b *testing.B) {
		for b.Loop() {
			(&Build{File: f}).Plain(ctx, opt, nil)
		}
	})
	b.Run("d2llb", func(b *testing.B) {
		for b.Loop() {
			dockerfile2llb.Dockerfile2LLB(ctx, res.Dockerfile, opt)
		}
	})
	b.Run("d2llbmarshal", func(b *testing.B) {
		for b.Loop() {
			r, _ := dockerfile2llb.Dockerfile2LLB(ctx, res.Dockerfile, opt)
			r.State.Marshal(ctx)
		}
	})
}
