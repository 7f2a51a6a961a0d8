package conversion

import (
	"maps"
	"slices"

	"github.com/containerd/platforms"
	ocispecs "github.com/opencontainers/image-spec/specs-go/v1"
)

// vars is a set of declared variables. A declared variable without a value
// (ARG NAME with no default and no --build-arg) is present in declared but
// not in vals, so ${NAME-x} and DEFINED behave as in the shell.
type vars struct {
	vals     map[string]string
	declared map[string]bool
}

func newVars() *vars {
	return &vars{vals: map[string]string{}, declared: map[string]bool{}}
}

func (v *vars) set(k, val string) { v.vals[k] = val; v.declared[k] = true }
func (v *vars) declare(k string)  { delete(v.vals, k); v.declared[k] = true }

func (v *vars) clone() *vars {
	return &vars{vals: maps.Clone(v.vals), declared: maps.Clone(v.declared)}
}

// Get and Keys make vars a shell.EnvGetter.
func (v *vars) Get(k string) (string, bool) { val, ok := v.vals[k]; return val, ok }
func (v *vars) Keys() []string              { return slices.Sorted(maps.Keys(v.vals)) }

// layered looks names up in each layer in turn: what a condition sees is
// the stage's own variables, then the global ARGs, then the automatic
// platform ARGs.
type layered []*vars

func (l layered) Get(k string) (string, bool) {
	for _, v := range l {
		if v.declared[k] {
			val, ok := v.vals[k]
			return val, ok
		}
	}
	return "", false
}

func (l layered) Keys() []string {
	seen := map[string]bool{}
	for _, v := range l {
		for k := range v.vals {
			seen[k] = true
		}
	}
	return slices.Sorted(maps.Keys(seen))
}

func (l layered) declared(k string) bool {
	for _, v := range l {
		if v.declared[k] {
			return true
		}
	}
	return false
}

// platformArgs are the automatic ARGs, computed as BuildKit computes them,
// --build-arg overrides included.
func platformArgs(target, build ocispecs.Platform, stage string, overrides map[string]string) *vars {
	if stage == "" {
		stage = "default"
	}
	v := newVars()
	for _, kv := range [...][2]string{
		{"BUILDPLATFORM", platforms.Format(build)},
		{"BUILDOS", build.OS},
		{"BUILDOSVERSION", build.OSVersion},
		{"BUILDARCH", build.Architecture},
		{"BUILDVARIANT", build.Variant},
		{"TARGETPLATFORM", platforms.FormatAll(target)},
		{"TARGETOS", target.OS},
		{"TARGETOSVERSION", target.OSVersion},
		{"TARGETARCH", target.Architecture},
		{"TARGETVARIANT", target.Variant},
		{"TARGETSTAGE", stage},
	} {
		val := kv[1]
		if o, ok := overrides[kv[0]]; ok {
			val = o
		}
		v.set(kv[0], val)
	}
	return v
}
