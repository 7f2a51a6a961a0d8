// Package pyindex is test support for end-to-end tests of Python dependency
// installs: it builds small, real wheels in memory and serves them from a
// PEP 503 "simple" index on 127.0.0.1, so tests control exactly which
// packages, versions and hashes pip sees without touching PyPI.
package pyindex

import (
	"archive/zip"
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/csv"
	"encoding/hex"
	"errors"
	"fmt"
	"path"
	"regexp"
	"slices"
	"strings"
	"time"
)

// Wheel describes a pure-Python wheel to build.
type Wheel struct {
	// Name and Version are the distribution's name and version as given; the
	// metadata keeps Name verbatim, the filename uses the normalised form.
	Name, Version string
	// Modules maps a slash-separated path inside the wheel to its content,
	// e.g. "alpha/__init__.py": "VALUE = 1\n".
	Modules map[string]string
	// Requires are Requires-Dist values, e.g. `beta (>=1.0)` or
	// `gamma ; sys_platform == "win32"`.
	Requires []string
	// Tag is the compatibility tag; empty means "py3-none-any".
	Tag string

	// EntryPoints is the content of .dist-info/entry_points.txt, if any.
	EntryPoints string
	// Data maps "<scheme>/<path>" (scripts/…, data/…, headers/…,
	// purelib/…, platlib/…) to content, packed under <dist>.data/.
	Data map[string]string
	// Executable lists paths (of Modules, or "<dist>.data/…") whose zip
	// entry carries the executable bits.
	Executable []string
	// Platlib makes the wheel Root-Is-Purelib: false, as wheels with
	// compiled extensions are.
	Platlib bool
	// Deflate compresses the entries, as real wheels are (Go's deflate:
	// the bytes may differ between Go releases).
	Deflate bool
}

// DefaultTag is the tag used when Wheel.Tag is empty: installable by any
// Python 3 on any platform, which is what the bookworm image runs.
const DefaultTag = "py3-none-any"

// zipTime is the timestamp of every zip entry. A fixed value makes the bytes
// (and so the sha256 a lock file pins) independent of when the wheel was
// built; 1980-01-01 is the earliest date the zip format can store.
var zipTime = time.Date(1980, 1, 1, 0, 0, 0, 0, time.UTC)

var nameRuns = regexp.MustCompile(`[-_.]+`)

// WheelName is the PEP 427 escaped form of a distribution name used in wheel
// filenames and the .dist-info directory: lowercase, runs of '-', '_' and
// '.' replaced by a single '_'.
func WheelName(name string) string {
	return nameRuns.ReplaceAllString(strings.ToLower(name), "_")
}

// ProjectName is the PEP 503 normalised project name used in index URLs:
// lowercase, runs of '-', '_' and '.' replaced by a single '-'.
func ProjectName(name string) string {
	return nameRuns.ReplaceAllString(strings.ToLower(name), "-")
}

// SHA256 returns the hex sha256 of data, the form a poetry.lock "files"
// entry carries as "sha256:<hex>" and pip's --hash=sha256:<hex> expects.
func SHA256(data []byte) string {
	sum := sha256.Sum256(data)
	return hex.EncodeToString(sum[:])
}

// recordDigest is the RECORD form of a hash: urlsafe base64 without padding.
func recordDigest(data []byte) string {
	sum := sha256.Sum256(data)
	return "sha256=" + base64.RawURLEncoding.EncodeToString(sum[:])
}

