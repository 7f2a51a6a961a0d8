package main

import (
	"slices"
	"testing"
)

func TestVersionTags(t *testing.T) {
	for version, want := range map[string][]string{
		"v1.4.2":       {"1.4.2", "1.4", "1"},
		"2.0.0":        {"2.0.0", "2.0", "2"},
		"v1.5.0-rc.1":  {"1.5.0-rc.1"},
		"v1.0.0-dev":   {"1.0.0-dev"},
		"v1.4":         {"1.4"},
		"v10.20.30":    {"10.20.30", "10.20", "10"},
		"v1.4.2-dirty": {"1.4.2-dirty"},
	} {
		if got := versionTags(version); !slices.Equal(got, want) {
			t.Errorf("versionTags(%q) = %v, want %v", version, got, want)
		}
	}
}
