"""Installs a locked set of wheels into a virtual environment.

Written by xdockerfile for POETRY INSTALL and run with the image's own
python3 (standard library only, Python 3.8+). The frontend has already
chosen the packages and their locked files; here, inside the image, we
evaluate environment markers against the real interpreter, pick each
package's wheel by the interpreter's tags, download the wheels in parallel
(or take them from the cache mount, keyed by hash), check every locked
hash while streaming and unpack them straight into the venv as the wheel
spec says. What needs a build (sdists, git, URLs, path dependencies and,
for --only-root, the project itself) goes to pip.

Credentials come only from BuildKit secrets mounted for this step: Poetry's
auth.toml, or secrets named POETRY_HTTP_BASIC_<SOURCE>_USERNAME/_PASSWORD.
They stay in memory (and, for pip, in a netrc file on a tmpfs); no URL,
command line or message carries them.
"""

import base64
import concurrent.futures
import csv
import hashlib
import html.parser
import http.client
import io
import json
import os
import platform
import re
import shutil
import subprocess
import sys
import sysconfig
import tempfile
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
import zipfile

HERE = os.path.dirname(os.path.abspath(__file__))
INSTALLER = "xdockerfile"


class Failure(Exception):
    """An error to print without a traceback."""


# --- markers (PEP 508) and versions (PEP 440) ------------------------------

VERSION_RE = re.compile(
    r"^\s*v?(?:(?P<epoch>[0-9]+)!)?(?P<release>[0-9]+(?:\.[0-9]+)*)"
    r"(?:[-_.]?(?P<pre_l>a|b|c|rc|alpha|beta|pre|preview)[-_.]?(?P<pre_n>[0-9]+)?)?"
    r"(?:-(?P<post_n1>[0-9]+)|[-_.]?(?P<post_l>post|rev|r)[-_.]?(?P<post_n2>[0-9]+)?)?"
    r"(?:[-_.]?(?P<dev_l>dev)[-_.]?(?P<dev_n>[0-9]+)?)?"
    r"(?:\+(?P<local>[a-z0-9]+(?:[-_.][a-z0-9]+)*))?\s*$",
    re.IGNORECASE,
)
PRE = {"a": 0, "alpha": 0, "b": 1, "beta": 1, "c": 2, "rc": 2, "pre": 2, "preview": 2}


class Version:
    def __init__(self, text):
        m = VERSION_RE.match(text)
        if not m:
            raise ValueError(text)
        self.release = tuple(int(x) for x in m.group("release").split("."))
        self.epoch = int(m.group("epoch") or 0)
        self.pre = (PRE[m.group("pre_l").lower()], int(m.group("pre_n") or 0)) if m.group("pre_l") else None
        post = m.group("post_n1") or m.group("post_n2") or ("0" if m.group("post_l") else None)
        self.post = int(post) if post is not None else None
        self.dev = int(m.group("dev_n") or 0) if m.group("dev_l") else None
        self.local = m.group("local")
        release = list(self.release)
        while len(release) > 1 and release[-1] == 0:
            release.pop()
        inf = float("inf")
        pre = self.pre if self.pre else ((-inf,) if self.post is None and self.dev is not None else (inf,))
        self.key = (self.epoch, tuple(release), pre,
                    (-inf,) if self.post is None else (self.post,),
                    (inf,) if self.dev is None else (self.dev,))

    def is_prerelease(self):
        return self.pre is not None or self.dev is not None

    def base(self):
        return self.key[:2]


def spec_contains(op, spec, text):
    """Specifier(op + spec).contains(text, prereleases=True), or None if
    spec is not a version (then markers compare strings)."""
    if op == "===":
        return text.lower() == spec.lower()
    wildcard = spec.endswith(".*") and op in ("==", "!=")
    try:
        s = Version(spec[:-2] if wildcard else spec)
    except ValueError:
        return None
    try:
        v = Version(text)
    except ValueError:
        return False  # as pip: a version specifier matches no non-version
    if op in ("==", "!="):
        if wildcard:
            release = v.release + (0,) * max(0, len(s.release) - len(v.release))
            same = v.epoch == s.epoch and release[: len(s.release)] == s.release
        else:
            same = v.key == s.key and (s.local is None or (v.local or "").lower() == s.local.lower())
        return same == (op == "==")
    if op == "~=":
        prefix = ".".join(map(str, s.release[:-1]))
        return v.key >= s.key and spec_contains("==", prefix + ".*", text)
    if op == "<=":
        return v.key <= s.key
    if op == ">=":
        return v.key >= s.key
    if op == "<":
        return v.key < s.key and not (not s.is_prerelease() and v.is_prerelease() and v.base() == s.base())
    if op == ">":
        if not v.key > s.key:
            return False
        if s.post is None and v.post is not None and v.base() == s.base():
            return False
        return not (v.local and v.base() == s.base())
    return None


MARKER_TOKEN = re.compile(r"""\s*(?:(?P<str>'[^']*'|"[^"]*")|(?P<op>===|==|!=|<=|>=|~=|<|>|\(|\))"""
                          r"""|(?P<word>not\s+in\b|[A-Za-z_][A-Za-z0-9_.]*))""")


