// Package pep508 implements PEP 508 environment markers and PEP 440 version
// constraints with the algebra and printing rules of poetry-core 2.x, so that
// markers computed here print byte for byte as poetry-core prints them.
package pep508

import (
	"fmt"
	"math"
	"regexp"
	"strconv"
	"strings"
)

// tag is a PEP 440 release tag (pre, post or dev segment).
type tag struct {
	phase string
	num   int
}

// Sentinel tags mirror poetry-core's compare-key trick: a missing segment
// sorts before ("" phase) or after ("z" phase) every real one.
var (
	infTag    = tag{"z", math.MaxInt}
	negInfTag = tag{"", math.MinInt}
)

func cmpTag(a, b tag) int {
	if c := strings.Compare(a.phase, b.phase); c != 0 {
		return c
	}
	switch {
	case a.num < b.num:
		return -1
	case a.num > b.num:
		return 1
	}
	return 0
}

// Version is a PEP 440 version. It keeps the text it was parsed from because
// poetry-core prints markers with the original spelling ("4" stays "4").
type Version struct {
	epoch   int
	release []int // as written: its length is the precision
	pre     *tag
	post    *tag
	dev     *tag
	local   []string
	text    string
}

var phaseNormal = map[string]string{
	"a": "a", "alpha": "a",
	"b": "b", "beta": "b",
	"rc": "rc", "c": "rc", "pre": "rc", "preview": "rc",
	"post": "post", "r": "post", "rev": "post", "-": "post",
	"dev": "dev",
}

// versionPattern is packaging's VERSION_PATTERN.
const versionPattern = `v?(?:(?:(?P<epoch>[0-9]+)!)?(?P<release>[0-9]+(?:\.[0-9]+)*)` +
	`(?P<pre>[-_\.]?(?P<pre_l>alpha|a|beta|b|preview|pre|c|rc)[-_\.]?(?P<pre_n>[0-9]+)?)?` +
	`(?P<post>(?:-(?P<post_n1>[0-9]+))|(?:[-_\.]?(?P<post_l>post|rev|r)[-_\.]?(?P<post_n2>[0-9]+)?))?` +
	`(?P<dev>[-_\.]?(?P<dev_l>dev)[-_\.]?(?P<dev_n>[0-9]+)?)?)` +
	`(?:\+(?P<local>[a-z0-9]+(?:[-_\.][a-z0-9]+)*))?`

var versionRE = regexp.MustCompile(`(?i)^\s*` + versionPattern + `\s*$`)

// ParseVersion parses a PEP 440 version, keeping its text.
func ParseVersion(s string) (*Version, error) {
	m := versionRE.FindStringSubmatch(s)
	if s == "" || m == nil {
		return nil, fmt.Errorf("Invalid PEP 440 version: '%s'", s)
	}
	g := func(name string) string { return m[versionRE.SubexpIndex(name)] }
	v := &Version{text: s}
	if e := g("epoch"); e != "" {
		v.epoch = atoi(e)
	}
	for _, p := range strings.Split(g("release"), ".") {
		v.release = append(v.release, atoi(p))
	}
	if g("pre") != "" {
		v.pre = &tag{phaseNormal[strings.ToLower(g("pre_l"))], atoiOr0(g("pre_n"))}
	}
	if g("post") != "" {
		l := strings.ToLower(g("post_l"))
		if l == "" {
			l = "post"
		}
		n := g("post_n1")
		if n == "" {
			n = g("post_n2")
		}
		v.post = &tag{phaseNormal[l], atoiOr0(n)}
	}
	if g("dev") != "" {
		v.dev = &tag{"dev", atoiOr0(g("dev_n"))}
	}
	if l := g("local"); l != "" {
		for _, p := range regexp.MustCompile(`[._-]`).Split(l, -1) {
			v.local = append(v.local, strings.ToLower(p))
		}
	}
	return v, nil
}

func mustVersion(s string) *Version {
	v, err := ParseVersion(s)
	if err != nil {
		panic(err)
	}
	return v
}

func atoi(s string) int {
	n, err := strconv.Atoi(s)
	if err != nil {
		// absurdly long digit strings: saturate rather than fail
		return math.MaxInt32
	}
	return n
}

func atoiOr0(s string) int {
	if s == "" {
		return 0
	}
	return atoi(s)
}

// newVersion builds a computed version; its text is the normalised form.
func newVersion(epoch int, release []int, pre, post, dev *tag, local []string) *Version {
	v := &Version{epoch: epoch, release: release, pre: pre, post: post, dev: dev, local: local}
	v.text = v.normalized()
	return v
}

