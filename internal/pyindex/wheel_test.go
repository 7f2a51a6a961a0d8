package pyindex

import (
	"archive/zip"
	"bytes"
	"encoding/csv"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// alpha is the wheel most tests use: a module, a plain and a marker
// requirement.
var alpha = Wheel{
	Name:     "Alpha",
	Version:  "1.0",
	Modules:  map[string]string{"alpha/__init__.py": "VALUE = 1\n", "alpha/sub/x.py": "X = 'x'\n"},
	Requires: []string{"beta (>=1.0)", `gamma ; sys_platform == "win32"`},
}

func build(t *testing.T, w Wheel) (string, []byte) {
	t.Helper()
	name, data, err := BuildWheel(w)
	if err != nil {
		t.Fatal(err)
	}
	return name, data
}

// readZip returns the entries of a zip in archive order.
func readZip(t *testing.T, data []byte) (names []string, content map[string][]byte) {
	t.Helper()
	zr, err := zip.NewReader(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		t.Fatal(err)
	}
	content = map[string][]byte{}
	for _, f := range zr.File {
		rc, err := f.Open()
		if err != nil {
			t.Fatal(err)
		}
		b, err := io.ReadAll(rc) // also checks the CRC
		rc.Close()
		if err != nil {
			t.Fatalf("%s: %v", f.Name, err)
		}
		names = append(names, f.Name)
		content[f.Name] = b
	}
	return names, content
}

func TestWheelFilename(t *testing.T) {
	for _, tc := range []struct {
		name, version, tag, want string
	}{
		{"alpha", "1.0", "", "alpha-1.0-py3-none-any.whl"},
		{"Alpha", "1.0", "", "alpha-1.0-py3-none-any.whl"},
		{"My.Package-Name", "2.0.1", "", "my_package_name-2.0.1-py3-none-any.whl"},
		{"a--b__c..d", "1.0", "", "a_b_c_d-1.0-py3-none-any.whl"},
		{"zeta", "1.0", "py2.py3-none-any", "zeta-1.0-py2.py3-none-any.whl"},
	} {
		got, _ := build(t, Wheel{Name: tc.name, Version: tc.version, Tag: tc.tag})
		if got != tc.want {
			t.Errorf("BuildWheel(%q, %q, %q) filename = %q, want %q", tc.name, tc.version, tc.tag, got, tc.want)
		}
	}
}

func TestProjectName(t *testing.T) {
	for in, want := range map[string]string{
		"alpha": "alpha", "My.Package-Name": "my-package-name", "a--b__c..d": "a-b-c-d", "my_pkg": "my-pkg",
	} {
		if got := ProjectName(in); got != want {
			t.Errorf("ProjectName(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestWheelContents(t *testing.T) {
	_, data := build(t, alpha)
	names, content := readZip(t, data)
	want := []string{
		"alpha/__init__.py",
		"alpha/sub/x.py",
		"alpha-1.0.dist-info/METADATA",
		"alpha-1.0.dist-info/WHEEL",
		"alpha-1.0.dist-info/RECORD",
	}
	if !slices.Equal(names, want) {
		t.Fatalf("entries = %q, want %q", names, want)
	}
	if got := string(content["alpha/__init__.py"]); got != "VALUE = 1\n" {
		t.Errorf("alpha/__init__.py = %q", got)
	}
	wantMeta := "Metadata-Version: 2.1\nName: Alpha\nVersion: 1.0\n" +
		"Requires-Dist: beta (>=1.0)\nRequires-Dist: gamma ; sys_platform == \"win32\"\n"
	if got := string(content["alpha-1.0.dist-info/METADATA"]); got != wantMeta {
		t.Errorf("METADATA =\n%s\nwant\n%s", got, wantMeta)
	}
	wantWheel := "Wheel-Version: 1.0\nGenerator: xdockerfile-pyindex\nRoot-Is-Purelib: true\nTag: py3-none-any\n"
	if got := string(content["alpha-1.0.dist-info/WHEEL"]); got != wantWheel {
		t.Errorf("WHEEL =\n%s\nwant\n%s", got, wantWheel)
	}
}

func TestWheelCompressedTag(t *testing.T) {
	_, data := build(t, Wheel{Name: "zeta", Version: "1.0", Tag: "py2.py3-none-any"})
	_, content := readZip(t, data)
	wheel := string(content["zeta-1.0.dist-info/WHEEL"])
	if !strings.Contains(wheel, "Tag: py2-none-any\nTag: py3-none-any\n") {
		t.Errorf("WHEEL does not list the expanded tags:\n%s", wheel)
	}
}

func TestWheelRecord(t *testing.T) {
	_, data := build(t, alpha)
	names, content := readZip(t, data)
	rows, err := csv.NewReader(bytes.NewReader(content["alpha-1.0.dist-info/RECORD"])).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	var listed []string
	for _, row := range rows {
		if len(row) != 3 {
			t.Fatalf("RECORD row %q has %d fields", row, len(row))
		}
		path, digest, size := row[0], row[1], row[2]
		listed = append(listed, path)
		if path == "alpha-1.0.dist-info/RECORD" {
			if digest != "" || size != "" {
				t.Errorf("RECORD lists itself with %q, %q; want empty", digest, size)
			}
			continue
		}
		file, ok := content[path]
		if !ok {
			t.Errorf("RECORD lists %s, which is not in the wheel", path)
			continue
		}
		if want := recordDigest(file); digest != want {
			t.Errorf("%s: digest %s, want %s", path, digest, want)
		}
		if want := strconv.Itoa(len(file)); size != want {
			t.Errorf("%s: size %s, want %s", path, size, want)
		}
	}
	slices.Sort(listed)
	slices.Sort(names)
	if !slices.Equal(listed, names) {
		t.Errorf("RECORD lists %q, wheel holds %q", listed, names)
	}
	// One digest computed outside Go (Python's hashlib and base64), so the
	// test does not merely agree with recordDigest.
	if got, want := rows[0][1], "sha256=4T34xEr13qHkEkA5ELmcxaSPLMv2imazN01quc75_GU"; got != want {
		t.Errorf("alpha/__init__.py digest %s, want %s", got, want)
	}
}

func TestWheelDeterministic(t *testing.T) {
	name1, data1 := build(t, alpha)
	for range 5 { // map iteration order differs from run to run
		name2, data2 := build(t, alpha)
		if name1 != name2 || !bytes.Equal(data1, data2) {
			t.Fatal("two builds of the same wheel differ")
		}
	}
	zr, err := zip.NewReader(bytes.NewReader(data1), int64(len(data1)))
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range zr.File {
		if !f.Modified.Equal(zipTime) {
			t.Errorf("%s: modified %v, want %v", f.Name, f.Modified, zipTime)
		}
	}
}

func TestWheelErrors(t *testing.T) {
	for name, w := range map[string]Wheel{
		"no name":           {Version: "1.0"},
		"no version":        {Name: "a"},
		"bad tag":           {Name: "a", Version: "1.0", Tag: "py3-any"},
		"empty tag part":    {Name: "a", Version: "1.0", Tag: "py3--any"},
		"newline":           {Name: "a", Version: "1.0", Requires: []string{"b\nName: evil"}},
		"absolute path":     {Name: "a", Version: "1.0", Modules: map[string]string{"/a.py": ""}},
		"escaping path":     {Name: "a", Version: "1.0", Modules: map[string]string{"../a.py": ""}},
		"unclean path":      {Name: "a", Version: "1.0", Modules: map[string]string{"a/../b.py": ""}},
		"dist-info clash":   {Name: "a", Version: "1.0", Modules: map[string]string{"a-1.0.dist-info/METADATA": ""}},
		"backslash in path": {Name: "a", Version: "1.0", Modules: map[string]string{`a\b.py`: ""}},
	} {
		if _, _, err := BuildWheel(w); err == nil {
			t.Errorf("%s: BuildWheel succeeded, want an error", name)
		}
	}
}

func TestSHA256(t *testing.T) {
	// The FIPS 180-2 test vector for "abc".
	if got, want := SHA256([]byte("abc")), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"; got != want {
		t.Errorf("SHA256(abc) = %s, want %s", got, want)
	}
}

// python3 returns the path of python3. Locally a missing one skips the test;
// in CI it fails, so the independent check cannot silently stop running.
func python3(t *testing.T) string {
	t.Helper()
	p, err := exec.LookPath("python3")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("python3 is required in CI: %v", err)
		}
		t.Skipf("python3 not found: %v", err)
	}
	return p
}

// checkRecordPy verifies every RECORD entry with Python's own zipfile,
// hashlib and csv, independently of the Go code that wrote them.
const checkRecordPy = `
import base64, csv, hashlib, io, sys, zipfile
z = zipfile.ZipFile(sys.argv[1])
assert z.testzip() is None, "bad CRC"
record = [n for n in z.namelist() if n.endswith(".dist-info/RECORD")]
assert len(record) == 1, record
checked = 0
for path, digest, size in csv.reader(io.StringIO(z.read(record[0]).decode())):
    if path == record[0]:
        assert digest == "" and size == "", (digest, size)
        continue
    data = z.read(path)
    want = "sha256=" + base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
    assert digest == want, (path, digest, want)
    assert int(size) == len(data), (path, size, len(data))
    checked += 1
assert checked == len(z.namelist()) - 1, checked
print(hashlib.sha256(open(sys.argv[1], "rb").read()).hexdigest())
`

func TestWheelPython(t *testing.T) {
	py := python3(t)
	name, data := build(t, alpha)
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(py, "-c", checkRecordPy, path).CombinedOutput()
	if err != nil {
		t.Fatalf("python check failed: %v\n%s", err, out)
	}
	// Python's file hash agrees with SHA256, the value a lock file pins.
	if got := strings.TrimSpace(string(out)); got != SHA256(data) {
		t.Errorf("python sha256 %s, SHA256 %s", got, SHA256(data))
	}
}