def marker_env():
    impl = sys.implementation
    iv = impl.version
    impl_version = "%d.%d.%d" % (iv.major, iv.minor, iv.micro)
    if iv.releaselevel != "final":
        impl_version += iv.releaselevel[0] + str(iv.serial)
    return {
        "implementation_name": impl.name,
        "implementation_version": impl_version,
        "os_name": os.name,
        "platform_machine": platform.machine(),
        "platform_release": platform.release(),
        "platform_system": platform.system(),
        "platform_version": platform.version(),
        "python_full_version": platform.python_version(),
        "platform_python_implementation": platform.python_implementation(),
        "python_version": ".".join(platform.python_version_tuple()[:2]),
        "sys_platform": sys.platform,
        "extra": "",
    }


def eval_marker(text, env):
    """Evaluates a PEP 508 marker expression as pip (packaging) does."""
    tokens, pos = [], 0
    while pos < len(text):
        m = MARKER_TOKEN.match(text, pos)
        if not m or m.end() == pos:
            if text[pos:].strip() == "":
                break
            raise Failure("invalid marker %r" % text)
        pos = m.end()
        kind = m.lastgroup
        value = m.group(kind)
        tokens.append((kind, " ".join(value.split()) if kind == "word" else value))
    i = 0

    def peek():
        return tokens[i] if i < len(tokens) else (None, None)

    def take():
        nonlocal i
        i += 1
        return tokens[i - 1]

    def value():
        kind, v = take()
        if kind == "str":
            return v[1:-1]
        if kind == "word" and v in env:
            return env[v]
        raise Failure("invalid marker %r" % text)

    def atom():
        if peek() == ("op", "("):
            take()
            result = disjunction()
            if take() != ("op", ")"):
                raise Failure("invalid marker %r" % text)
            return result
        lhs = value()
        kind, op = take()
        if kind not in ("op", "word") or op not in ("===", "==", "!=", "<=", ">=", "~=", "<", ">", "in", "not in"):
            raise Failure("invalid marker %r" % text)
        rhs = value()
        if op in ("in", "not in"):
            return (lhs in rhs) == (op == "in")
        result = spec_contains(op, rhs, lhs)  # Specifier(op + rhs).contains(lhs), as packaging reads it
        if result is None:
            ops = {"==": lhs == rhs, "!=": lhs != rhs, "<": lhs < rhs, "<=": lhs <= rhs, ">": lhs > rhs, ">=": lhs >= rhs}
            if op not in ops:
                raise Failure("marker %r compares %r and %r with %s" % (text, lhs, rhs, op))
            result = ops[op]
        return result

    def conjunction():
        result = atom()
        while peek() == ("word", "and"):
            take()
            result = atom() and result
        return result

    def disjunction():
        result = conjunction()
        while peek() == ("word", "or"):
            take()
            result = conjunction() or result
        return result

    result = disjunction()
    if i != len(tokens):
        raise Failure("invalid marker %r" % text)
    return result


# --- compatibility tags (PEP 425, 600, 656) --------------------------------

def glibc_version():
    try:
        name, version = os.confstr("CS_GNU_LIBC_VERSION").split()
        if name == "glibc":
            major, minor = version.split(".")[:2]
            return int(major), int(minor)
    except (AttributeError, OSError, ValueError):
        pass
    return None


def musl_version(arch):
    for loader in ("/lib/ld-musl-%s.so.1" % arch, "/usr/lib/ld-musl-%s.so.1" % arch):
        if os.path.exists(loader):
            out = subprocess.run([loader], stdout=subprocess.PIPE, stderr=subprocess.STDOUT).stdout.decode()
            m = re.search(r"Version (\d+)\.(\d+)", out)
            if m:
                return int(m.group(1)), int(m.group(2))
    return None


def platform_tags():
    plat = sysconfig.get_platform().replace("-", "_").replace(".", "_")
    if not plat.startswith("linux_"):
        return [plat]
    arch = plat[len("linux_"):]
    if arch == "x86_64" and sys.maxsize <= 2 ** 32:
        arch = "i686"
    elif arch == "aarch64" and sys.maxsize <= 2 ** 32:
        arch = "armv8l"
    tags = []
    glibc = glibc_version()
    if glibc and glibc[0] == 2:
        floor = 5 if arch in ("x86_64", "i686") else 17
        legacy = {17: "manylinux2014", 12: "manylinux2010", 5: "manylinux1"}
        for minor in range(glibc[1], floor - 1, -1):
            tags.append("manylinux_2_%d_%s" % (minor, arch))
            if minor in legacy and (minor == 17 or arch in ("x86_64", "i686")):
                tags.append("%s_%s" % (legacy[minor], arch))
    musl = None if glibc else musl_version(arch)
    if musl:
        tags += ["musllinux_%d_%d_%s" % (musl[0], minor, arch) for minor in range(musl[1], -1, -1)]
    return tags + ["linux_" + arch]


