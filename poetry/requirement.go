package poetry

import (
	"fmt"
	"net/url"
	"regexp"
	"strings"

	"github.com/xdockerfile/xdockerfile/pep508"
)

var (
	reqNameRE   = regexp.MustCompile(`^\s*([A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?)\s*`)
	reqExtrasRE = regexp.MustCompile(`^\[\s*([^\]]*)\]\s*`)
)

// parseRequirement is Dependency.create_from_pep_508 for the forms found in
// pyproject.toml and poetry.lock: "name[extras] (>=1,<2) ; marker",
// "name>=1; marker" and "name @ url ; marker".
func parseRequirement(s string, root location) (*dependency, error) {
	// comments: "name  # comment ; marker" keeps the marker
	if i := strings.Index(s, " #"); i >= 0 {
		rest := s[i+2:]
		s = strings.TrimSpace(s[:i])
		if j := strings.Index(rest, " ;"); j >= 0 {
			s += " ;" + rest[j+2:]
		}
	}
	m := reqNameRE.FindStringSubmatch(s)
	if m == nil {
		return nil, fmt.Errorf("invalid requirement %q", s)
	}
	name := m[1]
	rest := s[len(m[0]):]
	var extras []string
	if e := reqExtrasRE.FindStringSubmatch(rest); e != nil {
		for _, x := range strings.Split(e[1], ",") {
			if x = strings.TrimSpace(x); x != "" {
				extras = append(extras, x)
			}
		}
		rest = rest[len(e[0]):]
	}
	var markerStr, urlStr, spec string
	if strings.HasPrefix(rest, "@") {
		rest = strings.TrimSpace(rest[1:])
		urlStr = rest
		if i := strings.Index(rest, " ;"); i >= 0 {
			urlStr, markerStr = strings.TrimSpace(rest[:i]), rest[i+2:]
		} else if i := strings.Index(rest, ";"); i >= 0 && strings.ContainsAny(rest[i+1:], "=<>") {
			urlStr, markerStr = strings.TrimSpace(rest[:i]), rest[i+1:]
		}
	} else {
		spec = rest
		if i := strings.Index(rest, ";"); i >= 0 {
			spec, markerStr = rest[:i], rest[i+1:]
		}
		spec = strings.TrimSpace(spec)
		if strings.HasPrefix(spec, "(") && strings.HasSuffix(spec, ")") {
			spec = strings.TrimSpace(spec[1 : len(spec)-1])
		}
	}
	var d *dependency
	if urlStr != "" {
		var err error
		d, err = urlDependency(name, urlStr, extras, root)
		if err != nil {
			return nil, err
		}
	} else {
		c := anyConstraint()
		if spec != "" {
			var parts []string
			for _, p := range strings.Split(spec, ",") {
				parts = append(parts, strings.TrimSpace(p))
			}
			var err error
			c, err = pep508.ParseConstraint(strings.Join(parts, ","))
			if err != nil {
				return nil, fmt.Errorf("invalid requirement %q: %v", s, err)
			}
		}
		d = newDependency(name, c, extras)
	}
	if ms := strings.TrimSpace(markerStr); ms != "" {
		mk, err := pep508.Parse(ms)
		if err != nil {
			return nil, fmt.Errorf("invalid requirement %q: %v", s, err)
		}
		if !mk.IsAny() {
			d.setMarker(mk)
		}
	}
	return d, nil
}

func urlDependency(name, raw string, extras []string, root location) (*dependency, error) {
	d := newDependency(name, anyConstraint(), extras)
	switch {
	case strings.HasPrefix(raw, "git+"):
		u := strings.TrimPrefix(raw, "git+")
		frag := ""
		if i := strings.Index(u, "#"); i >= 0 {
			u, frag = u[:i], u[i+1:]
		}
		rev := ""
		if i := strings.LastIndex(u, "@"); i > strings.Index(u, "://")+2 && !strings.Contains(u[i:], "/") {
			u, rev = u[:i], u[i+1:]
		}
		d.sourceType, d.sourceURL = "git", u
		d.sourceRef = firstNonEmpty(rev, "HEAD")
		d.subdir = fragmentValue(frag, "subdirectory")
		d.allowPre = true
	case strings.HasPrefix(raw, "http://") || strings.HasPrefix(raw, "https://"):
		d.sourceType, d.sourceURL = "url", raw
		if i := strings.Index(raw, "#"); i >= 0 {
			d.subdir = fragmentValue(raw[i+1:], "subdirectory")
		}
	case strings.HasPrefix(raw, "file:"):
		u, err := url.Parse(raw)
		if err != nil {
			return nil, fmt.Errorf("invalid file URL %q", raw)
		}
		p := root.abs(u.Path)
		d.sourceType, d.sourceURL = "directory", p
		if root.isFile(p) {
			d.sourceType = "file"
		}
	default:
		p := root.abs(raw)
		d.sourceType, d.sourceURL = "directory", p
		if root.isFile(p) {
			d.sourceType = "file"
		}
	}
	return d, nil
}

func fragmentValue(frag, key string) string {
	for _, kv := range strings.Split(frag, "&") {
		if k, v, ok := strings.Cut(kv, "="); ok && k == key {
			return v
		}
	}
	return ""
}
