package poetry

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// project writes pyproject.toml and a poetry.lock (whose metadata gets the
// right content-hash unless the lock already has one) and loads them.
func project(t *testing.T, pyproject, lock string) (*Project, error) {
	t.Helper()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "pyproject.toml"), []byte(pyproject), 0o644); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(lock, "content-hash") && strings.Contains(lock, "[metadata]") {
		doc, err := parseTOML([]byte(pyproject))
		if err != nil {
			t.Fatal(err)
		}
		hashes, err := contentHashes(doc)
		if err != nil {
			t.Fatal(err)
		}
		lock = strings.Replace(lock, "[metadata]\n", "[metadata]\ncontent-hash = \""+hashes[0]+"\"\n", 1)
	}
	if err := os.WriteFile(filepath.Join(dir, "poetry.lock"), []byte(lock), 0o644); err != nil {
		t.Fatal(err)
	}
	return Load(dir)
}

func export(t *testing.T, pyproject, lock string, args ...string) string {
	t.Helper()
	p, err := project(t, pyproject, lock)
	if err != nil {
		t.Fatal(err)
	}
	opt, _, err := ParseExportArgs(args)
	if err != nil {
		t.Fatal(err)
	}
	e, err := p.Export(opt)
	if err != nil {
		t.Fatal(err)
	}
	return e.String()
}

func exportErr(t *testing.T, pyproject, lock string, args ...string) *Error {
	t.Helper()
	p, err := project(t, pyproject, lock)
	if err == nil {
		opt, _, perr := ParseExportArgs(args)
		if perr != nil {
			t.Fatal(perr)
		}
		_, err = p.Export(opt)
	}
	var pe *Error
	if !errors.As(err, &pe) {
		t.Fatalf("want a *poetry.Error, got %v", err)
	}
	return pe
}

const simplePyproject = `[tool.poetry]
name = "demo"
version = "1.0"
package-mode = false

[tool.poetry.dependencies]
python = "^3.9"
foo = "^1.0"

[tool.poetry.group.dev.dependencies]
bar = "*"

[tool.poetry.group.docs]
optional = true

[tool.poetry.group.docs.dependencies]
baz = "*"
`

func lock21(packages string) string {
	return packages + "\n[metadata]\nlock-version = \"2.1\"\npython-versions = \"^3.9\"\n"
}

func TestContentHashFormatting(t *testing.T) {
	for _, c := range []struct{ doc, want string }{
		{`[tool.poetry.dependencies]
python = "^3.8"
requests = { version = "^2.0", extras = ["socks"] }
`, "f5156d10ef2a55c76709dbfafe1b34cd5075bec0158cbbfdc8bc211dc7d79fc0"},
		{`[tool.poetry.dependencies]
python = "^3.8"
"café" = "1.0"
x = { version = "*", n = 1.5, i = 10, b = true, big = 1e16, small = 0.00001 }
`, "7ebfe1da1f2afbeae7993572c5a0a7423978a92324a81aceab48d1618eb1f0e5"},
		{`[project]
requires-python = ">=3.9"
dependencies = ["a>=1"]
`, "a517986e8bfcf678afd608e0277f10da4db38134f6db3a9f5bf3f15bdb0de0b0"},
	} {
		doc, err := parseTOML([]byte(c.doc))
		if err != nil {
			t.Fatal(err)
		}
		hashes, err := contentHashes(doc)
		if err != nil {
			t.Fatal(err)
		}
		if hashes[0] != c.want {
			t.Errorf("hash of\n%s= %s, want %s", c.doc, hashes[0], c.want)
		}
	}
	// [dependency-groups] is not hashed by Poetry 2.3; the variant that
	// covers it is accepted too
	doc, _ := parseTOML([]byte("[project]\nrequires-python = \">=3.9\"\ndependencies = [\"a>=1\"]\n\n[dependency-groups]\ndev = [\"pytest\"]\n"))
	hashes, _ := contentHashes(doc)
	if len(hashes) != 2 || hashes[0] != "a517986e8bfcf678afd608e0277f10da4db38134f6db3a9f5bf3f15bdb0de0b0" ||
		hashes[1] != "50a9beae06859e0e7ac43a9b563ef7bdcbc02efb6156a039c5c4ed782ac17ad7" {
		t.Errorf("hashes %v", hashes)
	}
}