def supported_tags():
    """The interpreter's tags, most preferred first (packaging.tags.sys_tags)."""
    major, minor = sys.version_info[:2]
    plats = platform_tags()
    tags = []
    if sys.implementation.name == "cpython":
        interp = "cp%d%d" % (major, minor)
        abi = interp + ("t" if sysconfig.get_config_var("Py_GIL_DISABLED") else "")
        abi += "d" if hasattr(sys, "gettotalrefcount") else ""
        tags += [(interp, abi, p) for p in plats]
        abi3 = not sysconfig.get_config_var("Py_GIL_DISABLED")
        if abi3:
            tags += [(interp, "abi3", p) for p in plats]
        tags += [(interp, "none", p) for p in plats]
        if abi3:
            tags += [("cp%d%d" % (major, m), "abi3", p) for m in range(minor - 1, 1, -1) for p in plats]
    else:
        interp = {"pypy": "pp"}.get(sys.implementation.name, sys.implementation.name) + "%d%d" % (major, minor)
        soabi = (sysconfig.get_config_var("SOABI") or "").replace("-", "_").replace(".", "_")
        for abi in ([soabi] if soabi else []) + ["none"]:
            tags += [(interp, abi, p) for p in plats]
    versions = ["py%d%d" % (major, minor), "py%d" % major] + ["py%d%d" % (major, m) for m in range(minor - 1, -1, -1)]
    tags += [(v, "none", p) for v in versions for p in plats]
    tags.append((interp, "none", "any"))
    tags += [(v, "none", "any") for v in versions]
    return {tag: rank for rank, tag in reversed(list(enumerate(tags)))}


def wheel_tags(filename):
    parts = filename[:-4].split("-")
    if len(parts) not in (5, 6):
        return []
    pys, abis, plats = parts[-3:]
    return [(py, abi, p) for py in pys.split(".") for abi in abis.split(".") for p in plats.split(".")]


def choose_wheel(files, tags):
    best = None
    for f in files:
        if f["file"].endswith(".whl"):
            rank = min((tags[t] for t in wheel_tags(f["file"]) if t in tags), default=None)
            if rank is not None and (best is None or rank < best[0]):
                best = (rank, f)
    return best[1] if best else None


# --- credentials and the index ---------------------------------------------

def read_auth_toml(path):
    """Returns {source: (username, password)} from Poetry's auth.toml."""
    try:
        with open(path, "rb") as f:
            data = f.read()
    except OSError:
        return {}
    try:
        import tomllib

        doc = tomllib.loads(data.decode())
    except ImportError:  # Python < 3.11: the file's shape is simple
        doc, table = {}, None
        for line in data.decode().splitlines():
            line = line.strip()
            m = re.fullmatch(r"\[\s*([^\]]+?)\s*\]", line)
            if m:
                table = doc
                for part in re.findall(r'"[^"]*"|[^.\s]+', m.group(1)):
                    table = table.setdefault(part.strip('"'), {})
                continue
            m = re.fullmatch(r'([A-Za-z0-9_-]+)\s*=\s*"((?:[^"\\]|\\.)*)"', line)
            if m and table is not None:
                table[m.group(1)] = m.group(2).encode().decode("unicode_escape")
    except ValueError as e:
        raise Failure("the poetry-auth secret is not valid TOML: %s" % e)
    out = {}
    for name, cred in (doc.get("http-basic") or {}).items():
        if isinstance(cred, dict):
            out[name.lower()] = (cred.get("username", ""), cred.get("password", ""))
    return out


def read_secret(name):
    try:
        with open(os.path.join("/run/secrets", name)) as f:
            return f.read().rstrip("\r\n")
    except OSError:
        return None


def credentials(cfg):
    """{index URL: (username, password)} for the project's sources."""
    by_source = read_auth_toml(cfg["auth_secret"])
    out = {}
    for index in cfg["indexes"]:
        env = re.sub(r"[^A-Z0-9]", "_", index["name"].upper())
        user = read_secret("POETRY_HTTP_BASIC_%s_USERNAME" % env)
        password = read_secret("POETRY_HTTP_BASIC_%s_PASSWORD" % env)
        cred = (user or "", password or "") if user or password else by_source.get(index["name"].lower())
        if cred:
            out[index["url"]] = cred
    return out


class Anchors(html.parser.HTMLParser):
    def __init__(self):
        super().__init__()
        self.links = []

    def handle_starttag(self, tag, attrs):
        if tag == "a":
            href = dict(attrs).get("href")
            if href:
                self.links.append(href)


