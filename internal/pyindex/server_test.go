package pyindex

import (
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
)

func newServer(t *testing.T) *Server {
	t.Helper()
	s, err := NewServer()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// get fetches ref (resolved against the index URL) and returns the status
// and body. user "" sends no credentials; redirects are followed.
func get(t *testing.T, s *Server, ref, user, password string) (int, string) {
	t.Helper()
	base, _ := url.Parse(s.URL())
	u, err := base.Parse(ref)
	if err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequest("GET", u.String(), nil)
	if user != "" {
		req.SetBasicAuth(user, password)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, string(body)
}

var linkRE = regexp.MustCompile(`<a href="([^"]*)">([^<]*)</a>`)

// links returns href → text of the anchors on an index page.
func links(body string) map[string]string {
	m := map[string]string{}
	for _, l := range linkRE.FindAllStringSubmatch(body, -1) {
		m[l[1]] = l[2]
	}
	return m
}

func TestServerURL(t *testing.T) {
	s := newServer(t)
	u, err := url.Parse(s.URL())
	if err != nil {
		t.Fatal(err)
	}
	if u.Scheme != "http" || u.Hostname() != "127.0.0.1" || u.Port() == "" || u.Path != "/simple/" {
		t.Errorf("URL() = %s, want http://127.0.0.1:<port>/simple/", s.URL())
	}
}

func TestServerIndex(t *testing.T) {
	s := newServer(t)
	name, data := build(t, alpha)
	s.Add(name, data)
	other, otherData := build(t, Wheel{Name: "My.Pkg", Version: "2.0"})
	s.Add(other, otherData)

	code, body := get(t, s, "/simple/", "", "")
	if code != 200 {
		t.Fatalf("GET /simple/: %d", code)
	}
	if want := map[string]string{"alpha/": "alpha", "my-pkg/": "my-pkg"}; !maps.Equal(links(body), want) {
		t.Errorf("project links = %v, want %v\n%s", links(body), want, body)
	}

	code, body = get(t, s, "/simple/alpha/", "", "")
	if code != 200 {
		t.Fatalf("GET /simple/alpha/: %d", code)
	}
	href := "../../files/alpha-1.0-py3-none-any.whl#sha256=" + SHA256(data)
	if want := map[string]string{href: name}; !maps.Equal(links(body), want) {
		t.Fatalf("file links = %v, want %v\n%s", links(body), want, body)
	}

	// Follow the link as pip does: relative to the page, fragment dropped.
	code, file := get(t, s, "/simple/alpha/"+href, "", "")
	if code != 200 || file != string(data) {
		t.Errorf("GET %s: %d, %d bytes; want 200 and the wheel", href, code, len(file))
	}
}

func TestServerRedirectsAndMisses(t *testing.T) {
	s := newServer(t)
	name, data := build(t, Wheel{Name: "My.Pkg", Version: "2.0"})
	s.Add(name, data)
	noFollow := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	base := strings.TrimSuffix(s.URL(), "/simple/")

	for path, want := range map[string]string{
		"/simple":         "/simple/",
		"/simple/my-pkg":  "/simple/my-pkg/",
		"/simple/My.Pkg/": "/simple/my-pkg/",
		"/simple/my_pkg":  "/simple/my-pkg/",
	} {
		resp, err := noFollow.Get(base + path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusMovedPermanently || resp.Header.Get("Location") != want {
			t.Errorf("GET %s: %d to %q, want 301 to %q", path, resp.StatusCode, resp.Header.Get("Location"), want)
		}
	}
	// Followed, the redirect ends at the listing.
	if code, body := get(t, s, "/simple/My_Pkg", "", ""); code != 200 || !strings.Contains(body, name) {
		t.Errorf("GET /simple/My_Pkg followed: %d\n%s", code, body)
	}
	for _, path := range []string{"/simple/nope/", "/files/nope.whl", "/other", "/simple/my-pkg/x/"} {
		if code, _ := get(t, s, path, "", ""); code != 404 {
			t.Errorf("GET %s: %d, want 404", path, code)
		}
	}
}

func TestServerBasicAuth(t *testing.T) {
	s := newServer(t)
	name, data := build(t, alpha)
	s.Add(name, data)
	s.RequireBasicAuth("user", "s3cret")

	for _, path := range []string{"/simple/", "/simple/alpha/", "/files/" + name} {
		if code, _ := get(t, s, path, "", ""); code != 401 {
			t.Errorf("GET %s without credentials: %d, want 401", path, code)
		}
		if code, _ := get(t, s, path, "user", "wrong"); code != 401 {
			t.Errorf("GET %s with a wrong password: %d, want 401", path, code)
		}
		if code, _ := get(t, s, path, "user", "s3cret"); code != 200 {
			t.Errorf("GET %s with credentials: %d, want 200", path, code)
		}
	}
	resp, err := http.Get(s.URL())
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if got := resp.Header.Get("WWW-Authenticate"); !strings.HasPrefix(got, "Basic ") {
		t.Errorf("401 challenge = %q, want Basic", got)
	}
}

func TestServerReplace(t *testing.T) {
	s := newServer(t)
	name, v1 := build(t, alpha)
	s.Add(name, v1)
	changed := alpha
	changed.Modules = map[string]string{"alpha/__init__.py": "VALUE = 2\n"}
	name2, v2 := build(t, changed)
	if name2 != name || SHA256(v1) == SHA256(v2) {
		t.Fatal("the changed wheel should share the filename but not the hash")
	}
	s.Add(name, v2)

	_, body := get(t, s, "/simple/alpha/", "", "")
	l := links(body)
	if len(l) != 1 {
		t.Fatalf("want one link after replacing, got %v", l)
	}
	for href := range l {
		if !strings.HasSuffix(href, "#sha256="+SHA256(v2)) {
			t.Errorf("link %s does not carry the new hash %s", href, SHA256(v2))
		}
	}
	if _, file := get(t, s, "/files/"+name, "", ""); file != string(v2) {
		t.Error("the old bytes are still served after replacing")
	}
}

func TestServerAddCopies(t *testing.T) {
	s := newServer(t)
	data := []byte("original")
	s.Add("x-1.0-py3-none-any.whl", data)
	data[0] = 'X' // the caller reusing its buffer must not change what is served
	if _, file := get(t, s, "/files/x-1.0-py3-none-any.whl", "", ""); file != "original" {
		t.Errorf("served %q, want %q", file, "original")
	}
}

func TestServerLog(t *testing.T) {
	s := newServer(t)
	name, data := build(t, alpha)
	s.Add(name, data)
	get(t, s, "/simple/", "", "")
	s.ResetLog()
	if got := s.Log(); len(got) != 0 {
		t.Fatalf("log after ResetLog = %q", got)
	}

	get(t, s, "/simple/alpha", "", "") // redirected, so two entries
	get(t, s, "/files/"+name, "", "")
	get(t, s, "/files/missing.whl", "", "")
	s.RequireBasicAuth("u", "p")
	get(t, s, "/simple/", "", "")
	want := []string{
		"GET /simple/alpha 301",
		"GET /simple/alpha/ 200",
		"GET /files/alpha-1.0-py3-none-any.whl 200",
		"GET /files/missing.whl 404",
		"GET /simple/ 401",
	}
	if got := s.Log(); !slices.Equal(got, want) {
		t.Errorf("log =\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

func TestServerConcurrent(t *testing.T) {
	s := newServer(t)
	var wg sync.WaitGroup
	const n = 20
	for i := range n {
		wg.Go(func() {
			name, data, err := BuildWheel(Wheel{Name: fmt.Sprintf("p%d", i), Version: "1.0"})
			if err != nil {
				t.Error(err)
				return
			}
			s.Add(name, data)
			resp, err := http.Get(strings.TrimSuffix(s.URL(), "/simple/") + "/files/" + name)
			if err != nil {
				t.Error(err)
				return
			}
			resp.Body.Close()
			_ = s.Log()
		})
	}
	wg.Wait()
	if got := len(s.Log()); got != n {
		t.Errorf("%d log entries, want %d", got, n)
	}
}
