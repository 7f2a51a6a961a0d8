package main

import (
	"archive/zip"
	"bytes"
	"fmt"
	"hash/fnv"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"sort"
	"strings"
	"sync"

	"github.com/xdockerfile/xdockerfile/internal/pyindex"
	"github.com/xdockerfile/xdockerfile/poetry"
)

// The benchmark's lock: tens of wheels, a few large ones with thousands of
// files, some platform wheels with large binary modules, some with console
// scripts. Everything is derived from the seed, so every run (and every
// machine, with the same Go release) serves the same bytes.

// spec describes one locked package.
type spec struct {
	name    string
	files   int     // text modules
	textMB  float64 // their total size
	soFiles int     // binary extension modules (makes a platform wheel)
	soMB    float64
	scripts int     // console_scripts entry points
	data    float64 // share of the text files that are data (JSON), not Python; 0 means 0.4
}

var specs = []spec{
	{name: "cloudsdk", files: 2600, textMB: 34, scripts: 1, data: 0.9},
	{name: "webframe", files: 1900, textMB: 14, scripts: 1},
	{name: "numlib", files: 900, textMB: 9, soFiles: 8, soMB: 22},
	{name: "dataframes", files: 700, textMB: 8, soFiles: 6, soMB: 12},
	{name: "cryptokit", files: 160, textMB: 1.5, soFiles: 3, soMB: 6},
	{name: "imagecodec", files: 90, textMB: 0.8, soFiles: 4, soMB: 5},
	{name: "fastjson", files: 12, textMB: 0.1, soFiles: 1, soMB: 1.5},
	{name: "sqlkit", files: 420, textMB: 6},
	{name: "httpclient", files: 160, textMB: 2, scripts: 1},
	{name: "templating", files: 110, textMB: 1.4},
	{name: "schemas", files: 300, textMB: 3.5, data: 0.8},
	{name: "asyncio-extras", files: 140, textMB: 1.5},
	{name: "protobuf-lite", files: 120, textMB: 1.8},
	{name: "grpc-stubs", files: 250, textMB: 2.6},
	{name: "yamlparse", files: 40, textMB: 0.6},
	{name: "click-like", files: 30, textMB: 0.5, scripts: 1},
	{name: "richtext", files: 120, textMB: 1.6, scripts: 1},
	{name: "tzdata-lite", files: 600, textMB: 2, data: 0.95},
	{name: "certbundle", files: 6, textMB: 0.3, data: 0.9},
	{name: "charset-detect", files: 40, textMB: 0.9, scripts: 1},
	{name: "idna-codec", files: 10, textMB: 0.4},
	{name: "urlparse3", files: 50, textMB: 0.7},
	{name: "retrying", files: 25, textMB: 0.2},
	{name: "attrs-like", files: 35, textMB: 0.3},
	{name: "typing-more", files: 4, textMB: 0.15},
	{name: "six-compat", files: 2, textMB: 0.05},
	{name: "dateparse", files: 45, textMB: 0.6},
	{name: "packaging-tools", files: 30, textMB: 0.3},
	{name: "markupsafe-lite", files: 10, textMB: 0.1},
	{name: "itsdangerous-lite", files: 12, textMB: 0.08},
	{name: "signals", files: 8, textMB: 0.06},
	{name: "configlib", files: 60, textMB: 0.7},
	{name: "logfmt", files: 18, textMB: 0.15},
	{name: "metrics-client", files: 80, textMB: 0.9},
	{name: "tracing-sdk", files: 260, textMB: 2.4},
	{name: "validators", files: 70, textMB: 0.6},
	{name: "jwt-tokens", files: 25, textMB: 0.25},
	{name: "cache-tools", files: 15, textMB: 0.1},
	{name: "sniffio-lite", files: 6, textMB: 0.03},
	{name: "anyio-lite", files: 55, textMB: 0.6, scripts: 1},
}

// bumped is the package the version-bump scenario moves to a new version.
const bumped = "httpclient"

func versionOf(s spec, bump bool) string {
	h := fnv.New32a()
	h.Write([]byte(s.name))
	v := h.Sum32()
	patch := v % 7
	if bump {
		patch++
	}
	return fmt.Sprintf("%d.%d.%d", 1+v%4, (v>>4)%20, patch)
}