class Index:
    """The project's package sources, as PEP 503/691 simple pages."""

    def __init__(self, cfg):
        self.indexes = cfg["indexes"]
        self.creds = credentials(cfg)
        self.pages = {}
        self.lock = threading.Lock()

    def auth_for(self, url):
        for base, cred in self.creds.items():
            if url.startswith(base.rstrip("/") + "/") or urllib.parse.urlsplit(url).netloc == urllib.parse.urlsplit(base).netloc:
                return cred
        return None

    def open(self, url, accept="*/*"):
        req = urllib.request.Request(url, headers={"Accept": accept, "User-Agent": "xdockerfile"})
        cred = self.auth_for(url)
        if cred:
            token = base64.b64encode(("%s:%s" % cred).encode()).decode()
            req.add_header("Authorization", "Basic " + token)
        for attempt in range(3):
            try:
                return urllib.request.urlopen(req, timeout=60)
            except urllib.error.HTTPError as e:
                if e.code < 500 or attempt == 2:
                    raise Failure("%s: HTTP %d %s" % (redact(url), e.code, e.reason))
            except (urllib.error.URLError, OSError) as e:
                if attempt == 2:
                    reason = getattr(e, "reason", e)
                    raise Failure("cannot reach %s (%s)" % (redact(url), reason))
            time.sleep(0.5 * (attempt + 1))

    def links(self, base, project):
        url = base.rstrip("/") + "/" + project + "/"
        with self.lock:
            page = self.pages.get(url)
        if page is not None:
            return page
        with self.open(url, "application/vnd.pypi.simple.v1+json, text/html;q=0.1") as resp:
            body = resp.read()
            final = resp.geturl()
            ctype = resp.headers.get("Content-Type", "")
        links = {}
        if "json" in ctype:
            for f in json.loads(body).get("files", []):
                links[f["filename"]] = urllib.parse.urljoin(final, f["url"])
        else:
            parser = Anchors()
            parser.feed(body.decode("utf-8", "replace"))
            for href in parser.links:
                href = urllib.parse.urljoin(final, href)
                name = urllib.parse.unquote(urllib.parse.urlsplit(href).path.rsplit("/", 1)[-1])
                links[name] = href
        with self.lock:
            self.pages[url] = links
        return links

    def find(self, pkg, filename):
        """The URL of one locked file, from the package's own source first."""
        order = [ix for ix in self.indexes if ix["name"] == pkg.get("source")] if pkg.get("source") else []
        order += [ix for ix in self.indexes if ix not in order]
        tried = []
        for ix in order:
            links = self.links(ix["url"], pkg["name"])
            if filename in links:
                return links[filename].split("#", 1)[0]
            tried.append(redact(ix["url"]))
        raise Failure("%s is not on %s" % (filename, ", ".join(tried) or "any package source"))


def redact(url):
    parts = urllib.parse.urlsplit(url)
    if "@" in parts.netloc:
        parts = parts._replace(netloc="***@" + parts.netloc.rsplit("@", 1)[1])
    return urllib.parse.urlunsplit(parts)


# --- the download cache ----------------------------------------------------

class Cache:
    """Wheels keyed by their locked hash, in the step's cache mount.

    A file is only ever renamed into place after its hash was checked, so
    whatever is there is what the lock names; any user may add to it."""

    def __init__(self, root):
        self.root = root
        self.writable = self.makedirs(os.path.join(root, "wheels"))
        self.scratch = os.path.join(root, "wheels") if self.writable else tempfile.mkdtemp(prefix="xdockerfile-")

    @staticmethod
    def makedirs(path):
        """Makes path writable by every user of the cache, if it can."""
        try:
            if not os.path.isdir(path):
                Cache.makedirs(os.path.dirname(path))
                os.makedirs(path, exist_ok=True)
                os.chmod(path, 0o777)
            return os.access(path, os.W_OK)
        except OSError:
            return False

    def path(self, digest):
        algo, value = digest.split(":", 1)
        return os.path.join(self.root, "wheels", algo, value[:2], value[2:])

    def fetch(self, index, pkg, f):
        target = self.path(f["hash"])
        if os.path.exists(target):
            return target, 0
        url = f.get("url") or index.find(pkg, f["file"])
        algo, want = f["hash"].split(":", 1)
        h = hashlib.new(algo)
        fd, tmp = tempfile.mkstemp(prefix=".part-", dir=self.scratch)
        size = 0
        try:
            with os.fdopen(fd, "wb") as out, index.open(url) as resp:
                expected = resp.headers.get("Content-Length")
                while True:
                    chunk = resp.read(1 << 20)
                    if not chunk:
                        break
                    h.update(chunk)
                    out.write(chunk)
                    size += len(chunk)
            if expected is not None and int(expected) != size:
                raise Failure("download of %s was cut short: %d of %s bytes" % (f["file"], size, expected))
            if h.hexdigest() != want:
                raise Failure("%s does not match the lock: expected %s:%s, got %s:%s (the file on the index "
                              "changed, or the lock is wrong: run `poetry lock`)" % (f["file"], algo, want, algo, h.hexdigest()))
            os.chmod(tmp, 0o644)
            if self.writable and self.makedirs(os.path.dirname(target)):
                os.replace(tmp, target)
                return target, size
            return tmp, size
        except BaseException:
            if os.path.exists(tmp):
                os.unlink(tmp)
            raise


# --- unpacking a wheel (the binary distribution format spec) ---------------

SCRIPT = """# -*- coding: utf-8 -*-
import re
import sys
from %(module)s import %(import_name)s
if __name__ == '__main__':
    sys.argv[0] = re.sub(r'(-script\\.pyw|\\.exe)?$', '', sys.argv[0])
    sys.exit(%(func)s())
"""


def record_hash(data):
    return "sha256=" + base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()


