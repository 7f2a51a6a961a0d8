package installer

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// install.py's markers, versions and tags against pip's own packaging
// library (vendored in pip), on the host's interpreter: the same answers
// for every marker of a generated corpus in several environments, and the
// same compatibility tags in the same order.

const againstPackaging = `
import itertools, json, sys
sys.path.insert(0, sys.argv[1])
import install
from pip._vendor.packaging import markers, tags

envs = []
for py, full in (("3.8", "3.8.10"), ("3.11", "3.11.2"), ("3.13", "3.13.1")):
    for plat, machine in (("linux", "x86_64"), ("win32", "AMD64"), ("darwin", "arm64")):
        env = install.marker_env()
        env.update(python_version=py, python_full_version=full, sys_platform=plat, platform_machine=machine)
        envs.append(env)

versions = ['"3"', '"3.8"', '"3.11"', '"3.11.2"', '"3.12"', '"3.13.0"', '"3.13.0rc1"', '"2.7"', '"3.11.*"', '"3.1.*"', '"3.11.2.post1"', '"3.11a1"']
vops = ["==", "!=", "<", "<=", ">", ">=", "~="]
atoms = []
for var in ("python_version", "python_full_version"):
    for op, v in itertools.product(vops, versions):
        if op == "~=" and v in ('"3"', '"3.11.*"', '"3.1.*"'):
            continue
        if ".*" in v and op not in ("==", "!="):
            continue
        atoms.append("%s %s %s" % (var, op, v))
for var, vals in (("sys_platform", ['"linux"', '"win32"', '"darwin"']), ("platform_machine", ['"x86_64"', '"AMD64"', '"aarch64"']),
                  ("os_name", ['"posix"', '"nt"']), ("implementation_name", ['"cpython"', '"pypy"']), ("extra", ['"fancy"', '""'])):
    for v in vals:
        atoms += ["%s == %s" % (var, v), "%s != %s" % (var, v), "%s in %s" % (v, var), "%s not in %s" % (v, var)]
atoms += ['"3.9" < python_version', "'linux' == sys_platform", 'python_version >= "3.8" and python_version < "4.0"', 'platform_release >= "5"']
exprs = list(atoms)
for a, b, c in zip(atoms, atoms[7:] + atoms[:7], atoms[13:] + atoms[:13]):
    exprs += ["%s and %s" % (a, b), "%s or %s" % (a, b), "(%s or %s) and %s" % (a, b, c), "%s and (%s or %s)" % (a, b, c)]

bad = []
for expr in exprs:
    for env in envs:
        want = markers.Marker(expr).evaluate(env)
        got = install.eval_marker(expr, env)
        if got != want:
            bad.append("%s with python %s on %s: packaging says %s, install.py %s" % (expr, env["python_version"], env["sys_platform"], want, got))
mine = sorted(install.supported_tags().items(), key=lambda kv: kv[1])
theirs = [(t.interpreter, t.abi, t.platform) for t in tags.sys_tags()]
# packaging < 22 (in pip < 24) leaves out the interpreter's own cpXY-none-any
mine = [t for t, _ in mine if t in theirs or t[1:] != ("none", "any")]
if mine != theirs:
    i = next((i for i, (a, b) in enumerate(zip(mine, theirs)) if a != b), min(len(mine), len(theirs)))
    bad.append("tags differ at %d of %d/%d: install.py %s, packaging %s" % (i, len(mine), len(theirs), mine[i:i + 3], theirs[i:i + 3]))
print(json.dumps({"checked": len(exprs) * len(envs), "tags": len(theirs), "bad": bad[:20], "nbad": len(bad)}))
`

func TestMarkersAndTagsAgainstPackaging(t *testing.T) {
	py := python(t)
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "install.py"), script, 0o644); err != nil {
		t.Fatal(err)
	}
	out := run(t, dir, py, "-c", againstPackaging, dir)
	if !strings.Contains(out, `"nbad": 0}`) {
		t.Fatal(out)
	}
	if !strings.Contains(out, `"checked": `) || strings.Contains(out, `"checked": 0,`) {
		t.Fatal(out)
	}
	t.Log(strings.TrimSpace(out))
}
