package main

import (
	"bytes"
	"testing"
)

// The lock is what the figures are about: it must be the same every time
// and as large as docs/performance.md says.
func TestWheelsAreDeterministicAndRealistic(t *testing.T) {
	if testing.Short() {
		t.Skip("generates 63 MB of wheels")
	}
	wheels, bump, err := buildWheels(6)
	if err != nil {
		t.Fatal(err)
	}
	var files int
	var packed, unpacked int64
	for _, w := range wheels {
		n, size := zipStats(w.data)
		files, packed, unpacked = files+n, packed+int64(len(w.data)), unpacked+size
	}
	t.Logf("%d wheels, %.1f MB, %d files, %.1f MB unpacked; bump %s", len(wheels), float64(packed)/1e6, files, float64(unpacked)/1e6, bump.filename)
	if len(wheels) < 30 || packed < 50e6 || packed > 80e6 || unpacked < 130e6 || unpacked > 180e6 || files < 8000 {
		t.Errorf("the lock is not the realistic one the docs describe")
	}
	for _, i := range []int{4, 8, 20} { // a platform wheel, one with a script, a small one
		again, err := buildWheel(6, specs[i], wheels[i].version)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(again.data, wheels[i].data) {
			t.Errorf("%s differs between two builds", wheels[i].filename)
		}
	}
}
