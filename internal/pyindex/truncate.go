package pyindex

import (
	"fmt"
	"net"
	"net/http"
	"net/url"
)

// ServeCutShort serves an index whose one project lists filename and whose
// download of it promises len(data) bytes, sends half and hangs up: a
// download cut short. It returns the index URL and a function that stops it.
func ServeCutShort(filename string, data []byte) (string, func(), error) {
	mux := http.NewServeMux()
	mux.HandleFunc("/simple/"+projectOf(filename)+"/", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, `<a href="/files/%s">%s</a>`, url.PathEscape(filename), filename)
	})
	mux.HandleFunc("/files/", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", fmt.Sprint(len(data)))
		w.Write(data[:len(data)/2])
	})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", nil, err
	}
	go http.Serve(ln, mux)
	return "http://" + ln.Addr().String() + "/simple/", func() { ln.Close() }, nil
}