func (v *Version) normalized() string {
	parts := make([]string, len(v.release))
	for i, p := range v.release {
		parts[i] = strconv.Itoa(p)
	}
	s := strings.Join(parts, ".")
	if v.epoch != 0 {
		s = fmt.Sprintf("%d!%s", v.epoch, s)
	}
	if v.pre != nil {
		s += fmt.Sprintf("%s%d", v.pre.phase, v.pre.num)
	}
	if v.post != nil {
		s += fmt.Sprintf(".%s%d", v.post.phase, v.post.num)
	}
	if v.dev != nil {
		s += fmt.Sprintf(".%s%d", v.dev.phase, v.dev.num)
	}
	if v.local != nil {
		s += "+" + strings.Join(v.local, ".")
	}
	return strings.ToLower(s)
}

// Text is the version as written (or normalised when computed).
func (v *Version) Text() string   { return v.text }
func (v *Version) String() string { return v.text }

// Precision is the number of release components.
func (v *Version) Precision() int { return len(v.release) }

func (v *Version) part(i int) int {
	if i < len(v.release) {
		return v.release[i]
	}
	return 0
}

// releaseKey pads major.minor.patch with zeros but leaves extra parts alone,
// as poetry-core's Release compare key does.
func (v *Version) releaseKey() []int {
	k := []int{v.part(0), v.part(1), v.part(2)}
	if len(v.release) > 3 {
		k = append(k, v.release[3:]...)
	}
	return k
}

func cmpInts(a, b []int) int {
	for i := 0; i < len(a) && i < len(b); i++ {
		if a[i] != b[i] {
			if a[i] < b[i] {
				return -1
			}
			return 1
		}
	}
	switch {
	case len(a) < len(b):
		return -1
	case len(a) > len(b):
		return 1
	}
	return 0
}

func (v *Version) preKey() tag {
	switch {
	case v.pre == nil && v.post == nil && v.dev != nil:
		return negInfTag
	case v.pre == nil:
		return infTag
	}
	return *v.pre
}

func (v *Version) postKey() tag {
	if v.post == nil {
		return negInfTag
	}
	return *v.post
}

func (v *Version) devKey() tag {
	if v.dev == nil {
		return infTag
	}
	return *v.dev
}

func cmpLocal(a, b []string) int {
	type seg struct {
		num   int
		isNum bool
		s     string
	}
	conv := func(l []string) []seg {
		if l == nil {
			return []seg{{}}
		}
		out := make([]seg, len(l))
		for i, p := range l {
			if n, err := strconv.Atoi(p); err == nil {
				out[i] = seg{num: n, isNum: true}
			} else {
				out[i] = seg{s: p}
			}
		}
		return out
	}
	x, y := conv(a), conv(b)
	for i := 0; i < len(x) && i < len(y); i++ {
		p, q := x[i], y[i]
		switch {
		case p.isNum && q.isNum:
			if p.num != q.num {
				if p.num < q.num {
					return -1
				}
				return 1
			}
		case p.isNum != q.isNum:
			if p.isNum {
				return 1
			}
			return -1
		default:
			if c := strings.Compare(p.s, q.s); c != 0 {
				return c
			}
		}
	}
	switch {
	case len(x) < len(y):
		return -1
	case len(x) > len(y):
		return 1
	}
	return 0
}

// Compare orders versions by PEP 440 precedence.
func (v *Version) Compare(o *Version) int {
	if v.epoch != o.epoch {
		if v.epoch < o.epoch {
			return -1
		}
		return 1
	}
	if c := cmpInts(v.releaseKey(), o.releaseKey()); c != 0 {
		return c
	}
	if c := cmpTag(v.preKey(), o.preKey()); c != 0 {
		return c
	}
	if c := cmpTag(v.postKey(), o.postKey()); c != 0 {
		return c
	}
	if c := cmpTag(v.devKey(), o.devKey()); c != 0 {
		return c
	}
	return cmpLocal(v.local, o.local)
}

func (v *Version) eqv(o *Version) bool { return v.Compare(o) == 0 }

func (v *Version) IsPrerelease() bool  { return v.pre != nil }
func (v *Version) IsPostrelease() bool { return v.post != nil }
func (v *Version) IsDevrelease() bool  { return v.dev != nil }
func (v *Version) IsLocal() bool       { return v.local != nil }
func (v *Version) IsUnstable() bool    { return v.pre != nil || v.dev != nil }
func (v *Version) IsStable() bool      { return !v.IsUnstable() }

func (v *Version) withoutLocal() *Version {
	return newVersion(v.epoch, v.release, v.pre, v.post, v.dev, nil)
}

func (v *Version) withoutPostrelease() *Version {
	if v.post == nil {
		return v
	}
	return newVersion(v.epoch, v.release, v.pre, nil, nil, v.local)
}

func (v *Version) incrementRequired() bool {
	return v.IsStable() || (v.pre == nil && v.post != nil)
}

