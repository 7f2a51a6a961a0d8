package pyindex

// File is a built wheel as a lock names it.
type File struct {
	Name, SHA256 string
}

// ServeFiles builds the wheels, serves them and returns the locked files of
// each project (PEP 503 name).
func (s *Server) ServeFiles(wheels []Wheel) (map[string][]File, error) {
	out := map[string][]File{}
	for _, w := range wheels {
		name, data, err := BuildWheel(w)
		if err != nil {
			return nil, err
		}
		s.Add(name, data)
		out[ProjectName(w.Name)] = append(out[ProjectName(w.Name)], File{name, SHA256(data)})
	}
	return out, nil
}

// Shapes are wheels of the shapes real packages come in, for installer
// tests: nested and namespace packages, package data, console and GUI entry
// points, .data/ scripts (with #!python and executable bits), data and
// headers, a platlib wheel with a compiled-extension stand-in, the same
// version under three tags (manylinux, pure, musllinux; the manylinux one
// says so in native.KIND), and a package only for Windows.
func Shapes() []Wheel {
	return []Wheel{
		{Name: "Plain_Pkg", Version: "1.0", Deflate: true, Modules: map[string]string{
			"plain_pkg/__init__.py":      "VALUE = 'plain'\n",
			"plain_pkg/sub/__init__.py":  "",
			"plain_pkg/sub/deep.py":      "X = 1\n",
			"plain_pkg/data/table.csv":   "a,b\n1,2\n",
			"nsp/plain_part/__init__.py": "PART = 'plain'\n", // a namespace package: no nsp/__init__.py
		}},
		{Name: "other-ns", Version: "2.0", Modules: map[string]string{"nsp/other_part/__init__.py": "PART = 'other'\n"}},
		{Name: "tools", Version: "0.3.1", Deflate: true,
			Modules: map[string]string{
				"tools/__init__.py": "",
				"tools/cli.py":      "import sys\n\ndef main():\n    print('tool ran', sys.argv[1:])\n    return 0\n\nclass _O:\n    def method(self):\n        print('method ran')\n\nobj = _O()\n",
				"tools/gui.py":      "def run():\n    print('gui ran')\n",
				"tools/run.sh":      "#!/bin/sh\necho run\n",
			},
			EntryPoints: "[console_scripts]\ntool = tools.cli:main\ntool-obj = tools.cli:obj.method\n\n[gui_scripts]\ntoolgui = tools.gui:run\n",
			Data: map[string]string{
				"scripts/plain.sh":            "#!/bin/sh\necho plain\n",
				"scripts/pyscript":            "#!python\nprint('pyscript ran')\n",
				"scripts/tool":                "#!python\n# setuptools' wrapper: pip skips it for the entry point\n",
				"data/share/tools/readme.txt": "shared data\n",
				"headers/tools.h":             "#define TOOLS 1\n",
			},
			Executable: []string{"tools/run.sh", "tools-0.3.1.data/scripts/plain.sh", "tools-0.3.1.data/scripts/pyscript"},
		},
		{Name: "native", Version: "1.2", Platlib: true, Deflate: true, Tag: "cp37-abi3-manylinux_2_17_x86_64.manylinux2014_x86_64",
			Modules: map[string]string{"native/__init__.py": "KIND = 'manylinux'\n", "native/_speedups.abi3.so": "\x7fELF\x02\x01\x01 not really a library\x00\x01"}},
		{Name: "native", Version: "1.2", Tag: "py3-none-any", Modules: map[string]string{"native/__init__.py": "KIND = 'pure'\n"}},
		{Name: "native", Version: "1.2", Platlib: true, Tag: "cp37-abi3-musllinux_1_1_x86_64", Modules: map[string]string{"native/__init__.py": "KIND = 'musl'\n"}},
		{Name: "winonly", Version: "1.0", Modules: map[string]string{"winonly/__init__.py": ""}},
	}
}
