package frontend

import (
	"fmt"

	"github.com/moby/buildkit/frontend/gateway/client"
	gwpb "github.com/moby/buildkit/frontend/gateway/pb"
	"github.com/moby/buildkit/solver/pb"
	"github.com/moby/buildkit/util/apicaps"
)

// A capability of the daemon the frontend relies on, with what it is for,
// so a daemon without it is refused before anything runs, by name, instead
// of failing halfway with a message about an op.
type capability struct {
	id  apicaps.CapID
	llb bool   // an LLB capability; otherwise one of the gateway
	use string // what needs it, for the message
}

// baseCaps are needed by every build: reading the Dockerfile and the
// context paths EXISTS tests.
var baseCaps = []capability{
	{gwpb.CapReadFile, false, "reading the Dockerfile and context files"},
	{gwpb.CapReadDir, false, "EXISTS, which lists context directories"},
}

// poetryCaps are needed by the RUN step POETRY INSTALL becomes.
var poetryCaps = []capability{
	{pb.CapFileBase, true, "POETRY INSTALL's locked requirements, made as files"},
	{pb.CapExecMountBind, true, "POETRY INSTALL's bind mounts"},
	{pb.CapExecMountCache, true, "POETRY INSTALL's download cache"},
	{pb.CapExecMountTmpfs, true, "POETRY INSTALL's credentials directory"},
	{pb.CapExecMountSecret, true, "POETRY INSTALL's credentials, passed as secrets"},
}

// requireCaps returns an error naming the first capability of need that
// the daemon lacks.
func requireCaps(opts client.BuildOpts, need []capability) error {
	for _, c := range need {
		set := opts.Caps
		if c.llb {
			set = opts.LLBCaps
		}
		if set.Supports(c.id) != nil {
			return fmt.Errorf("xdockerfile needs the BuildKit capability %q (for %s), which this BuildKit daemon does not have: it is older than any this frontend supports; build with Docker Engine 20.10 or newer, or BuildKit v0.12 or newer", c.id, c.use)
		}
	}
	return nil
}
