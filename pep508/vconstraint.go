package pep508

import (
	"sort"
	"strings"
)

// VersionConstraint is a set of versions: a single *Version, a *VersionRange,
// a *VersionUnion of disjoint ranges, or the empty set.
type VersionConstraint interface {
	IsEmpty() bool
	IsAny() bool
	IsSimple() bool
	Allows(v *Version) bool
	AllowsAll(o VersionConstraint) bool
	AllowsAny(o VersionConstraint) bool
	Intersect(o VersionConstraint) VersionConstraint
	Union(o VersionConstraint) VersionConstraint
	Difference(o VersionConstraint) VersionConstraint
	String() string
	flatten() []rangeC
}

// rangeC is poetry-core's VersionRangeConstraint: a Version or a VersionRange.
type rangeC interface {
	VersionConstraint
	lo() *Version
	hi() *Version
	incLo() bool
	incHi() bool
}

// EmptyVersion is the empty version constraint.
type EmptyVersion struct{}

func (EmptyVersion) IsEmpty() bool                                   { return true }
func (EmptyVersion) IsAny() bool                                     { return false }
func (EmptyVersion) IsSimple() bool                                  { return true }
func (EmptyVersion) Allows(*Version) bool                            { return false }
func (EmptyVersion) AllowsAll(o VersionConstraint) bool              { return o.IsEmpty() }
func (EmptyVersion) AllowsAny(VersionConstraint) bool                { return false }
func (e EmptyVersion) Intersect(VersionConstraint) VersionConstraint { return e }
func (EmptyVersion) Union(o VersionConstraint) VersionConstraint     { return o }
func (e EmptyVersion) Difference(VersionConstraint) VersionConstraint {
	return e
}
func (EmptyVersion) String() string    { return "<empty>" }
func (EmptyVersion) flatten() []rangeC { return nil }

// --- Version as a constraint ---

func (v *Version) IsEmpty() bool     { return false }
func (v *Version) IsAny() bool       { return false }
func (v *Version) IsSimple() bool    { return true }
func (v *Version) lo() *Version      { return v }
func (v *Version) hi() *Version      { return v }
func (v *Version) incLo() bool       { return true }
func (v *Version) incHi() bool       { return true }
func (v *Version) flatten() []rangeC { return []rangeC{v} }
func (v *Version) Allows(o *Version) bool {
	if o == nil {
		return false
	}
	if !v.IsLocal() && o.IsLocal() {
		o = o.withoutLocal()
	}
	return v.eqv(o)
}

func (v *Version) AllowsAll(o VersionConstraint) bool {
	if o.IsEmpty() {
		return true
	}
	if ov, ok := o.(*Version); ok {
		return v.Allows(ov)
	}
	return vcEqual(o, v)
}

func (v *Version) AllowsAny(o VersionConstraint) bool {
	if ov, ok := o.(*Version); ok {
		return v.Allows(ov)
	}
	return o.Allows(v)
}

func (v *Version) Intersect(o VersionConstraint) VersionConstraint {
	if o.Allows(v) {
		return v
	}
	if ov, ok := o.(*Version); ok && v.Allows(ov) {
		return ov
	}
	return EmptyVersion{}
}

func (v *Version) Union(o VersionConstraint) VersionConstraint {
	if o.Allows(v) {
		return o
	}
	if r, ok := o.(rangeC); ok {
		if v.Allows(r.lo()) {
			return NewVersionRange(r.lo(), r.hi(), true, r.incHi())
		}
		if v.Allows(r.hi()) {
			return NewVersionRange(r.lo(), r.hi(), r.incLo(), true)
		}
	}
	return unionOf(v, o)
}

func (v *Version) Difference(o VersionConstraint) VersionConstraint {
	if o.Allows(v) {
		return EmptyVersion{}
	}
	return v
}

// --- VersionRange ---

// VersionRange is an interval of versions; nil bounds are unbounded.
type VersionRange struct {
	min, max       *Version
	incMin, incMax bool
	fullMax        *Version
}

