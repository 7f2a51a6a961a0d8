package pyindex

import (
	"bytes"
	"crypto/subtle"
	"fmt"
	"html"
	"net"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"sync"
	"time"
)

// Server is a PEP 503 simple index on 127.0.0.1 serving the files added to
// it. Routes:
//
//	/simple/             project list
//	/simple/<project>/   files of one project, each linked with #sha256=<hex>
//	/files/<filename>    the file itself
type Server struct {
	ln  net.Listener
	srv *http.Server

	mu       sync.Mutex
	files    map[string]indexFile // by filename
	user     string
	password string
	auth     bool
	log      []string
}

type indexFile struct {
	project string // PEP 503 normalised
	data    []byte
	sha256  string
}

// NewServer starts a server on a free loopback port. It listens on
// 127.0.0.1 only: the host-network build containers can reach it, nothing
// else can.
func NewServer() (*Server, error) { return NewServerAt("127.0.0.1:0") }

// NewServerAt is NewServer on a given loopback address, for an index whose
// URL a committed pyproject.toml names.
func NewServerAt(addr string) (*Server, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, err
	}
	s := &Server{ln: ln, files: map[string]indexFile{}}
	s.srv = &http.Server{Handler: s, ReadHeaderTimeout: 10 * time.Second}
	go s.srv.Serve(ln) // returns http.ErrServerClosed on Close
	return s, nil
}

// URL is the index URL to give pip (--index-url) or poetry, with a trailing
// slash, e.g. "http://127.0.0.1:41234/simple/".
func (s *Server) URL() string {
	return "http://" + s.ln.Addr().String() + "/simple/"
}

// Add adds a file, or replaces the one with the same filename, which lets a
// test make a hash recorded earlier stale. The project is derived from the
// filename. data is copied.
func (s *Server) Add(filename string, data []byte) {
	data = bytes.Clone(data)
	s.mu.Lock()
	defer s.mu.Unlock()
	s.files[filename] = indexFile{project: projectOf(filename), data: data, sha256: SHA256(data)}
}

// RequireBasicAuth makes every later request need these credentials;
// requests without them get 401.
func (s *Server) RequireBasicAuth(user, password string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.user, s.password, s.auth = user, password, true
}

// Log returns the access log so far, one "METHOD PATH STATUS" entry per
// request in arrival order, e.g. "GET /files/alpha-1.0-py3-none-any.whl 200".
func (s *Server) Log() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.log...)
}

// ResetLog empties the access log, so a test can look at one build's
// requests only.
func (s *Server) ResetLog() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.log = nil
}

// Close stops the server and closes open connections.
func (s *Server) Close() error {
	return s.srv.Close()
}

// statusWriter remembers the status code for the access log.
type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

// ServeHTTP implements http.Handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	sw := &statusWriter{ResponseWriter: w}
	s.serve(sw, r)
	if sw.status == 0 {
		sw.status = http.StatusOK
	}
	s.mu.Lock()
	s.log = append(s.log, fmt.Sprintf("%s %s %d", r.Method, r.URL.Path, sw.status))
	s.mu.Unlock()
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	if !s.authorized(r) {
		// The challenge makes clients that wait for one (pip without
		// credentials in the URL, curl) retry with credentials.
		w.Header().Set("WWW-Authenticate", `Basic realm="pyindex"`)
		http.Error(w, "authentication required", http.StatusUnauthorized)
		return
	}
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	p := r.URL.Path
	switch {
	case p == "/simple":
		http.Redirect(w, r, "/simple/", http.StatusMovedPermanently)
	case p == "/simple/":
		s.serveProjects(w)
	case strings.HasPrefix(p, "/simple/"):
		name, slash := strings.CutSuffix(strings.TrimPrefix(p, "/simple/"), "/")
		if strings.Contains(name, "/") {
			http.NotFound(w, r)
			return
		}
		// PEP 503 lets an index redirect a non-normalised name to the
		// normalised URL; pip follows it, as it does the missing slash.
		if norm := ProjectName(name); !slash || norm != name {
			http.Redirect(w, r, "/simple/"+url.PathEscape(norm)+"/", http.StatusMovedPermanently)
			return
		}
		s.serveProject(w, r, name)
	case strings.HasPrefix(p, "/files/"):
		s.serveFile(w, r, strings.TrimPrefix(p, "/files/"))
	default:
		http.NotFound(w, r)
	}
}