// wheelFile is a built wheel and its locked hash.
type wheelFile struct {
	name, version, filename, sha256 string
	data                            []byte
}

// platformTag is a tag pip, Poetry and our installer accept on the
// benchmark's CPython 3.13 on glibc.
func platformTag() string {
	return "cp313-cp313-manylinux_2_17_" + arch() + ".manylinux2014_" + arch()
}

// buildWheels makes every wheel of the lock, plus the bumped version of one.
func buildWheels(seed uint64) ([]wheelFile, wheelFile, error) {
	out := make([]wheelFile, len(specs)+1)
	errs := make([]error, len(specs)+1)
	var wg sync.WaitGroup
	sem := make(chan struct{}, runtime.NumCPU())
	for i := range out {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			s, bump := specs[i%len(specs)], false
			if i == len(specs) {
				s, bump = specByName(bumped), true
			}
			out[i], errs[i] = buildWheel(seed, s, versionOf(s, bump))
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return nil, wheelFile{}, err
		}
	}
	return out[:len(specs)], out[len(specs)], nil
}

func specByName(name string) spec {
	for _, s := range specs {
		if s.name == name {
			return s
		}
	}
	panic(name)
}

func buildWheel(seed uint64, s spec, version string) (wheelFile, error) {
	rng := rand.New(rand.NewPCG(seed, hashString(s.name+"=="+version)))
	pkg := pyindex.WheelName(s.name)
	mods := map[string]string{pkg + "/__init__.py": fmt.Sprintf("__version__ = %q\n", version)}
	avg := int(s.textMB * 1e6 / float64(s.files))
	share := s.data
	if share == 0 {
		share = 0.4
	}
	for i := 1; i < s.files; i++ {
		p, size := modulePath(rng, pkg, i), avg/2+rng.IntN(avg+1)
		if rng.Float64() < share {
			mods[strings.TrimSuffix(p, ".py")+".json"] = jsonData(rng, size)
		} else {
			mods[p] = pythonSource(rng, size)
		}
	}
	tag := ""
	if s.soFiles > 0 {
		tag = platformTag()
		for i := 0; i < s.soFiles; i++ {
			size := int(s.soMB * 1e6 / float64(s.soFiles))
			mods[fmt.Sprintf("%s/_ext%d.cpython-313-%s-linux-gnu.so", pkg, i, arch())] = binaryBlob(rng, size)
		}
	}
	var entryPoints strings.Builder
	for i := 0; i < s.scripts; i++ {
		if i == 0 {
			entryPoints.WriteString("[console_scripts]\n")
		}
		fmt.Fprintf(&entryPoints, "%s-cli%d = %s:main\n", s.name, i, pkg)
	}
	if s.scripts > 0 {
		mods[pkg+"/__init__.py"] += "\ndef main():\n    print(__version__)\n"
	}
	filename, data, err := pyindex.BuildWheel(pyindex.Wheel{Name: s.name, Version: version, Modules: mods, Tag: tag,
		EntryPoints: entryPoints.String(), Platlib: tag != "", Deflate: true})
	return wheelFile{s.name, version, filename, pyindex.SHA256(data), data}, err
}

func arch() string { return map[string]string{"amd64": "x86_64", "arm64": "aarch64"}[runtime.GOARCH] }

func title(s string) string { return strings.ToUpper(s[:1]) + s[1:] }

func hashString(s string) uint64 {
	h := fnv.New64a()
	h.Write([]byte(s))
	return h.Sum64()
}

var words = strings.Fields(`self value result data config request response client session name
path items key index count error message buffer stream handler context options params kwargs args
node parent child token state cache timeout retry header body status code length offset size limit
default encoding charset parser schema field record table column query cursor connection pool
event callback future task loop queue worker thread lock signal logger level format template
render model view user account token secret hash digest payload metadata version source target
registry plugin module package loader resolver factory builder adapter transport protocol`)

var keywords = []string{"if", "for", "while", "return", "elif", "with", "try", "raise", "yield", "assert"}

// modulePath spreads modules over subpackages, like real libraries.
func modulePath(rng *rand.Rand, pkg string, i int) string {
	depth := rng.IntN(3)
	p := pkg
	for d := 0; d < depth; d++ {
		p += "/" + words[rng.IntN(20)]
	}
	return fmt.Sprintf("%s/%s_%d.py", p, words[rng.IntN(len(words))], i)
}