// NewVersionRange builds a range. An exclusive stable upper bound also
// excludes its pre-releases, as in poetry-core.
func NewVersionRange(min, max *Version, incMin, incMax bool) *VersionRange {
	full := max
	if !incMax && full != nil && full.IsStable() && !full.IsPostrelease() &&
		(min == nil || min.IsStable() || !sameRelease(min, full)) {
		full = full.firstPrerelease()
	}
	return &VersionRange{min: min, max: max, incMin: incMin, incMax: incMax, fullMax: full}
}

func anyRange() *VersionRange { return NewVersionRange(nil, nil, false, false) }

func (r *VersionRange) lo() *Version  { return r.min }
func (r *VersionRange) hi() *Version  { return r.max }
func (r *VersionRange) incLo() bool   { return r.incMin }
func (r *VersionRange) incHi() bool   { return r.incMax }
func (r *VersionRange) IsEmpty() bool { return false }
func (r *VersionRange) IsAny() bool   { return r.min == nil && r.max == nil }
func (r *VersionRange) IsSimple() bool {
	return r.min == nil || r.max == nil
}
func (r *VersionRange) flatten() []rangeC { return []rangeC{r} }

func (r *VersionRange) Allows(o *Version) bool {
	if r.min != nil {
		if o.Compare(r.min) < 0 {
			return false
		}
		if !r.incMin && o.eqv(r.min) {
			return false
		}
	}
	if r.fullMax != nil {
		this, other := r.fullMax, o
		if !this.IsLocal() && other.IsLocal() {
			other = other.withoutLocal()
		}
		if !this.IsPostrelease() && other.IsPostrelease() {
			other = other.withoutPostrelease()
		}
		if other.Compare(this) > 0 {
			return false
		}
		if !r.incMax && other.eqv(this) {
			return false
		}
	}
	return true
}

func (r *VersionRange) AllowsAll(o VersionConstraint) bool {
	if o.IsEmpty() {
		return true
	}
	switch o := o.(type) {
	case *Version:
		return r.Allows(o)
	case *VersionUnion:
		for _, c := range o.ranges {
			if !r.AllowsAll(c) {
				return false
			}
		}
		return true
	case rangeC:
		return !allowsLower(o, r) && !allowsHigher(o, r)
	}
	return false
}

func (r *VersionRange) AllowsAny(o VersionConstraint) bool {
	if o.IsEmpty() {
		return false
	}
	switch o := o.(type) {
	case *Version:
		return r.Allows(o)
	case *VersionUnion:
		for _, c := range o.ranges {
			if r.AllowsAny(c) {
				return true
			}
		}
		return false
	case rangeC:
		return !isStrictlyLower(o, r) && !isStrictlyHigher(o, r)
	}
	return false
}

func (r *VersionRange) Intersect(o VersionConstraint) VersionConstraint {
	if o.IsEmpty() {
		return o
	}
	if u, ok := o.(*VersionUnion); ok {
		return u.Intersect(r)
	}
	if v, ok := o.(*Version); ok {
		if r.Allows(v) {
			return v
		}
		return EmptyVersion{}
	}
	other := o.(rangeC)
	var imin *Version
	var iincMin bool
	if allowsLower(r, other) {
		if isStrictlyLower(r, other) {
			return EmptyVersion{}
		}
		imin, iincMin = other.lo(), other.incLo()
	} else {
		if isStrictlyLower(other, r) {
			return EmptyVersion{}
		}
		imin, iincMin = r.min, r.incMin
	}
	var imax *Version
	var iincMax bool
	if allowsHigher(r, other) {
		imax, iincMax = other.hi(), other.incHi()
	} else {
		imax, iincMax = r.max, r.incMax
	}
	if imin == nil && imax == nil {
		return anyRange()
	}
	if optEq(imin, imax) {
		return imin
	}
	return NewVersionRange(imin, imax, iincMin, iincMax)
}

