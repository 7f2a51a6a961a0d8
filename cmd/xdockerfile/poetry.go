package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"slices"

	"github.com/xdockerfile/xdockerfile/poetry"
)

const poetryUsage = `usage: xdockerfile poetry export [--only G,..] [--with G,..] [--without G,..] [--all-groups]
           [-E extra]... [--extras "a b"] [--all-extras]
           [--without-hashes] [--without-urls] [--with-credentials] [DIR]
  print the requirements.txt that ` + "`poetry export -f requirements.txt`" + ` prints for the
  Poetry project in DIR (default: the current directory); flags may repeat and may follow DIR
`

// poetryCommand implements `xdockerfile poetry export`.
func poetryCommand(args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, poetryUsage)
		return errors.New("xdockerfile poetry: missing subcommand (export)")
	}
	if args[0] == "help" || args[0] == "-h" || args[0] == "--help" {
		fmt.Fprint(stdout, poetryUsage)
		return nil
	}
	if args[0] != "export" {
		fmt.Fprint(stderr, poetryUsage)
		return fmt.Errorf("xdockerfile poetry: unknown subcommand %q", args[0])
	}
	rest := args[1:]
	if slices.Contains(rest, "-h") || slices.Contains(rest, "--help") {
		fmt.Fprint(stdout, poetryUsage)
		return flag.ErrHelp
	}
	opt, dir, err := poetry.ParseExportArgs(rest)
	if err != nil {
		return err
	}
	p, err := poetry.Load(dir)
	if err != nil {
		return err
	}
	e, err := p.Export(opt)
	if err != nil {
		return err
	}
	_, err = io.WriteString(stdout, e.String())
	return err
}
