package main

import "strings"

// A variant is one way of installing the lock, as a real Dockerfile: the
// dependency step(s), then `COPY . /app` of the source. {{python}},
// {{poetry}} and {{frontend}} are replaced by the lab's images.
type variant struct {
	key, title string
	dockerfile string
	// steps match the progress names of the dependency steps.
	steps []string
	ours  bool
}

var variants = []variant{
	{key: "seed", title: "seed pattern: `poetry export` stage, then `pip install -r`",
		steps: []string{"RUN poetry export", "pip install -r"},
		dockerfile: `FROM {{poetry}} AS export
WORKDIR /src
COPY pyproject.toml poetry.lock ./
RUN poetry export -f requirements.txt --only main -o requirements.txt

FROM {{python}}
COPY --from=export /src/requirements.txt /tmp/requirements.txt
RUN --mount=type=cache,target=/root/.cache/pip python3 -m venv /opt/venv && /opt/venv/bin/pip install -r /tmp/requirements.txt
ENV PATH=/opt/venv/bin:$PATH
COPY . /app
`},
	{key: "poetry", title: "`poetry install --no-root --only main` (Poetry preinstalled)",
		steps: []string{"poetry install --no-root"},
		dockerfile: `FROM {{poetry}}
ENV POETRY_NO_INTERACTION=1 VIRTUAL_ENV=/opt/venv PATH=/opt/venv/bin:$PATH
WORKDIR /app
COPY pyproject.toml poetry.lock ./
RUN --mount=type=cache,target=/root/.cache/pypoetry python3 -m venv --without-pip /opt/venv && poetry install --no-root --only main
COPY . /app
`},
	{key: "ours", title: "**`POETRY INSTALL --only=main`**", ours: true,
		steps: []string{"POETRY INSTALL"},
		dockerfile: `# syntax={{frontend}}
FROM {{python}}
POETRY INSTALL --only=main
ENV PATH=/opt/venv/bin:$PATH
COPY . /app
`},
	{key: "pip", title: "`pip install --no-deps --require-hashes`",
		steps: []string{"pip install --no-deps"},
		dockerfile: `FROM {{python}}
COPY requirements.txt /tmp/requirements.txt
RUN --mount=type=cache,target=/root/.cache/pip python3 -m venv /opt/venv && /opt/venv/bin/pip install --no-deps --require-hashes -r /tmp/requirements.txt
ENV PATH=/opt/venv/bin:$PATH
COPY . /app
`},
	{key: "pip-nocompile", title: "the same with `--no-compile`",
		steps: []string{"pip install --no-compile"},
		dockerfile: `FROM {{python}}
COPY requirements.txt /tmp/requirements.txt
RUN --mount=type=cache,target=/root/.cache/pip python3 -m venv /opt/venv && /opt/venv/bin/pip install --no-compile --no-deps --require-hashes -r /tmp/requirements.txt
ENV PATH=/opt/venv/bin:$PATH
COPY . /app
`},
	{key: "limit", title: "the limit: parallel download, hash check, unzip into a venv",
		steps: []string{"/tmp/limit/unzip.py /tmp/limit/wheels.txt"},
		dockerfile: `FROM {{python}}
COPY wheels.txt unzip.py /tmp/limit/
RUN --mount=type=cache,target=/root/.cache/limit python3 /tmp/limit/unzip.py /tmp/limit/wheels.txt /opt/venv
ENV PATH=/opt/venv/bin:$PATH
COPY . /app
`},
}

func (v variant) render(python, poetry, frontend string) string {
	return strings.NewReplacer("{{python}}", python, "{{poetry}}", poetry, "{{frontend}}", frontend).Replace(v.dockerfile)
}

func variantByKey(key string) variant {
	for _, v := range variants {
		if v.key == key {
			return v
		}
	}
	panic(key)
}

// unzipPy is the limit: a venv without pip, then for every locked wheel in
// parallel: fetch it (or take it from a cache keyed by its hash), check the
// hash, unzip it into site-packages. No RECORD rewriting, no scripts, no
// byte-compiling.
const unzipPy = `import concurrent.futures, hashlib, io, os, sys, sysconfig, urllib.request, venv, zipfile

wheels, target = sys.argv[1], sys.argv[2]
cache = "/root/.cache/limit"
os.makedirs(cache, exist_ok=True)
venv.EnvBuilder(with_pip=False, symlinks=True).create(target)
site = sysconfig.get_path("purelib", "venv", vars={"base": target, "platbase": target})

def install(line):
    url, sha = line.split()
    cached = os.path.join(cache, sha)
    try:
        with open(cached, "rb") as f:
            data = f.read()
    except FileNotFoundError:
        with urllib.request.urlopen(url) as r:
            data = r.read()
        if hashlib.sha256(data).hexdigest() != sha:
            raise SystemExit(url + ": hash mismatch")
        with open(cached + ".tmp", "wb") as f:
            f.write(data)
        os.replace(cached + ".tmp", cached)
    zipfile.ZipFile(io.BytesIO(data)).extractall(site)

with open(wheels) as f:
    lines = [l for l in f if l.strip()]
with concurrent.futures.ThreadPoolExecutor(8) as pool:
    list(pool.map(install, lines))
`