func (r *VersionRange) Union(o VersionConstraint) VersionConstraint {
	if v, ok := o.(*Version); ok {
		if r.Allows(v) {
			return r
		}
		if optEq(v, r.min) {
			return NewVersionRange(r.min, r.max, true, r.incMax)
		}
		if optEq(v, r.max) {
			return NewVersionRange(r.min, r.max, r.incMin, true)
		}
		return unionOf(r, v)
	}
	if other, ok := o.(rangeC); ok {
		edgesTouch := (optEq(r.max, other.lo()) && (r.incMax || other.incLo())) ||
			(optEq(r.min, other.hi()) && (r.incMin || other.incHi()))
		if !edgesTouch && !r.AllowsAny(other) {
			return unionOf(r, other)
		}
		umin, uincMin := other.lo(), other.incLo()
		if allowsLower(r, other) {
			umin, uincMin = r.min, r.incMin
		}
		umax, uincMax := other.hi(), other.incHi()
		if allowsHigher(r, other) {
			umax, uincMax = r.max, r.incMax
		}
		return NewVersionRange(umin, umax, uincMin, uincMax)
	}
	return unionOf(r, o)
}

func (r *VersionRange) Difference(o VersionConstraint) VersionConstraint {
	if o.IsEmpty() {
		return r
	}
	switch other := o.(type) {
	case *Version:
		if !r.Allows(other) {
			return r
		}
		if optEq(other, r.min) {
			if !r.incMin {
				return r
			}
			return NewVersionRange(r.min, r.max, false, r.incMax)
		}
		if optEq(other, r.max) {
			if !r.incMax {
				return r
			}
			return NewVersionRange(r.min, r.max, r.incMin, false)
		}
		return unionOf(NewVersionRange(r.min, other, r.incMin, false), NewVersionRange(other, r.max, false, r.incMax))
	case *VersionRange:
		if !r.AllowsAny(other) {
			return r
		}
		var before, after VersionConstraint
		switch {
		case !allowsLower(r, other):
		case optEq(r.min, other.min):
			before = r.min
		default:
			before = NewVersionRange(r.min, other.min, r.incMin, !other.incMin)
		}
		switch {
		case !allowsHigher(r, other):
		case optEq(r.max, other.max):
			after = r.max
		default:
			after = NewVersionRange(other.max, r.max, !other.incMax, r.incMax)
		}
		// A nil *Version stored in an interface is not nil: normalise.
		if v, ok := before.(*Version); ok && v == nil {
			before = nil
		}
		if v, ok := after.(*Version); ok && v == nil {
			after = nil
		}
		switch {
		case before == nil && after == nil:
			return EmptyVersion{}
		case before == nil:
			return after
		case after == nil:
			return before
		}
		return unionOf(before, after)
	case *VersionUnion:
		var ranges []VersionConstraint
		var current rangeC = r
		for _, rg := range other.ranges {
			if isStrictlyLower(rg, current) {
				continue
			}
			if isStrictlyHigher(rg, current) {
				break
			}
			diff := current.Difference(rg)
			if diff.IsEmpty() {
				return EmptyVersion{}
			}
			if u, ok := diff.(*VersionUnion); ok {
				ranges = append(ranges, u.ranges[0])
				current = u.ranges[len(u.ranges)-1]
			} else {
				current = diff.(rangeC)
			}
		}
		if len(ranges) == 0 {
			return current
		}
		return unionOf(append(ranges, current)...)
	}
	return r
}

func (r *VersionRange) String() string {
	var b strings.Builder
	if r.min != nil {
		if r.incMin {
			b.WriteString(">=")
		} else {
			b.WriteString(">")
		}
		b.WriteString(r.min.text)
	}
	if r.max != nil {
		if r.min != nil {
			b.WriteString(",")
		}
		if r.incMax {
			b.WriteString("<=")
		} else {
			b.WriteString("<")
		}
		b.WriteString(r.max.text)
	}
	if r.min == nil && r.max == nil {
		return "*"
	}
	return b.String()
}

// optEq compares optional bounds the way Python compares Version-or-None.
func optEq(a, b *Version) bool {
	if a == nil || b == nil {
		return a == nil && b == nil
	}
	return a.eqv(b)
}

func allowedMax(r rangeC) *Version {
	max := r.hi()
	if max == nil {
		return nil
	}
	if r.incHi() || max.IsUnstable() {
		return max
	}
	if min := r.lo(); min != nil && min.eqv(max) && (r.incLo() || r.incHi()) {
		return max
	}
	return max.firstDevrelease()
}

func allowsLower(a, b rangeC) bool {
	this, other := a.lo(), b.lo()
	if this == nil {
		return other != nil
	}
	if other == nil {
		return false
	}
	if c := this.Compare(other); c != 0 {
		return c < 0
	}
	return a.incLo() && !b.incLo()
}

