package lab

import (
	"fmt"
	"path/filepath"

	"github.com/xdockerfile/xdockerfile/internal/pyindex"
)

// ExampleIndex is where the examples' pyproject.toml files find their
// package index: the lab serves it on this fixed address.
const ExampleIndex = "127.0.0.1:5001"

// ServeExampleIndex serves the wheels of an example whose sources are laid
// out under <example>/index (see pyindex.WheelsFromTree) at ExampleIndex,
// and setuptools for the builds of path dependencies.
func ServeExampleIndex(example string) (*pyindex.Server, error) {
	wheels, err := pyindex.WheelsFromTree(filepath.Join(example, "index"))
	if err != nil {
		return nil, err
	}
	s, err := pyindex.NewServerAt(ExampleIndex)
	if err != nil {
		return nil, fmt.Errorf("the example index needs %s: %w", ExampleIndex, err)
	}
	if _, err := s.Serve(wheels); err != nil {
		s.Close()
		return nil, err
	}
	// what path dependencies build with
	if err := s.ServeBuildBackend(); err != nil {
		s.Close()
		return nil, err
	}
	return s, nil
}
