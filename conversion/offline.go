package conversion

import (
	"context"
	"encoding/json"

	"github.com/moby/buildkit/client/llb/sourceresolver"
	"github.com/moby/buildkit/solver/pb"
	digest "github.com/opencontainers/go-digest"
	ocispecs "github.com/opencontainers/image-spec/specs-go/v1"
)

// OfflineImages answers every image lookup with the same small config of
// the platform asked for, without a registry: conversion then runs where
// nothing can be pulled (the CLI's check, tests, benchmarks), and an image
// name is all it needs to be right about.
type OfflineImages struct{}

func (OfflineImages) ResolveImageConfig(_ context.Context, ref string, opt sourceresolver.Opt) (string, digest.Digest, []byte, error) {
	p := ocispecs.Platform{OS: "linux", Architecture: "amd64"}
	if opt.ImageOpt != nil && opt.ImageOpt.Platform != nil {
		p = *opt.ImageOpt.Platform
	}
	cfg, err := json.Marshal(map[string]any{
		"os": p.OS, "architecture": p.Architecture,
		"config": map[string]any{"Env": []string{"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"}, "WorkingDir": "/"},
	})
	return ref, digest.FromString(ref), cfg, err
}

// Offline makes opt convert with no BuildKit to ask: images resolve
// through OfflineImages and every LLB capability is taken as there.
func Offline(opt ConvertOpt) ConvertOpt {
	opt.MetaResolver = OfflineImages{}
	caps := pb.Caps.CapSet(pb.Caps.All())
	opt.LLBCaps = &caps
	return opt
}