func (s *Server) authorized(r *http.Request) bool {
	s.mu.Lock()
	need, user, password := s.auth, s.user, s.password
	s.mu.Unlock()
	if !need {
		return true
	}
	u, p, ok := r.BasicAuth()
	// Constant time out of habit; it costs nothing.
	return ok &&
		subtle.ConstantTimeCompare([]byte(u), []byte(user)) == 1 &&
		subtle.ConstantTimeCompare([]byte(p), []byte(password)) == 1
}

func (s *Server) serveProjects(w http.ResponseWriter) {
	s.mu.Lock()
	seen := map[string]bool{}
	var projects []string
	for _, f := range s.files {
		if !seen[f.project] {
			seen[f.project] = true
			projects = append(projects, f.project)
		}
	}
	s.mu.Unlock()
	sort.Strings(projects)

	var b strings.Builder
	b.WriteString("<!DOCTYPE html>\n<html><head><title>Simple index</title></head><body>\n")
	for _, p := range projects {
		fmt.Fprintf(&b, "<a href=\"%s/\">%s</a><br>\n", html.EscapeString(url.PathEscape(p)), html.EscapeString(p))
	}
	b.WriteString("</body></html>\n")
	writeHTML(w, b.String())
}

func (s *Server) serveProject(w http.ResponseWriter, r *http.Request, project string) {
	type link struct{ filename, sha256 string }
	var links []link
	s.mu.Lock()
	for name, f := range s.files {
		if f.project == project {
			links = append(links, link{name, f.sha256})
		}
	}
	s.mu.Unlock()
	if len(links) == 0 {
		http.NotFound(w, r)
		return
	}
	sort.Slice(links, func(i, j int) bool { return links[i].filename < links[j].filename })

	var b strings.Builder
	fmt.Fprintf(&b, "<!DOCTYPE html>\n<html><head><title>Links for %s</title></head><body>\n", html.EscapeString(project))
	for _, l := range links {
		href := "../../files/" + url.PathEscape(l.filename) + "#sha256=" + l.sha256
		fmt.Fprintf(&b, "<a href=\"%s\">%s</a><br>\n", html.EscapeString(href), html.EscapeString(l.filename))
	}
	b.WriteString("</body></html>\n")
	writeHTML(w, b.String())
}

func (s *Server) serveFile(w http.ResponseWriter, r *http.Request, filename string) {
	s.mu.Lock()
	f, ok := s.files[filename]
	s.mu.Unlock()
	if !ok {
		http.NotFound(w, r)
		return
	}
	// An explicit type stops ServeContent from sniffing. Files are
	// cacheable for long, as on PyPI, whose file URLs never change content:
	// that is what lets pip's download cache skip unchanged wheels. A test
	// that replaces a file must use a name no cache has seen.
	w.Header().Set("Content-Type", "application/octet-stream")
	w.Header().Set("Cache-Control", "public, max-age=365000000, immutable")
	http.ServeContent(w, r, filename, time.Time{}, bytes.NewReader(f.data))
}

func writeHTML(w http.ResponseWriter, body string) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	// Listings change as files are added: never serve them from a cache.
	w.Header().Set("Cache-Control", "no-store")
	fmt.Fprint(w, body)
}

// projectOf derives the normalised project name from a distribution
// filename: a wheel's name is everything before the first '-' (PEP 427
// escapes it in names), an sdist's everything before the last '-'.
func projectOf(filename string) string {
	if name, _, ok := strings.Cut(filename, "-"); ok && strings.HasSuffix(filename, ".whl") {
		return ProjectName(name)
	}
	base := filename
	for _, ext := range []string{".tar.gz", ".zip", ".tar.bz2", ".tgz"} {
		if b, ok := strings.CutSuffix(base, ext); ok {
			base = b
			break
		}
	}
	if i := strings.LastIndex(base, "-"); i > 0 {
		base = base[:i]
	}
	return ProjectName(base)
}
