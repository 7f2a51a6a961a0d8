// Package version holds the product version, set at link time.
package version

// Version is overridden with -ldflags "-X …/version.Version=v1.2.3".
var Version = "v1.0.0-dev"

// BuildKit is the pinned BuildKit release whose Dockerfile frontend this
// one extends.
const BuildKit = "v0.34.2"
