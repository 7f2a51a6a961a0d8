package pyindex

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// BuildSdist returns the filename and bytes of a source distribution of w
// (its Name, Version and Modules) built by setuptools: what pip must build,
// in isolation, with setuptools from the package index (ServeBuildBackend).
// The same w always yields the same bytes.
func BuildSdist(w Wheel) (filename string, data []byte, err error) {
	base := WheelName(w.Name) + "-" + w.Version
	files, err := SourceTree(w)
	if err != nil {
		return "", nil, err
	}
	var buf bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&buf, gzip.BestCompression)
	zw.ModTime = zipTime
	tw := tar.NewWriter(zw)
	for _, p := range sortedKeys(files) {
		hdr := &tar.Header{Name: base + "/" + p, Mode: 0o644, Size: int64(len(files[p])), ModTime: zipTime, Format: tar.FormatPAX}
		if err := tw.WriteHeader(hdr); err != nil {
			return "", nil, err
		}
		if _, err := tw.Write([]byte(files[p])); err != nil {
			return "", nil, err
		}
	}
	if err := tw.Close(); err != nil {
		return "", nil, err
	}
	if err := zw.Close(); err != nil {
		return "", nil, err
	}
	return base + ".tar.gz", buf.Bytes(), nil
}

// SourceTree is the project of w (its Name, Version and Modules) as its
// source: a pyproject.toml that setuptools builds, PKG-INFO and the modules.
func SourceTree(w Wheel) (map[string]string, error) {
	var pkgs []string
	for _, p := range sortedKeys(w.Modules) {
		if dir, file, ok := strings.Cut(p, "/"); ok && file == "__init__.py" {
			pkgs = append(pkgs, fmt.Sprintf("%q", dir))
		}
	}
	files := map[string]string{
		"pyproject.toml": fmt.Sprintf("[build-system]\nrequires = [\"setuptools>=61\"]\nbuild-backend = \"setuptools.build_meta\"\n\n"+
			"[project]\nname = %q\nversion = %q\n\n[tool.setuptools]\npackages = [%s]\n", w.Name, w.Version, strings.Join(pkgs, ", ")),
		"PKG-INFO": fmt.Sprintf("Metadata-Version: 2.1\nName: %s\nVersion: %s\n", w.Name, w.Version),
	}
	for p, content := range w.Modules {
		if err := checkModulePath(p, WheelName(w.Name)+".dist-info"); err != nil {
			return nil, err
		}
		files[p] = content
	}
	return files, nil
}

// ServeBuildBackend serves the setuptools (and wheel) wheels Debian ships
// in /usr/share/python-wheels, so that pip can build sdists in isolation
// from this index, as it would from PyPI.
func (s *Server) ServeBuildBackend() error {
	found := 0
	for _, pattern := range []string{"setuptools-*.whl", "wheel-*.whl"} {
		matches, _ := filepath.Glob(filepath.Join("/usr/share/python-wheels", pattern))
		for _, m := range matches {
			data, err := os.ReadFile(m)
			if err != nil {
				return err
			}
			s.Add(filepath.Base(m), data)
			found++
		}
	}
	if found == 0 {
		return fmt.Errorf("no setuptools wheel in /usr/share/python-wheels (Debian's python3-setuptools-whl)")
	}
	return nil
}