func allowsHigher(a, b rangeC) bool {
	this, other := allowedMax(a), allowedMax(b)
	if this == nil {
		return other != nil
	}
	if other == nil {
		return false
	}
	if c := this.Compare(other); c != 0 {
		return c > 0
	}
	return a.incHi() && !b.incHi()
}

func isStrictlyLower(a, b rangeC) bool {
	this, other := allowedMax(a), b.lo()
	if this == nil || other == nil {
		return false
	}
	if c := this.Compare(other); c != 0 {
		return c < 0
	}
	return !(a.incHi() && b.incLo())
}

func isStrictlyHigher(a, b rangeC) bool { return isStrictlyLower(b, a) }

func isAdjacentTo(a, b rangeC) bool {
	if !optEq(a.hi(), b.lo()) {
		return false
	}
	return (a.incHi() && !b.incLo()) || (!a.incHi() && b.incLo())
}

// cmpRanges is VersionRange._cmp, used to sort union members.
func cmpRanges(a, b rangeC) int {
	if a.lo() == nil {
		if b.lo() == nil {
			return cmpMax(a, b)
		}
		return -1
	} else if b.lo() == nil {
		return 1
	}
	if c := a.lo().Compare(b.lo()); c != 0 {
		return c
	}
	if a.incLo() != b.incLo() {
		if a.incLo() {
			return -1
		}
		return 1
	}
	return cmpMax(a, b)
}

func cmpMax(a, b rangeC) int {
	if a.hi() == nil {
		if b.hi() == nil {
			return 0
		}
		return 1
	} else if b.hi() == nil {
		return -1
	}
	if c := a.hi().Compare(b.hi()); c != 0 {
		return c
	}
	if a.incHi() != b.incHi() {
		if a.incHi() {
			return 1
		}
		return -1
	}
	return 0
}

// vcEqual is Python's == between version constraints.
func vcEqual(a, b VersionConstraint) bool {
	switch a := a.(type) {
	case *Version:
		switch b := b.(type) {
		case *Version:
			return a.eqv(b)
		case *VersionRange:
			return optEq(a, b.min) && optEq(a, b.max) && (b.incMin || b.incMax)
		}
		return false
	case *VersionRange:
		if b, ok := b.(rangeC); ok {
			return optEq(a.min, b.lo()) && optEq(a.max, b.hi()) && a.incMin == b.incLo() && a.incMax == b.incHi()
		}
		return false
	case *VersionUnion:
		b, ok := b.(*VersionUnion)
		if !ok || len(a.ranges) != len(b.ranges) {
			return false
		}
		for i := range a.ranges {
			if !vcEqual(a.ranges[i], b.ranges[i]) {
				return false
			}
		}
		return true
	case EmptyVersion:
		_, ok := b.(EmptyVersion)
		return ok
	}
	return false
}

// --- VersionUnion ---

// VersionUnion is a union of disjoint, sorted ranges.
type VersionUnion struct {
	ranges []rangeC
}

// unionOf is VersionUnion.of: it merges touching ranges.
func unionOf(cs ...VersionConstraint) VersionConstraint {
	var flat []rangeC
	for _, c := range cs {
		if c.IsEmpty() {
			continue
		}
		if u, ok := c.(*VersionUnion); ok {
			flat = append(flat, u.ranges...)
			continue
		}
		flat = append(flat, c.(rangeC))
	}
	if len(flat) == 0 {
		return EmptyVersion{}
	}
	for _, c := range flat {
		if c.IsAny() {
			return anyRange()
		}
	}
	sort.SliceStable(flat, func(i, j int) bool { return cmpRanges(flat[i], flat[j]) < 0 })
	var merged []rangeC
	for _, c := range flat {
		if len(merged) == 0 || (!merged[len(merged)-1].AllowsAny(c) && !isAdjacentTo(merged[len(merged)-1], c)) {
			merged = append(merged, c)
		} else {
			merged[len(merged)-1] = merged[len(merged)-1].Union(c).(rangeC)
		}
	}
	if len(merged) == 1 {
		return merged[0]
	}
	return &VersionUnion{ranges: merged}
}

