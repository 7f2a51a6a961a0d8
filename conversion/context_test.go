package conversion

import (
	"context"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/xdockerfile/xdockerfile/internal/testfs"
)

// A symbolic link out of the context reads as nothing, as in a build,
// which transfers the link and never what it points at.
func TestDirContextStaysInside(t *testing.T) {
	top := testfs.Dir(t, map[string]string{
		"outside/pyproject.toml":     "[project]\n",
		"context/app/pyproject.toml": "[project]\nname = 'app'\n",
	})
	root := filepath.Join(top, "context")
	for link, target := range map[string]string{"up": "../outside", "abs": filepath.Join(top, "outside"), "inside": "app"} {
		if err := os.Symlink(target, filepath.Join(root, link)); err != nil {
			t.Fatal(err)
		}
	}
	files, err := DirContext{Root: root}.ReadFiles(context.Background(), []string{"up/pyproject.toml", "abs/pyproject.toml", "inside/pyproject.toml", "app/pyproject.toml"})
	if err != nil {
		t.Fatal(err)
	}
	if len(files) != 2 || files["inside/pyproject.toml"] == nil || files["app/pyproject.toml"] == nil {
		t.Fatalf("read %v, want the two paths inside the context", slices.Sorted(maps.Keys(files)))
	}
}