// BuildWheel returns the filename and bytes of a wheel for w. The same w
// always yields the same bytes.
func BuildWheel(w Wheel) (filename string, data []byte, err error) {
	if w.Name == "" || w.Version == "" {
		return "", nil, errors.New("pyindex: wheel needs a name and a version")
	}
	tag := w.Tag
	if tag == "" {
		tag = DefaultTag
	}
	tags, err := expandTag(tag)
	if err != nil {
		return "", nil, err
	}
	// Values end up in RFC 822 style headers; a newline would forge fields.
	for _, v := range append([]string{w.Name, w.Version, tag}, w.Requires...) {
		if strings.ContainsAny(v, "\r\n") {
			return "", nil, fmt.Errorf("pyindex: newline in wheel field %q", v)
		}
	}

	// PEP 427 also escapes '-' in the version, as '-' separates the fields.
	dist := WheelName(w.Name) + "-" + strings.ReplaceAll(w.Version, "-", "_")
	distInfo := dist + ".dist-info"
	filename = dist + "-" + tag + ".whl"

	var files []zipFile
	for _, p := range sortedKeys(w.Modules) { // map order is random; the zip must not be
		if err := checkModulePath(p, distInfo); err != nil {
			return "", nil, err
		}
		files = append(files, zipFile{name: p, data: []byte(w.Modules[p])})
	}
	for _, p := range sortedKeys(w.Data) {
		if err := checkModulePath(p, distInfo); err != nil || !strings.Contains(p, "/") {
			return "", nil, fmt.Errorf("pyindex: data path %q is not <scheme>/<path>", p)
		}
		files = append(files, zipFile{name: dist + ".data/" + p, data: []byte(w.Data[p])})
	}
	for i := range files {
		files[i].exec = slices.Contains(w.Executable, files[i].name)
	}

	var meta strings.Builder
	fmt.Fprintf(&meta, "Metadata-Version: 2.1\nName: %s\nVersion: %s\n", w.Name, w.Version)
	for _, r := range w.Requires {
		fmt.Fprintf(&meta, "Requires-Dist: %s\n", r)
	}
	var wheel strings.Builder
	fmt.Fprintf(&wheel, "Wheel-Version: 1.0\nGenerator: xdockerfile-pyindex\nRoot-Is-Purelib: %t\n", !w.Platlib)
	for _, t := range tags {
		fmt.Fprintf(&wheel, "Tag: %s\n", t)
	}
	files = append(files,
		zipFile{name: distInfo + "/METADATA", data: []byte(meta.String())},
		zipFile{name: distInfo + "/WHEEL", data: []byte(wheel.String())},
	)
	if w.EntryPoints != "" {
		files = append(files, zipFile{name: distInfo + "/entry_points.txt", data: []byte(w.EntryPoints)})
	}

	// RECORD lists every other file with its digest and size, and itself
	// with both left empty (it cannot contain its own hash).
	var record bytes.Buffer
	cw := csv.NewWriter(&record) // CSV, so paths containing ',' are quoted
	for _, f := range files {
		cw.Write([]string{f.name, recordDigest(f.data), fmt.Sprint(len(f.data))})
	}
	cw.Write([]string{distInfo + "/RECORD", "", ""})
	cw.Flush()
	if err := cw.Error(); err != nil {
		return "", nil, err
	}
	files = append(files, zipFile{name: distInfo + "/RECORD", data: record.Bytes()})

	data, err = writeZip(files, w.Deflate)
	if err != nil {
		return "", nil, err
	}
	return filename, data, nil
}

type zipFile struct {
	name string
	data []byte
	exec bool
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

func writeZip(files []zipFile, deflate bool) ([]byte, error) {
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for _, f := range files {
		h := &zip.FileHeader{
			Name:     f.name,
			Modified: zipTime,
			// Stored unless asked: the bytes then depend only on the zip
			// layout, not on the compressor of a given Go release.
			Method: zip.Store,
		}
		if deflate {
			h.Method = zip.Deflate
		}
		h.SetMode(0o644)
		if f.exec {
			h.SetMode(0o755)
		}
		fw, err := zw.CreateHeader(h)
		if err != nil {
			return nil, err
		}
		if _, err := fw.Write(f.data); err != nil {
			return nil, err
		}
	}
	if err := zw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// checkModulePath rejects paths pip would refuse or that would clash with
// the generated metadata, so a broken test fails here with a clear message
// rather than inside a container build.
func checkModulePath(p, distInfo string) error {
	switch {
	case p == "" || strings.HasPrefix(p, "/") || strings.Contains(p, `\`):
		return fmt.Errorf("pyindex: module path %q must be relative and slash-separated", p)
	case path.Clean(p) != p || p == ".." || strings.HasPrefix(p, "../"):
		return fmt.Errorf("pyindex: module path %q is not clean or leaves the wheel", p)
	case strings.HasPrefix(p, distInfo+"/"):
		return fmt.Errorf("pyindex: module path %q is inside the generated %s", p, distInfo)
	}
	return nil
}

// expandTag turns a possibly compressed tag ("py2.py3-none-any") into the
// individual tags the WHEEL file lists, one per line.
func expandTag(tag string) ([]string, error) {
	parts := strings.Split(tag, "-")
	if len(parts) != 3 || slices.Contains(parts, "") {
		return nil, fmt.Errorf("pyindex: tag %q is not python-abi-platform", tag)
	}
	var out []string
	for _, py := range strings.Split(parts[0], ".") {
		for _, abi := range strings.Split(parts[1], ".") {
			for _, plat := range strings.Split(parts[2], ".") {
				out = append(out, py+"-"+abi+"-"+plat)
			}
		}
	}
	return out, nil
}