def entry_points(text):
    """{group: [(name, value)]} of an entry_points.txt (an ini file)."""
    groups, group = {}, None
    for line in text.splitlines():
        line = line.strip()
        if not line or line[0] in "#;":
            continue
        if line.startswith("[") and line.endswith("]"):
            group = groups.setdefault(line[1:-1].strip(), [])
        elif group is not None and "=" in line:
            name, value = line.split("=", 1)
            group.append((name.strip(), value.strip()))
    return groups


class Venv:
    def __init__(self, root):
        self.root = root
        # pip's shebangs name the interpreter pip runs under: bin/python3
        # when a venv's pip is run as `pip`, as it usually is.
        self.python = os.path.join(root, "bin", "python%d" % sys.version_info[0])
        ver = "python%d.%d" % sys.version_info[:2]
        platlibdir = getattr(sys, "platlibdir", "lib")
        self.schemes = {
            "purelib": os.path.join(root, "lib", ver, "site-packages"),
            "platlib": os.path.join(root, platlibdir, ver, "site-packages"),
            "scripts": os.path.join(root, "bin"),
            "data": root,
        }
        self.include = os.path.join(root, "include", "site", ver)
        self.shebang = "#!" + self.python
        if len(self.shebang) > 127 or " " in self.python:
            self.shebang = "#!/bin/sh\n'''exec' %s \"$0\" \"$@\"\n' '''" % self.python
        self.umask = os.umask(0)
        os.umask(self.umask)

    def create(self, with_pip):
        if os.path.exists(self.python):
            if with_pip and not os.path.exists(os.path.join(self.root, "bin", "pip")):
                # a venv an earlier step made without pip: --with-pip adds it
                # (the venv module's own way, offline)
                try:
                    subprocess.run([self.python, "-Im", "ensurepip", "--upgrade", "--default-pip"],
                                   check=True, stdout=subprocess.DEVNULL)
                except (OSError, subprocess.CalledProcessError) as e:
                    raise Failure("cannot add pip to the venv %s: %s" % (self.root, e))
            return
        parent = os.path.dirname(self.root.rstrip("/")) or "/"
        target = self.root if os.path.exists(self.root) else parent
        if not os.access(target, os.W_OK):
            raise Failure("cannot create the venv %s: %s is not writable by this user (uid %d); choose a --venv "
                          "it can write, or create it owned by the user before this step" % (self.root, target, os.getuid()))
        import venv

        try:
            venv.EnvBuilder(with_pip=with_pip, symlinks=True).create(self.root)
        except (OSError, subprocess.CalledProcessError) as e:
            raise Failure("cannot create the venv %s: %s" % (self.root, e))

    def installed(self):
        """{normalized name: (version, dist-info path)} of what is there."""
        out = {}
        for lib in set(self.schemes[k] for k in ("purelib", "platlib")):
            if os.path.isdir(lib):
                for entry in os.listdir(lib):
                    if entry.endswith(".dist-info"):
                        name, _, version = entry[: -len(".dist-info")].partition("-")
                        out[normalize(name)] = (version, os.path.join(lib, entry))
        return out

    def remove(self, dist_info):
        lib = os.path.dirname(dist_info)
        with open(os.path.join(dist_info, "RECORD"), newline="") as f:
            for row in csv.reader(f):
                if row:
                    path = os.path.normpath(os.path.join(lib, row[0]))
                    if os.path.isfile(path) or os.path.islink(path):
                        os.unlink(path)
                        if path.endswith(".py"):
                            cache = os.path.join(os.path.dirname(path), "__pycache__")
                            stem = os.path.basename(path)[:-3] + "."
                            for pyc in os.listdir(cache) if os.path.isdir(cache) else []:
                                if pyc.startswith(stem):
                                    os.unlink(os.path.join(cache, pyc))
        shutil.rmtree(dist_info, ignore_errors=True)

    def install(self, pkg, wheel_path, filename):
        """Unpacks one wheel as pip does and returns the files it wrote.

        RECORD is rewritten the way pip writes it (rows of the wheel's own
        RECORD with their new paths, rehashed where a script's #!python
        line was replaced, then generated files, sorted), so tools that read
        or uninstall from it see what they would after pip; pip's empty
        REQUESTED marker (and its row) is the one file left out."""
        with zipfile.ZipFile(wheel_path) as zf:
            names = zf.namelist()
            info_dir = next((n.split("/")[0] for n in names if n.count("/") == 1 and n.endswith(".dist-info/WHEEL")), None)
            if info_dir is None:
                raise Failure("%s has no .dist-info/WHEEL: not a wheel" % filename)
            meta = dict(l.split(":", 1) for l in zf.read(info_dir + "/WHEEL").decode().splitlines() if ":" in l)
            lib = self.schemes["purelib" if meta.get("Root-Is-Purelib", "").strip().lower() == "true" else "platlib"]
            eps = entry_points(zf.read(info_dir + "/entry_points.txt").decode()) if info_dir + "/entry_points.txt" in names else {}
            wrappers = {name for group in ("console_scripts", "gui_scripts") for name, _ in eps.get(group, [])}
            installed, changed, made = {}, set(), set()
            for info in zf.infolist():
                name = info.filename
                if name.endswith("/"):
                    continue
                top, _, rest = name.partition("/")
                key = "lib"
                base = lib
                if top.endswith(".data"):
                    key, _, rest = rest.partition("/")
                    if not rest:
                        raise Failure("%s: unexpected file %s (.data contents are <scheme>/<path>)" % (filename, name))
                    if key == "headers":
                        base = os.path.join(self.include, pkg["dist"])
                    elif key in self.schemes:
                        base = self.schemes[key]
                    else:
                        raise Failure("%s: unknown .data directory %s in %s" % (filename, key, name))
                    if key == "scripts" and re.sub(r"(\.exe|-script\.py|\.pya)$", "", os.path.basename(rest), flags=re.I) in wrappers:
                        continue  # setuptools' own wrapper of an entry point
                else:
                    rest = name
                dest = os.path.normpath(os.path.join(base, rest))
                if not dest.startswith(os.path.normpath(base) + os.sep):
                    raise Failure("%s: %s would be written outside %s" % (filename, name, base))
                folder = os.path.dirname(dest)
                if folder not in made:
                    os.makedirs(folder, exist_ok=True)
                    made.add(folder)
                data = zf.read(info)
                if key == "scripts" and data.startswith(b"#!python"):
                    data = ("#!" + self.python + "\n").encode() + (data.split(b"\n", 1)[1] if b"\n" in data else b"")
                    changed.add(dest)
                if os.path.lexists(dest):
                    os.unlink(dest)
                with open(dest, "wb") as out:
                    out.write(data)
                if (info.external_attr >> 16) & 0o111:
                    os.chmod(dest, 0o777 & ~self.umask | 0o111)
                installed[name] = dest
            record = list(csv.reader(zf.read(info_dir + "/RECORD").decode("utf-8").splitlines()))
        generated = []
        for group in ("console_scripts", "gui_scripts"):
            for name, value in eps.get(group, []):
                module, _, attr = value.split("[")[0].strip().partition(":")
                attr = attr.strip()
                if not attr:
                    raise Failure("%s: entry point %s = %s names no function" % (filename, name, value))
                path = os.path.join(self.schemes["scripts"], name)
                os.makedirs(os.path.dirname(path), exist_ok=True)
                if os.path.lexists(path):
                    os.unlink(path)
                with open(path, "w") as out:
                    out.write(self.shebang + "\n")
                    out.write(SCRIPT % {"module": module.strip(), "import_name": attr.split(".")[0], "func": attr})
                os.chmod(path, (0o666 & ~self.umask) | 0o555)
                generated.append(path)
        # INSTALLER, as pip writes it, naming us. No REQUESTED: Poetry's
        # installer writes none, and the layer stays no larger than its.
        installer = os.path.join(lib, info_dir, "INSTALLER")
        with open(installer, "w") as out:
            out.write(INSTALLER + "\n")
        generated.append(installer)

        def rel(path):
            return os.path.relpath(path, lib).replace(os.sep, "/")

        def rehash(path):
            with open(path, "rb") as f:
                data = f.read()
            return record_hash(data), str(len(data))

        written = list(installed.values()) + generated
        rows = []
        for row in record:
            if not row:
                continue
            dest = installed.pop(row[0], None)
            if dest in changed:
                rows.append((rel(dest), *rehash(dest)))
            else:
                rows.append((rel(dest) if dest else row[0], row[1] if len(row) > 1 else "", row[2] if len(row) > 2 else ""))
        rows += [(rel(path), *rehash(path)) for path in generated]
        rows += [(rel(dest), "", "") for dest in installed.values()]
        with open(os.path.join(lib, info_dir, "RECORD"), "w", newline="", encoding="utf-8") as f:
            csv.writer(f).writerows(sorted(rows))
        return written


