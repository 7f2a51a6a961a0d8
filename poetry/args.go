package poetry

import (
	"fmt"
	"strings"
)

// ParseExportArgs reads the flags of `poetry export -f requirements.txt`
// (plus an optional project directory, which may come before the flags).
// Flags may repeat; "--name value", "--name=value" and "-Evalue" are
// accepted.
func ParseExportArgs(args []string) (opt Options, dir string, err error) {
	var dirs []string
	valueFlags := map[string]*[]string{
		"--only": &opt.Only, "--with": &opt.With, "--without": &opt.Without,
		"--extras": &opt.Extras, "-E": &opt.Extras,
	}
	boolFlags := map[string]*bool{
		"--all-groups": &opt.AllGroups, "--all-extras": &opt.AllExtras,
		"--without-hashes": &opt.WithoutHashes, "--without-urls": &opt.WithoutURLs,
		"--with-credentials": &opt.WithCredentials,
	}
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "--" {
			dirs = append(dirs, args[i+1:]...)
			break
		}
		if !strings.HasPrefix(a, "-") || a == "-" {
			dirs = append(dirs, a)
			continue
		}
		name, val, hasVal := strings.Cut(a, "=")
		if strings.HasPrefix(a, "-E") && a != "-E" && !strings.HasPrefix(a, "--") {
			name, val, hasVal = "-E", strings.TrimPrefix(a[2:], "="), true
		}
		if strings.HasPrefix(a, "-f") && a != "-f" && !strings.HasPrefix(a, "--") {
			name, val, hasVal = "-f", strings.TrimPrefix(a[2:], "="), true
		}
		if b, ok := boolFlags[name]; ok {
			if hasVal {
				return opt, "", fmt.Errorf("The %q option does not expect a value.", name)
			}
			*b = true
			continue
		}
		target, isValue := valueFlags[name]
		isFormat := name == "--format" || name == "-f"
		if !isValue && !isFormat {
			return opt, "", fmt.Errorf("The %q option does not exist.", name)
		}
		if !hasVal {
			if i+1 >= len(args) {
				return opt, "", fmt.Errorf("The %q option requires a value.", name)
			}
			i++
			val = args[i]
		}
		if isFormat {
			if val != "requirements.txt" {
				return opt, "", fmt.Errorf("Invalid export format: %s", val)
			}
			continue
		}
		*target = append(*target, val)
	}
	if len(dirs) > 1 {
		return opt, "", fmt.Errorf("one project directory at most, got %q", dirs)
	}
	dir = "."
	if len(dirs) == 1 {
		dir = dirs[0]
	}
	return opt, dir, nil
}