// pythonSource writes about size bytes of valid Python (so that
// byte-compiling it costs what compiling real code costs) which deflates
// about as well as real code.
func pythonSource(rng *rand.Rand, size int) string {
	var b strings.Builder
	b.Grow(size + 512)
	w := func() string { return words[rng.IntN(len(words))] }
	fmt.Fprintf(&b, "\"\"\"%s %s for the %s %s.\"\"\"\n\nimport %s\nfrom .%s import %s, %s\n\n", w(), w(), w(), w(), w(), w(), w(), w())
	for b.Len() < size {
		if rng.IntN(2) == 0 {
			fmt.Fprintf(&b, "\ndef %s_%s(%s):\n", w(), w(), params(rng, false))
			body(&b, rng, "    ")
			continue
		}
		fmt.Fprintf(&b, "\nclass %s%s(%s):\n    \"\"\"The %s of a %s, kept %s.\"\"\"\n", title(w()), title(w()), title(w()), w(), w(), w())
		for n := 1 + rng.IntN(4); n > 0; n-- {
			fmt.Fprintf(&b, "\n    def %s_%s(%s):\n", w(), w(), params(rng, true))
			body(&b, rng, "        ")
		}
	}
	return b.String()
}

// params are distinct parameter names, the last with a default.
func params(rng *rand.Rand, method bool) string {
	var ps []string
	if method {
		ps = append(ps, "self")
	}
	for n := 1 + rng.IntN(3); n > 0; n-- {
		if p := words[1+rng.IntN(len(words)-1)]; !slices.Contains(ps, p) { // words[0] is self
			ps = append(ps, p)
		}
	}
	ps[len(ps)-1] += "=None"
	return strings.Join(ps, ", ")
}

func body(b *strings.Builder, rng *rand.Rand, indent string) {
	w := func() string { return words[rng.IntN(len(words))] }
	fmt.Fprintf(b, "%s\"\"\"%s the %s %s.\"\"\"\n", indent, title(w()), w(), w())
	for n := 2 + rng.IntN(8); n > 0; n-- {
		switch rng.IntN(6) {
		case 0:
			fmt.Fprintf(b, "%sif %s.%s(%s) != %d:\n%s    %s = %s.%s(%s)\n", indent, w(), w(), w(), rng.IntN(100), indent, w(), w(), w(), w())
		case 1:
			fmt.Fprintf(b, "%sfor %s in %s.%s():\n%s    %s.%s(%s, %s=%q)\n", indent, w(), w(), w(), indent, w(), w(), w(), w(), w())
		case 2:
			fmt.Fprintf(b, "%s# %s the %s %s before %s\n", indent, w(), w(), w(), w())
		default:
			fmt.Fprintf(b, "%s%s = %s.%s(%s, %s=%s)\n", indent, w(), w(), w(), w(), w(), w())
		}
	}
	fmt.Fprintf(b, "%sreturn %s\n", indent, w())
}

// jsonData is about size bytes of JSON, like the service models and
// tables packages carry.
func jsonData(rng *rand.Rand, size int) string {
	var b strings.Builder
	b.Grow(size + 256)
	w := func() string { return words[rng.IntN(len(words))] }
	b.WriteString("{\n")
	for b.Len() < size {
		fmt.Fprintf(&b, "  %q: {\n    \"type\": %q,\n    \"%s\": %d,\n    \"documentation\": \"The %s %s of the %s.\",\n    \"members\": [%q, %q, %q]\n  },\n",
			title(w())+title(w()), w(), w(), rng.IntN(10000), w(), w(), w(), w(), w(), w())
	}
	b.WriteString("  \"end\": true\n}\n")
	return b.String()
}