func (v *Version) releaseNextMajor() []int {
	r := make([]int, len(v.release))
	r[0] = v.release[0] + 1
	return r
}

func (v *Version) releaseNextMinor() []int {
	n := len(v.release)
	if n < 2 {
		n = 2
	}
	r := make([]int, n)
	r[0] = v.release[0]
	r[1] = v.part(1) + 1
	return r
}

func (v *Version) releaseNextPatch() []int {
	n := len(v.release)
	if n < 3 {
		n = 3
	}
	r := make([]int, n)
	r[0], r[1], r[2] = v.release[0], v.part(1), v.part(2)+1
	return r
}

func releaseLess(a, b []int) bool {
	pad := func(r []int) []int {
		k := []int{0, 0, 0}
		copy(k, r)
		if len(r) > 3 {
			k = append(k, r[3:]...)
		}
		return k
	}
	return cmpInts(pad(a), pad(b)) < 0
}

func (v *Version) nextMajor() *Version {
	r := v.release
	if v.incrementRequired() || releaseLess([]int{v.release[0], 0, 0}, v.release) {
		r = v.releaseNextMajor()
	}
	return newVersion(v.epoch, r, nil, nil, nil, nil)
}

func (v *Version) nextMinor() *Version {
	r := v.release
	if v.incrementRequired() || releaseLess([]int{v.release[0], v.part(1), 0}, v.release) {
		r = v.releaseNextMinor()
	}
	return newVersion(v.epoch, r, nil, nil, nil, nil)
}

func (v *Version) nextPatch() *Version {
	r := v.release
	if v.incrementRequired() || releaseLess([]int{v.release[0], v.part(1), v.part(2)}, v.release) {
		r = v.releaseNextPatch()
	}
	return newVersion(v.epoch, r, nil, nil, nil, nil)
}

func (v *Version) releaseNext() []int {
	switch len(v.release) {
	case 1:
		return v.releaseNextMajor()
	case 2:
		return v.releaseNextMinor()
	case 3:
		return v.releaseNextPatch()
	}
	r := append([]int(nil), v.release...)
	r[len(r)-1]++
	return r
}

func (v *Version) nextStable() *Version {
	r := v.release
	if v.IsStable() {
		r = v.releaseNext()
	}
	return newVersion(v.epoch, r, nil, nil, nil, v.local)
}

func (v *Version) nextPrerelease() *Version {
	var pre *tag
	switch {
	case v.pre != nil && (v.dev == nil || v.post != nil):
		pre = &tag{v.pre.phase, v.pre.num + 1}
	case v.pre != nil:
		pre = v.pre
	default:
		pre = &tag{"a", 0}
	}
	return newVersion(v.epoch, v.release, pre, nil, nil, nil)
}

func (v *Version) nextPostrelease() *Version {
	post := &tag{"post", 0}
	if v.post != nil {
		post = v.post
		if v.dev == nil {
			post = &tag{v.post.phase, v.post.num + 1}
		}
	}
	return newVersion(v.epoch, v.release, v.pre, post, nil, nil)
}

func (v *Version) nextDevrelease() *Version {
	dev := &tag{"dev", 0}
	if v.dev != nil {
		dev = &tag{v.dev.phase, v.dev.num + 1}
	}
	return newVersion(v.epoch, v.release, v.pre, v.post, dev, nil)
}

func (v *Version) firstPrerelease() *Version {
	return newVersion(v.epoch, v.release, &tag{"a", 0}, nil, nil, nil)
}

func (v *Version) firstDevrelease() *Version {
	return newVersion(v.epoch, v.release, v.pre, v.post, &tag{"dev", 0}, nil)
}

func (v *Version) stable() *Version {
	if v.IsStable() {
		return v
	}
	var post *tag
	if v.pre == nil {
		post = v.post
	}
	return newVersion(v.epoch, v.release, nil, post, nil, nil)
}

func (v *Version) nextBreaking() *Version {
	if v.release[0] > 0 || len(v.release) < 2 {
		return v.stable().nextMajor()
	}
	if v.release[1] > 0 || len(v.release) < 3 {
		return v.stable().nextMinor()
	}
	return v.stable().nextPatch()
}

func sameRelease(a, b *Version) bool { return cmpInts(a.releaseKey(), b.releaseKey()) == 0 }

// EqualityKey identifies the version up to PEP 440 equality (1.0 and
// 1.0.0 share a key).
func (v *Version) EqualityKey() string {
	t := func(x tag) string { return fmt.Sprintf("%s%d", x.phase, x.num) }
	return fmt.Sprintf("%d!%v%s%s%s+%v", v.epoch, v.releaseKey(), t(v.preKey()), t(v.postKey()), t(v.devKey()), v.local)
}