func TestStaleLock(t *testing.T) {
	e := exportErr(t, simplePyproject, "[metadata]\nlock-version = \"2.1\"\ncontent-hash = \"0000\"\n")
	if e.Msg != "pyproject.toml changed significantly since poetry.lock was last generated. Run `poetry lock` to fix the lock file." {
		t.Errorf("message %q", e.Msg)
	}
	if !strings.HasSuffix(e.File, "poetry.lock") || e.Line != 3 {
		t.Errorf("location %s:%d", e.File, e.Line)
	}
	if !strings.HasSuffix(e.Error(), ":3: "+e.Msg) {
		t.Errorf("Error() = %q", e.Error())
	}
}

func TestLockVersions(t *testing.T) {
	e := exportErr(t, simplePyproject, "[metadata]\nlock-version = \"3.0\"\n")
	if !strings.HasPrefix(e.Msg, "The lock file is not compatible with the current version of Poetry.\nUpgrade Poetry") {
		t.Errorf("message %q", e.Msg)
	}
	e = exportErr(t, simplePyproject, "[metadata]\npython-versions = \"*\"\n")
	if e.Msg != "The lock file is not compatible with the current version of Poetry.\nRegenerate the lock file with the `poetry lock` command." {
		t.Errorf("message %q", e.Msg)
	}
}

func TestHashesAndGroups(t *testing.T) {
	lock := lock21(`[[package]]
name = "foo"
version = "1.2.0"
optional = false
python-versions = ">=3.8"
groups = ["main"]
files = [
    {file = "foo-1.2.0.tar.gz", hash = "md5:aaaa"},
    {file = "foo-1.2.0-py3-none-any.whl", hash = "sha512:cccc"},
    {file = "foo-1.2.0-2.whl", hash = "bbbb"},
    {file = "foo-1.2.0-3.whl", hash = "sha384:dddd"},
]

[[package]]
name = "Bar_Pkg"
version = "2.0"
optional = false
python-versions = "*"
groups = ["dev"]
markers = "sys_platform == \"win32\""
files = []

[[package]]
name = "baz"
version = "3.0"
optional = false
python-versions = "*"
groups = ["docs", "dev"]
markers = {docs = "os_name == \"nt\"", dev = "sys_platform == \"linux\""}
files = []
`)
	py := strings.Replace(simplePyproject, "bar = \"*\"", "Bar_Pkg = \"*\"", 1)
	got := export(t, py, lock)
	want := `foo==1.2.0 ; python_version >= "3.9" and python_version < "4.0" \
    --hash=sha256:bbbb \
    --hash=sha384:dddd \
    --hash=sha512:cccc
`
	if got != want {
		t.Errorf("default export:\n%s\nwant\n%s", got, want)
	}
	got = export(t, py, lock, "--only", "dev,docs", "--without-hashes")
	want = `bar-pkg==2.0 ; python_version >= "3.9" and python_version < "4.0" and sys_platform == "win32"
baz==3.0 ; python_version >= "3.9" and python_version < "4.0" and (os_name == "nt" or sys_platform == "linux")
`
	if got != want {
		t.Errorf("--only dev,docs:\n%s\nwant\n%s", got, want)
	}
	got = export(t, py, lock, "--all-groups", "--without-hashes")
	if !strings.Contains(got, "foo==1.2.0") || !strings.Contains(got, "baz==3.0") {
		t.Errorf("--all-groups:\n%s", got)
	}
}

func TestGroupErrors(t *testing.T) {
	e := exportErr(t, simplePyproject, lock21(""), "--with", "nope,dev", "--without", "nope", "--only", "other")
	if e.Msg != "Group(s) not found: nope (via --with, --without), other (via --only)" {
		t.Errorf("message %q", e.Msg)
	}
	e = exportErr(t, simplePyproject, lock21(""), "--all-groups", "--with", "dev")
	if e.Msg != "You cannot specify explicit `--with`, `--without`, or `--only` while exporting using `--all-groups`." || e.File != "" {
		t.Errorf("error %q in %q", e.Msg, e.File)
	}
	e = exportErr(t, simplePyproject, lock21(""), "--all-extras", "-E", "x")
	if e.Msg != "You cannot specify explicit `--extras` while exporting using `--all-extras`." {
		t.Errorf("message %q", e.Msg)
	}
	e = exportErr(t, simplePyproject, lock21(""), "-E", "Foo_Bar", "--extras", "x foo-bar")
	if e.Msg != "Extra [foo-bar, x] is not specified." {
		t.Errorf("message %q", e.Msg)
	}
}