// binaryBlob is size bytes of something like a shared object: code-like
// random bytes, zero padding, a symbol table.
func binaryBlob(rng *rand.Rand, size int) string {
	b := make([]byte, 0, size)
	b = append(b, "\x7fELF\x02\x01\x01"...)
	for len(b) < size {
		switch rng.IntN(4) {
		case 0, 1:
			chunk := make([]byte, 4096)
			for i := range chunk {
				chunk[i] = byte(rng.Uint32() & 0xbf) // not quite uniform, like machine code
			}
			b = append(b, chunk...)
		case 2:
			b = append(b, make([]byte, 512+rng.IntN(2048))...)
		default:
			for n := 0; n < 40; n++ {
				b = append(b, "_PyObject_"+words[rng.IntN(len(words))]+"\x00"...)
			}
		}
	}
	return string(b[:size])
}

// lockFiles renders pyproject.toml, poetry.lock (lock version 2.1, as
// Poetry 2 writes it, with a content-hash Poetry accepts),
// requirements.txt (what `poetry export` prints) and wheels.txt (URL and
// hash per line, for the bare-unzip limit).
func lockFiles(index string, wheels []wheelFile) (map[string]string, error) {
	wheels = append([]wheelFile(nil), wheels...)
	sort.Slice(wheels, func(i, j int) bool { return wheels[i].name < wheels[j].name })
	var py strings.Builder
	py.WriteString("[project]\nname = \"bench-app\"\nversion = \"0.1.0\"\nrequires-python = \">=3.9\"\ndependencies = [\n")
	for _, w := range wheels {
		fmt.Fprintf(&py, "    %q,\n", w.name+" (=="+w.version+")")
	}
	py.WriteString("]\n\n[tool.poetry]\npackage-mode = false\n")
	fmt.Fprintf(&py, "\n[[tool.poetry.source]]\nname = \"bench\"\nurl = %q\npriority = \"primary\"\n", index)
	hash, err := poetry.ContentHash([]byte(py.String()))
	if err != nil {
		return nil, err
	}
	var lock, reqs, list strings.Builder
	lock.WriteString("# This file is automatically @generated by Poetry 2.1.2 and should not be changed by hand.\n")
	// --trusted-host, as `poetry export` writes for an http source: pip
	// caches downloads only from https or trusted hosts.
	fmt.Fprintf(&reqs, "--index-url %s\n--trusted-host 127.0.0.1\n\n", index)
	for _, w := range wheels {
		fmt.Fprintf(&lock, "\n[[package]]\nname = %q\nversion = %q\ndescription = \"\"\noptional = false\npython-versions = \"*\"\ngroups = [\"main\"]\n", w.name, w.version)
		fmt.Fprintf(&lock, "files = [\n    {file = %q, hash = \"sha256:%s\"},\n]\n", w.filename, w.sha256)
		fmt.Fprintf(&lock, "\n[package.source]\ntype = \"legacy\"\nurl = %q\nreference = \"bench\"\n", strings.TrimSuffix(index, "/"))
		fmt.Fprintf(&reqs, "%s==%s \\\n    --hash=sha256:%s\n", w.name, w.version, w.sha256)
		fmt.Fprintf(&list, "%s %s\n", strings.TrimSuffix(index, "simple/")+"files/"+w.filename, w.sha256)
	}
	fmt.Fprintf(&lock, "\n[metadata]\nlock-version = \"2.1\"\npython-versions = \">=3.9\"\ncontent-hash = %q\n", hash)
	return map[string]string{
		"pyproject.toml":   py.String(),
		"poetry.lock":      lock.String(),
		"requirements.txt": reqs.String(),
		"wheels.txt":       list.String(),
	}, nil
}

// sourceFiles is the application: a few hundred modules.
func sourceFiles(seed uint64) map[string]string {
	rng := rand.New(rand.NewPCG(seed, 1))
	files := map[string]string{"README.md": "# bench-app\n\nThe application of `make bench`.\n", "app/__init__.py": ""}
	for i := 0; i < 300; i++ {
		files[modulePath(rng, "app", i)] = pythonSource(rng, 1000+rng.IntN(6000))
	}
	return files
}

// writeTree writes files under dir.
func writeTree(dir string, files map[string]string) error {
	for name, content := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			return err
		}
	}
	return nil
}

// zipStats returns how many files a wheel holds and their unpacked size.
func zipStats(data []byte) (files int, size int64) {
	zr, err := zip.NewReader(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		return 0, 0
	}
	for _, f := range zr.File {
		files++
		size += int64(f.UncompressedSize64)
	}
	return files, size
}
