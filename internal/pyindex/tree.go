package pyindex

import (
	"os"
	"path/filepath"
	"strings"
)

// WheelsFromTree reads wheel sources laid out as <dir>/<name>-<version>/…:
// every file below becomes a module of the wheel, except requires.txt,
// whose lines are its Requires-Dist entries. Example projects keep their
// index this way, as plain source next to the lock that pins it.
func WheelsFromTree(dir string) ([]Wheel, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	var out []Wheel
	for _, e := range entries {
		if !e.IsDir() {
			continue
		}
		cut := strings.LastIndex(e.Name(), "-")
		if cut <= 0 {
			continue
		}
		w := Wheel{Name: e.Name()[:cut], Version: e.Name()[cut+1:], Modules: map[string]string{}}
		root := filepath.Join(dir, e.Name())
		err := filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
			if err != nil || d.IsDir() {
				return err
			}
			dt, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			rel, _ := filepath.Rel(root, p)
			if rel == "requires.txt" {
				for _, line := range strings.Split(string(dt), "\n") {
					if line = strings.TrimSpace(line); line != "" {
						w.Requires = append(w.Requires, line)
					}
				}
				return nil
			}
			w.Modules[filepath.ToSlash(rel)] = string(dt)
			return nil
		})
		if err != nil {
			return nil, err
		}
		out = append(out, w)
	}
	return out, nil
}

// Serve builds the wheels and adds them to the server, returning their
// sha256 digests by filename.
func (s *Server) Serve(wheels []Wheel) (map[string]string, error) {
	hashes := map[string]string{}
	for _, w := range wheels {
		name, data, err := BuildWheel(w)
		if err != nil {
			return nil, err
		}
		s.Add(name, data)
		hashes[name] = SHA256(data)
	}
	return hashes, nil
}