func TestIndexes(t *testing.T) {
	py := simplePyproject + `
[[tool.poetry.source]]
name = "internal"
url = "http://pypi.internal.example/simple/"
priority = "supplemental"

[[tool.poetry.source]]
name = "other-repo"
url = "https://other.example/simple"
`
	lock := lock21(`[[package]]
name = "foo"
version = "1.2.0"
optional = false
python-versions = "*"
groups = ["main"]
files = []

[package.source]
type = "legacy"
url = "http://pypi.internal.example/simple"
reference = "internal"

[[package]]
name = "bar"
version = "1.0"
optional = false
python-versions = "*"
groups = ["main"]
files = []

[package.source]
type = "legacy"
url = "https://other.example/simple/"
reference = "other-repo"
`)
	p, err := project(t, py, lock)
	if err != nil {
		t.Fatal(err)
	}
	e, err := p.Export(Options{WithCredentials: true, Getenv: func(k string) string {
		return map[string]string{
			"POETRY_HTTP_BASIC_INTERNAL_USERNAME": "me",
			"POETRY_HTTP_BASIC_INTERNAL_PASSWORD": "p@ss word",
		}[k]
	}})
	if err != nil {
		t.Fatal(err)
	}
	want := `--index-url https://other.example/simple
--trusted-host me:p%40ss%20word@pypi.internal.example
--extra-index-url http://me:p%40ss%20word@pypi.internal.example/simple

bar==1.0 ; python_version >= "3.9" and python_version < "4.0"
foo==1.2.0 ; python_version >= "3.9" and python_version < "4.0"
`
	if got := e.String(); got != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
	if len(e.Indexes) != 2 || !e.Indexes[0].Default || e.Indexes[0].Name != "other-repo" || e.Indexes[1].Name != "internal" {
		t.Errorf("indexes %+v", e.Indexes)
	}
	if len(e.Requirements) != 2 || e.Requirements[1].Source != "internal" || e.Requirements[1].Kind != "index" {
		t.Errorf("requirements %+v", e.Requirements)
	}
}

func TestLegacySourceFlags(t *testing.T) {
	py := simplePyproject + `
[[tool.poetry.source]]
name = "second"
url = "https://second.example/simple"
secondary = true

[[tool.poetry.source]]
name = "main-repo"
url = "https://main.example/simple"
default = true
`
	lock := lock21(`[[package]]
name = "foo"
version = "1.2.0"
optional = false
python-versions = "*"
groups = ["main"]
files = []

[package.source]
type = "legacy"
url = "https://second.example/simple"
reference = "second"

[[package]]
name = "bar"
version = "1.0"
optional = false
python-versions = "*"
groups = ["main"]
files = []

[package.source]
type = "legacy"
url = "https://main.example/simple"
reference = "main-repo"
`)
	got := export(t, py, lock)
	if !strings.HasPrefix(got, "--index-url https://main.example/simple\n--extra-index-url https://second.example/simple\n\n") {
		t.Errorf("got\n%s", got)
	}
}

func TestOldLockWalk(t *testing.T) {
	py := `[tool.poetry]
name = "demo"
version = "1.0"

[tool.poetry.dependencies]
python = "^3.8"
app = { version = "^1.0", extras = ["fast"] }
`
	lock := `[[package]]
name = "app"
version = "1.0.0"
optional = false
python-versions = ">=3.7"

[package.dependencies]
speedups = { version = "*", optional = true }
common = [
    { version = "<2", python = "<3.10" },
    { version = ">=2", python = ">=3.10" },
]

[package.extras]
fast = ["speedups"]

[[package]]
name = "common"
version = "1.5"
optional = false
python-versions = ">=3.6,<3.10"

[[package]]
name = "common"
version = "2.1"
optional = false
python-versions = ">=3.10"

[[package]]
name = "speedups"
version = "0.3"
optional = true
python-versions = "*"

[metadata]
lock-version = "2.0"
python-versions = "^3.8"

[metadata.files]
app = []
common = []
speedups = []
`
	got := export(t, py, lock)
	want := `app[fast]==1.0.0 ; python_version >= "3.8" and python_version < "4.0"
common==1.5 ; python_version >= "3.8" and python_version < "3.10"
common==2.1 ; python_version >= "3.10" and python_version < "4.0"
speedups==0.3 ; python_version >= "3.8" and python_version < "4.0"
`
	if got != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
}