def normalize(name):
    return re.sub(r"[-_.]+", "-", name).lower()


# --- pip, for what needs a build ------------------------------------------

def pip_install(cfg, venv, index, lines, what, local=False):
    """Has pip build and install lines; local tells builds of directories
    from the build context (path dependencies, the project itself)."""
    if os.path.exists(os.path.join(venv.root, "bin", "pip")):
        cmd = [venv.python, "-m", "pip"]
    elif subprocess.run([sys.executable, "-m", "pip", "--version"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL).returncode == 0:
        cmd = [sys.executable, "-m", "pip", "--python", venv.python]
    else:
        raise Failure("%s need%s a build, which takes pip, and this image has none: install pip in the image "
                      "(e.g. python3-pip) or use POETRY INSTALL --with-pip" % (what, "" if "," in what else "s"))
    cmd += ["install", "--no-deps", "--no-input", "--disable-pip-version-check", "--progress-bar", "off"]
    if not cfg.get("compile"):
        cmd.append("--no-compile")
    for ix in cfg["indexes"]:
        cmd += ["--index-url" if ix["default"] else "--extra-index-url", ix["url"]]
        parts = urllib.parse.urlsplit(ix["url"])
        if parts.scheme == "http":
            cmd += ["--trusted-host", parts.hostname]
    env = dict(os.environ, PIP_CACHE_DIR=os.path.join(cfg["cache_dir"], "pip"))
    netrc = [
        "machine %s login %s password %s" % (urllib.parse.urlsplit(url).hostname, user, password)
        for url, (user, password) in index.creds.items()
    ]
    if netrc:
        path = os.path.join(cfg["auth_dir"], "netrc")
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write("\n".join(netrc) + "\n")
        env["NETRC"] = path
    git = [line.split(" @ ", 1)[0] for line in lines if " @ git+" in line]
    if git and not shutil.which("git"):
        raise Failure("%s: a git dependency, and this image has no git to fetch it with: install git in the image"
                      % ", ".join(git))
    if git and os.path.exists(cfg.get("git_credentials") or "/nonexistent"):
        # git asks its credential store, read from the secret; no URL
        # carries a password
        env.update(GIT_CONFIG_COUNT="1", GIT_CONFIG_KEY_0="credential.helper",
                   GIT_CONFIG_VALUE_0="store --file=" + cfg["git_credentials"])
    env["GIT_TERMINAL_PROMPT"] = "0"
    Cache.makedirs(env["PIP_CACHE_DIR"])
    scratch_dir = cfg["auth_dir"] if os.access(cfg["auth_dir"], os.W_OK) else None
    scratch = None
    if local:
        # pip keeps the wheel it built from a directory in its persistent
        # cache, keyed by the directory's URL alone, whenever the
        # directory's name reads as name-version ("my-lib"): the next build
        # from the same place, sources edited, would install the old wheel.
        # These builds get a wheel cache of their own, dropped afterwards;
        # what they download (the build backend) still goes through the
        # shared HTTP cache.
        scratch = tempfile.mkdtemp(prefix="xdockerfile-pip-", dir=scratch_dir)
        for name in ("http", "http-v2"):
            shared = os.path.join(env["PIP_CACHE_DIR"], name)
            if Cache.makedirs(shared):
                os.symlink(shared, os.path.join(scratch, name))
        env["PIP_CACHE_DIR"] = scratch
    try:
        # pip checks hashes of all or of none: locked archives in one call,
        # repositories and directories (which have no hash) in another
        for batch, hashed in (([l for l in lines if "--hash=" in l], True), ([l for l in lines if "--hash=" not in l], False)):
            if not batch:
                continue
            with tempfile.NamedTemporaryFile("w", suffix=".txt", dir=scratch_dir) as req:
                req.write("".join(batch))
                req.flush()
                result = subprocess.run(cmd + (["--require-hashes"] if hashed else []) + ["-r", req.name], env=env)
            if result.returncode != 0:
                raise Failure("pip could not install %s" % what)
    finally:
        if scratch:
            shutil.rmtree(scratch, ignore_errors=True)


# --- the step --------------------------------------------------------------

def log(msg):
    print(msg, file=sys.stderr, flush=True)


def main():
    start = time.monotonic()
    with open(os.path.join(HERE, "install.json")) as f:
        cfg = json.load(f)
    env = marker_env()
    tags = supported_tags()
    venv = Venv(cfg["venv"])
    venv.create(cfg.get("with_pip", False))
    present = venv.installed()

    wheels, builds, skipped = [], [], 0
    for pkg in cfg["packages"]:
        label = "%s %s" % (pkg["name"], pkg["version"])
        try:
            if pkg.get("marker") and not eval_marker(pkg["marker"], env):
                skipped += 1
                continue
        except Failure as e:
            raise Failure("%s: %s" % (label, e))
        have = present.get(normalize(pkg["name"]))
        if have and have[0] == pkg["version"] and not pkg.get("build"):
            continue
        if pkg.get("build"):
            builds.append((pkg, have))
            continue
        chosen = choose_wheel(pkg["files"], tags)
        if chosen is None:
            if any(not f["file"].endswith(".whl") for f in pkg["files"]):
                builds.append((pkg, have))
                continue
            best = sorted(tags, key=tags.get)[0]
            raise Failure("%s: no locked file fits this interpreter (%s, %s); the lock has %s" % (
                label, "-".join(best), platform_tags()[0], ", ".join(f["file"] for f in pkg["files"]) or "no files"))
        wheels.append((pkg, chosen, have))

    for pkg, _ in builds:
        if pkg.get("context"):
            check_context(pkg)  # before anything is downloaded or installed

    index = Index(cfg)
    cache = Cache(cfg["cache_dir"])
    written, fetched = [], [0, 0]
    # Unpacking is CPU-bound Python (the GIL), so it runs in a process per
    # core, forked before any thread starts; downloading waits on the
    # network, so it runs in threads. Each wheel is unpacked as soon as it
    # is there.
    unpackers = Unpackers(len(wheels))
    try:
        with concurrent.futures.ThreadPoolExecutor(min(32, 4 * (os.cpu_count() or 1))) as downloads:
            pending = {downloads.submit(fetch, cache, index, item): item for item in wheels}
            unpacking = {}
            for fut in concurrent.futures.as_completed(pending):
                pkg, f, have = pending[fut]
                path, size = fut.result()
                fetched[0] += bool(size)
                fetched[1] += size
                unpacking[unpackers.submit(unpack, venv, pkg, path, f["file"], have and have[1])] = (path, cache.path(f["hash"]))
            for fut in concurrent.futures.as_completed(unpacking):
                written += fut.result()
                path, cached = unpacking[fut]
                if path != cached:  # a download the cache could not keep
                    os.unlink(path)
    finally:
        unpackers.shutdown()
    if builds:
        for pkg, have in builds:
            if have:
                venv.remove(have[1])
            if pkg.get("root"):
                log("xdockerfile: installing the current project: %s (%s)" % (pkg["dist"], pkg["version"] or "dynamic version"))
        # what the index serves first, then directories of the build context
        for local in (False, True):
            batch = [p for p, _ in builds if bool(p.get("path")) == local]
            if batch:
                pip_install(cfg, venv, index, [p["line"] for p in batch], ", ".join(map(describe, batch)), local)
    if cfg.get("compile") and written:
        compile_files(venv, [p for p in written if p.endswith(".py")])
    log("xdockerfile: installed %d packages (%d downloaded, %.1f MB; %d from cache; %d built; %d skipped by markers) in %.1fs" % (
        len(wheels) + len(builds), fetched[0], fetched[1] / 1e6, len(wheels) - fetched[0], len(builds), skipped,
        time.monotonic() - start))


def describe(pkg):
    """Names a package that needs a build, and where it comes from."""
    if pkg.get("root"):
        return "the current project " + pkg["name"]
    if pkg.get("context"):
        return "%s (from the named context %s)" % (pkg["name"], pkg["context"])
    return pkg["name"]


def check_context(pkg):
    """Makes sure the named context bound for a path dependency outside the
    build context holds it: the project (pyproject.toml or setup.py at its
    root), or the locked archive."""
    where = pkg["line"].split(" @ file://", 1)[1].split()[0]
    if os.path.isdir(where):
        if any(os.path.isfile(os.path.join(where, f)) for f in ("pyproject.toml", "setup.py")):
            return
        missing = "no pyproject.toml or setup.py at its root"
    elif os.path.isfile(where):
        return
    else:
        missing = "no " + os.path.basename(where)
    raise Failure("%s: the named context %s, given for the path dependency %s, has %s (or its .dockerignore excludes it)"
                  % (pkg["name"], pkg["context"], pkg["path"], missing))


def fetch(cache, index, item):
    pkg, f, _ = item
    try:
        return cache.fetch(index, pkg, f)
    except Failure as e:
        raise Failure("%s %s: %s" % (pkg["name"], pkg["version"], e))
    except (OSError, http.client.HTTPException) as e:
        raise Failure("%s %s: cannot download %s: %s" % (pkg["name"], pkg["version"], f["file"], e))


def unpack(venv, pkg, path, filename, old):
    """Installs one wheel (in a worker process), replacing an old version."""
    try:
        if old:
            venv.remove(old)
        return venv.install(pkg, path, filename)
    except Failure as e:
        raise Failure("%s %s: %s" % (pkg["name"], pkg["version"], e))
    except (OSError, zipfile.BadZipFile, KeyError, ValueError, csv.Error) as e:
        raise Failure("%s %s: cannot install %s: %s" % (pkg["name"], pkg["version"], filename, e))


class Unpackers:
    """A process per core, or the calling thread when one would do."""

    def __init__(self, jobs):
        self.pool = None
        n = min(os.cpu_count() or 1, jobs)
        if n > 1:
            import multiprocessing

            try:
                self.pool = concurrent.futures.ProcessPoolExecutor(n, mp_context=multiprocessing.get_context("fork"))
                self.pool.submit(int).result()  # forks the workers now, while this process has one thread
            except (OSError, ImportError, NotImplementedError, concurrent.futures.process.BrokenProcessPool):
                self.pool = None  # no /dev/shm for its semaphores, say: unpack here

    def submit(self, fn, *args):
        if self.pool:
            return self.pool.submit(fn, *args)
        fut = concurrent.futures.Future()
        try:
            fut.set_result(fn(*args))
        except Failure as e:
            fut.set_exception(e)
        return fut

    def shutdown(self):
        if self.pool:
            self.pool.shutdown(wait=True)


def compile_files(venv, paths):
    """Byte-compiles in parallel, on every core, into __pycache__: what
    `python -m compileall -j0` does, for the files installed here. The
    .pyc files record a hash of their source, not its mtime, so the same
    lock gives the same bytes."""
    with tempfile.NamedTemporaryFile("w") as listing:
        listing.write("\n".join(paths) + "\n")
        listing.flush()
        subprocess.run([venv.python, "-m", "compileall", "-q", "-j0", "--invalidation-mode", "unchecked-hash",
                        "-i", listing.name], check=True, stdout=subprocess.DEVNULL)


if __name__ == "__main__":
    try:
        main()
    except Failure as e:
        log("xdockerfile: POETRY INSTALL: %s" % e)
        sys.exit(1)
    except subprocess.CalledProcessError as e:
        sys.exit(e.returncode or 1)