func (u *VersionUnion) IsEmpty() bool     { return false }
func (u *VersionUnion) IsAny() bool       { return false }
func (u *VersionUnion) IsSimple() bool    { return u.excludesSingleVersion() }
func (u *VersionUnion) flatten() []rangeC { return u.ranges }

func (u *VersionUnion) excludesSingleVersion() bool {
	_, ok := anyRange().Difference(u).(*Version)
	return ok
}

func (u *VersionUnion) Allows(v *Version) bool {
	for _, r := range u.ranges {
		if r.Allows(v) {
			return true
		}
	}
	return false
}

func (u *VersionUnion) AllowsAll(o VersionConstraint) bool {
	ours, theirs := u.ranges, o.flatten()
	i, j := 0, 0
	for i < len(ours) && j < len(theirs) {
		if ours[i].AllowsAll(theirs[j]) {
			j++
		} else {
			i++
		}
	}
	return j >= len(theirs)
}

func (u *VersionUnion) AllowsAny(o VersionConstraint) bool {
	ours, theirs := u.ranges, o.flatten()
	i, j := 0, 0
	for i < len(ours) && j < len(theirs) {
		if ours[i].AllowsAny(theirs[j]) {
			return true
		}
		if allowsHigher(theirs[j], ours[i]) {
			i++
		} else {
			j++
		}
	}
	return false
}

func (u *VersionUnion) Intersect(o VersionConstraint) VersionConstraint {
	ours, theirs := u.ranges, o.flatten()
	var out []VersionConstraint
	i, j := 0, 0
	for i < len(ours) && j < len(theirs) {
		if x := ours[i].Intersect(theirs[j]); !x.IsEmpty() {
			out = append(out, x)
		}
		if allowsHigher(theirs[j], ours[i]) {
			i++
		} else {
			j++
		}
	}
	return unionOf(out...)
}

func (u *VersionUnion) Union(o VersionConstraint) VersionConstraint { return unionOf(u, o) }

func (u *VersionUnion) Difference(o VersionConstraint) VersionConstraint {
	ours, theirs := u.ranges, o.flatten()
	var out []VersionConstraint
	oi, ti := 0, 0
	if len(ours) == 0 {
		return EmptyVersion{}
	}
	current := ours[0]
	oi = 1
	theirNext := func() bool {
		ti++
		if ti < len(theirs) {
			return true
		}
		out = append(out, current)
		for ; oi < len(ours); oi++ {
			out = append(out, ours[oi])
		}
		return false
	}
	ourNext := func(include bool) bool {
		if include {
			out = append(out, current)
		}
		if oi >= len(ours) {
			return false
		}
		current = ours[oi]
		oi++
		return true
	}
	for ti < len(theirs) {
		their := theirs[ti]
		if isStrictlyLower(their, current) {
			if !theirNext() {
				break
			}
			continue
		}
		if isStrictlyHigher(their, current) {
			if !ourNext(true) {
				break
			}
			continue
		}
		diff := current.Difference(their)
		if du, ok := diff.(*VersionUnion); ok {
			out = append(out, du.ranges[0])
			current = du.ranges[len(du.ranges)-1]
			if !theirNext() {
				break
			}
		} else if diff.IsEmpty() {
			if !ourNext(false) {
				break
			}
		} else {
			current = diff.(rangeC)
			if allowsHigher(current, their) {
				if !theirNext() {
					break
				}
			} else if !ourNext(true) {
				break
			}
		}
	}
	if len(out) == 0 {
		return EmptyVersion{}
	}
	if len(out) == 1 {
		return out[0]
	}
	return unionOf(out...)
}

func (u *VersionUnion) String() string {
	if d, ok := anyRange().Difference(u).(*Version); ok {
		return "!=" + d.String()
	}
	parts := make([]string, len(u.ranges))
	for i, r := range u.ranges {
		parts[i] = r.String()
	}
	return strings.Join(parts, " || ")
}

// Min and Max are the range's bounds (nil when unbounded).
func (r *VersionRange) Min() *Version { return r.min }
func (r *VersionRange) Max() *Version { return r.max }

// ConstraintsEqual is Python's == between version constraints (so 3.6 and
// 3.6.0 are equal).
func ConstraintsEqual(a, b VersionConstraint) bool { return vcEqual(a, b) }