func TestParseExportArgs(t *testing.T) {
	opt, dir, err := ParseExportArgs([]string{"proj", "--with=dev", "-Ea", "--extras", "b c", "-E", "d", "--only", "x", "--without-hashes", "-f", "requirements.txt"})
	if err != nil {
		t.Fatal(err)
	}
	if dir != "proj" || strings.Join(opt.With, "|") != "dev" || strings.Join(opt.Extras, "|") != "a|b c|d" ||
		strings.Join(opt.Only, "|") != "x" || !opt.WithoutHashes {
		t.Errorf("parsed %+v, dir %q", opt, dir)
	}
	for _, bad := range [][]string{{"--nope"}, {"--with"}, {"a", "b"}, {"-f", "constraints.txt"}, {"--all-groups=1"}} {
		if _, _, err := ParseExportArgs(bad); err == nil {
			t.Errorf("%q: want an error", bad)
		}
	}
}

func TestInvalidFilesReportLines(t *testing.T) {
	e := exportErr(t, "[tool.poetry]\nname = \"x\"\n[tool.poetry.dependencies]\npython = \"^3.8\"\nfoo = { version = \"^1.0\", markers = \"sys_platform =\" }\n", lock21(""))
	if !strings.HasSuffix(e.File, "pyproject.toml") || e.Line != 5 {
		t.Errorf("error at %s:%d: %s", e.File, e.Line, e.Msg)
	}
	e = exportErr(t, "[tool.poetry]\nname = \"x\"\nname = \"y\"\n", "[metadata]\ncontent-hash = \"x\"\n")
	if !strings.HasSuffix(e.File, "pyproject.toml") || e.Line != 3 {
		t.Errorf("error at %s:%d: %s", e.File, e.Line, e.Msg)
	}
}

func TestInstallOptions(t *testing.T) {
	p, err := project(t, simplePyproject, lock21(""))
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(p.InstallOptions().Only, ","); got != "main,dev" {
		t.Errorf("install groups %q", got)
	}
	names, optional := p.Groups()
	if strings.Join(names, ",") != "main,dev,docs" || !optional["docs"] || optional["dev"] {
		t.Errorf("groups %v %v", names, optional)
	}
}

func TestParseFromBytesDoesNotTouchDisk(t *testing.T) {
	py := "[project]\nname = \"x\"\nrequires-python = \">=3.11\"\ndependencies = [\"local\"]\n\n[tool.poetry.dependencies]\nlocal = { path = \"libs/local\", develop = true }\n"
	doc, err := parseTOML([]byte(py))
	if err != nil {
		t.Fatal(err)
	}
	hashes, _ := contentHashes(doc)
	lock := `[[package]]
name = "local"
version = "0.1"
optional = false
python-versions = "*"
groups = ["main"]
develop = true
files = []

[package.source]
type = "directory"
url = "libs/../libs/local"

[metadata]
lock-version = "2.1"
python-versions = ">=3.11"
content-hash = "` + hashes[0] + `"
`
	p, err := Parse("/nonexistent/app dir", []byte(py), "app/pyproject.toml", []byte(lock), "app/poetry.lock")
	if err != nil {
		t.Fatal(err)
	}
	e, err := p.Export(Options{})
	if err != nil {
		t.Fatal(err)
	}
	want := "-e file:///nonexistent/app%20dir/libs/local ; python_version >= \"3.11\"\n"
	if got := e.String(); got != want {
		t.Errorf("got %q, want %q", got, want)
	}
	if r := e.Requirements[0]; r.Kind != "directory" || r.Name != "local" || r.Version != "0.1" || r.Markers != `python_version >= "3.11"` {
		t.Errorf("requirement %+v", r)
	}
}

func TestConcurrentExports(t *testing.T) {
	cases := []string{"228-r-poetry-2.3.0-with-test", "240-r-tortoise-orm-extras-asyncpg-accel", "004-t-poetry-lock11", "120-t-handles-overlapping-python-versions-lock21"}
	want := map[string]string{}
	for _, c := range cases {
		out, _, err := runCase("../testdata/poetry/" + c)
		if err != nil {
			t.Fatal(err)
		}
		want[c] = out
	}
	errs := make(chan error, 2*len(cases))
	for i := 0; i < 2; i++ {
		for _, c := range cases {
			go func(c string) {
				out, msg, err := runCase("../testdata/poetry/" + c)
				switch {
				case err != nil:
					errs <- err
				case out != want[c]:
					errs <- errors.New(c + ": output differs under concurrency " + msg)
				default:
					errs <- nil
				}
			}(c)
		}
	}
	for i := 0; i < 2*len(cases); i++ {
		if err := <-errs; err != nil {
			t.Error(err)
		}
	}
}
