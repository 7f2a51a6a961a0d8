// Package gitserver is test support for git dependencies: repositories
// made here and served over smart HTTP by git's own http-backend on
// 127.0.0.1, optionally behind basic auth.
package gitserver

import (
	"fmt"
	"net"
	"net/http"
	"net/http/cgi"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
)

// Server serves the bare repositories under its root.
type Server struct {
	root string
	srv  *http.Server
	ln   net.Listener

	mu         sync.Mutex
	user, pass string
	log        []string
}

// Start serves repositories from a fresh directory under dir.
func Start(dir string) (*Server, error) {
	backend, err := exec.Command("git", "--exec-path").Output()
	if err != nil {
		return nil, fmt.Errorf("gitserver: git is not installed: %w", err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	s := &Server{root: filepath.Join(dir, "repos"), ln: ln}
	if err := os.MkdirAll(s.root, 0o755); err != nil {
		return nil, err
	}
	cgiHandler := &cgi.Handler{
		Path: filepath.Join(strings.TrimSpace(string(backend)), "git-http-backend"),
		Env:  []string{"GIT_PROJECT_ROOT=" + s.root, "GIT_HTTP_EXPORT_ALL=1"},
	}
	s.srv = &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		user, pass := s.user, s.pass
		s.log = append(s.log, r.Method+" "+r.URL.Path)
		s.mu.Unlock()
		if u, p, ok := r.BasicAuth(); user != "" && (!ok || u != user || p != pass) {
			w.Header().Set("WWW-Authenticate", `Basic realm="git"`)
			http.Error(w, "authentication required", http.StatusUnauthorized)
			return
		}
		cgiHandler.ServeHTTP(w, r)
	})}
	go s.srv.Serve(ln)
	return s, nil
}

// URL is the address of repository name ("http://127.0.0.1:N/name.git").
func (s *Server) URL(name string) string {
	return fmt.Sprintf("http://%s/%s.git", s.ln.Addr(), name)
}

// RequireBasicAuth makes every request need these credentials.
func (s *Server) RequireBasicAuth(user, pass string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.user, s.pass = user, pass
}

// Log returns the requests served so far.
func (s *Server) Log() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.log...)
}

// Close stops serving.
func (s *Server) Close() error { return s.srv.Close() }

// Commit writes files (slash-separated path → content, replacing the whole
// tree) as a new commit on branch of repository name, creating it as
// needed, and returns the commit's hash.
func (s *Server) Commit(name, branch string, files map[string]string) (string, error) {
	work, err := os.MkdirTemp("", "gitserver-work-")
	if err != nil {
		return "", err
	}
	defer os.RemoveAll(work)
	bare := filepath.Join(s.root, name+".git")
	git := func(dir string, args ...string) (string, error) {
		cmd := exec.Command("git", args...)
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), "GIT_AUTHOR_NAME=test", "GIT_AUTHOR_EMAIL=test@example.com",
			"GIT_COMMITTER_NAME=test", "GIT_COMMITTER_EMAIL=test@example.com",
			"GIT_AUTHOR_DATE=2026-01-01T00:00:00Z", "GIT_COMMITTER_DATE=2026-01-01T00:00:00Z")
		out, err := cmd.CombinedOutput()
		if err != nil {
			return "", fmt.Errorf("git %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		return strings.TrimSpace(string(out)), nil
	}
	if _, err := os.Stat(bare); err != nil {
		if _, err := git(s.root, "init", "-q", "--bare", "-b", branch, bare); err != nil {
			return "", err
		}
	}
	if _, err := git(work, "init", "-q", "-b", branch); err != nil {
		return "", err
	}
	if _, err := git(work, "fetch", "-q", bare, branch); err == nil {
		if _, err := git(work, "reset", "-q", "--soft", "FETCH_HEAD"); err != nil {
			return "", err
		}
	}
	for p, content := range files {
		full := filepath.Join(work, filepath.FromSlash(p))
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			return "", err
		}
		if err := os.WriteFile(full, []byte(content), 0o644); err != nil {
			return "", err
		}
	}
	if _, err := git(work, "add", "-A"); err != nil {
		return "", err
	}
	if _, err := git(work, "commit", "-q", "--allow-empty", "-m", "change"); err != nil {
		return "", err
	}
	if _, err := git(work, "push", "-q", bare, "HEAD:refs/heads/"+branch); err != nil {
		return "", err
	}
	return git(work, "rev-parse", "HEAD")
}
