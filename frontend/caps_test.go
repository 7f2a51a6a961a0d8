package frontend

import (
	"context"
	"strings"
	"testing"

	"github.com/moby/buildkit/frontend/gateway/client"
	gwpb "github.com/moby/buildkit/frontend/gateway/pb"
	"github.com/moby/buildkit/solver/pb"
	"github.com/moby/buildkit/util/apicaps"
	"github.com/xdockerfile/xdockerfile/conversion"
)

// capsWithout is a daemon's capability sets with everything this BuildKit
// knows but the given capabilities.
func capsWithout(drop ...apicaps.CapID) client.BuildOpts {
	set := func(l *apicaps.CapList) apicaps.CapSet {
		all := l.All()
		kept := all[:0]
		for _, c := range all {
			keep := true
			for _, d := range drop {
				keep = keep && c.ID != string(d)
			}
			if keep {
				kept = append(kept, c)
			}
		}
		return l.CapSet(kept)
	}
	return client.BuildOpts{Caps: set(&gwpb.Caps), LLBCaps: set(&pb.Caps)}
}

// oldDaemon answers only BuildOpts: a frontend that calls anything else
// before refusing it panics.
type oldDaemon struct {
	client.Client
	opts client.BuildOpts
}

func (d oldDaemon) BuildOpts() client.BuildOpts { return d.opts }

func TestBuildRefusesADaemonWithoutACapabilityUpFront(t *testing.T) {
	_, err := Build(context.Background(), oldDaemon{opts: capsWithout(gwpb.CapReadDir)})
	if err == nil {
		t.Fatal("Build accepted a daemon without readdir")
	}
	for _, want := range []string{`xdockerfile needs the BuildKit capability "readdir"`, "EXISTS", "BuildKit v0.12 or newer"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("%q lacks %q", err, want)
		}
	}
}

func TestRequireCaps(t *testing.T) {
	if err := requireCaps(capsWithout(), append(baseCaps, poetryCaps...)); err != nil {
		t.Fatalf("a daemon with every capability: %v", err)
	}
	for _, c := range append(baseCaps, poetryCaps...) {
		err := requireCaps(capsWithout(c.id), append(baseCaps, poetryCaps...))
		if err == nil || !strings.Contains(err.Error(), `capability "`+string(c.id)+`" (for `+c.use+")") {
			t.Errorf("without %s: %v", c.id, err)
		}
	}
	// an LLB capability is looked up among the LLB ones
	if err := requireCaps(capsWithout(pb.CapExecMountCache), baseCaps); err != nil {
		t.Errorf("the base capabilities need no cache mount: %v", err)
	}
}

// Without frontend inputs the daemon has none to offer; the generated
// contexts are still there, and the daemon is never asked.
func TestGeneratedInputsWithoutFrontendInputs(t *testing.T) {
	g := newGeneratedInputs(oldDaemon{opts: capsWithout(gwpb.CapFrontendInputs)})
	if g.generated() {
		t.Fatal("generated before any registration")
	}
	g.register(map[string]conversion.GeneratedContext{"xdockerfile-poetry-x": {Step: "POETRY INSTALL", Files: map[string][]byte{"requirements.txt": []byte("a==1\n")}}})
	in, err := g.Inputs(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := in["xdockerfile-poetry-x"]; !ok || len(in) != 1 || !g.generated() {
		t.Fatalf("inputs %v", in)
	}
}
