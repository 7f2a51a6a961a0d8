package pep508

import (
	"sort"
	"strings"
	"sync"
)

// poetry-core memoises cnf, dnf and the merging of single markers, and it
// aborts an intersection/union that re-enters itself with the same
// arguments (treating it like a RecursionError). Because a memoised result
// can hide such a re-entry, the caches are part of the semantics and are
// reproduced here. All of this state is guarded by mu; exported functions
// take the lock, internal ones assume it.
var (
	mu         sync.Mutex
	cnfCache   = map[string]Marker{}
	dnfCache   = map[string]Marker{}
	mergeCache = map[string]mergeResult{}
	interStack [][]Marker
	unionStack [][]Marker
)

type mergeResult struct{ m Marker }

// maxCache bounds the memo tables in long-running processes.
const maxCache = 1 << 16

// ResetCaches forgets memoised simplifications, so that a computation
// starts from the same state as a fresh poetry process.
func ResetCaches() {
	begin()
	defer mu.Unlock()
	resetCaches()
}

func resetCaches() {
	cnfCache = map[string]Marker{}
	dnfCache = map[string]Marker{}
	mergeCache = map[string]mergeResult{}
}

func trimCaches() {
	if len(cnfCache)+len(dnfCache)+len(mergeCache) > maxCache {
		resetCaches()
	}
}

type recursionError struct{}

func sameArgs(a, b []Marker) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if !markerEq(a[i], b[i]) {
			return false
		}
	}
	return true
}

func enter(stack *[][]Marker, ms []Marker) {
	for _, args := range *stack {
		if sameArgs(args, ms) {
			panic(recursionError{})
		}
	}
	*stack = append(*stack, ms)
}

func leave(stack *[][]Marker) { *stack = (*stack)[:len(*stack)-1] }

// catchRecursion runs f, reporting whether it was aborted by a re-entry
// or by a normal form too large to compute.
func catchRecursion(f func() Marker) (m Marker, aborted bool) {
	defer func() {
		if r := recover(); r != nil {
			switch r.(type) {
			case recursionError, tooComplexError:
			default:
				panic(r)
			}
			m, aborted = nil, true
		}
	}()
	return f(), false
}

// Normal forms grow exponentially: the DNF of a CNF of n clauses of k
// markers has k^n terms, so that a marker of four two-marker conjunctions
// joined by "or" (some 200 characters) would take poetry-core, and took
// us, longer than anyone waits. A normalisation whose cartesian product
// exceeds maxProduct tuples is abandoned instead, and the marker keeps the
// simpler form already at hand: the same condition, spelt less simply.
const maxProduct = 1 << 13

// maxWork bounds the steps (tuples of a product, pairs compared while
// simplifying) of one call into this package, which nested normalisations
// below maxProduct could otherwise multiply without end: past it, every
// normalisation under way is abandoned the same way, and no call takes more
// than a few seconds. The hardest case of this package's tests takes about
// half of it; the export corpus gives the same output under a bound of
// half this one.
const maxWork = 1 << 19

// work counts the steps of the call under way; begin resets it. left is
// what the Session under way may still spend, over all its calls.
var (
	work      int
	left      int
	inSession bool
	sessions  sync.Mutex
)

// begin takes the lock for a call into this package.
func begin() {
	mu.Lock()
	work = 0
}

// spend counts n steps, abandoning the call past maxWork or past what is
// left of the session's budget.
func spend(n int) {
	work += n
	if inSession {
		left -= n
	}
	if work > maxWork || inSession && left < 0 {
		panic(tooComplexError{})
	}
}

// Session runs fn, whose calls into this package share one budget of
// limit steps: a lock of many markers, each too complex to normalise
// within a call's budget, would otherwise cost a call's budget for each.
// Past it, every normalisation is abandoned as past a call's. Sessions
// run one at a time; fn must not start another.
func Session(limit int, fn func()) {
	sessions.Lock()
	defer sessions.Unlock()
	mu.Lock()
	inSession, left = true, limit
	mu.Unlock()
	defer func() {
		mu.Lock()
		inSession = false
		mu.Unlock()
	}()
	fn()
}

// tooComplexError aborts such a normalisation.
type tooComplexError struct{}

func (tooComplexError) Error() string { return "marker too complex to normalise" }

// bounded runs f, reporting false when a normalisation in it was too
// large; a re-entry still propagates, as in poetry-core.
func bounded(f func() Marker) (m Marker, ok bool) {
	defer func() {
		if r := recover(); r != nil {
			if _, is := r.(tooComplexError); !is {
				panic(r)
			}
			m, ok = nil, false
		}
	}()
	return f(), true
}

func unwrap(m Marker) Marker {
	for {
		switch x := m.(type) {
		case *MultiMarker:
			if len(x.markers) == 1 {
				m = x.markers[0]
				continue
			}
		case *MarkerUnion:
			if len(x.markers) == 1 {
				m = x.markers[0]
				continue
			}
		}
		return m
	}
}

func simplest(cands ...Marker) Marker {
	best := cands[0]
	for _, c := range cands[1:] {
		if cmpComplexity(c.complexity(), best.complexity()) < 0 {
			best = c
		}
	}
	return best
}

// intersection is poetry-core's markers.intersection: normalise to DNF and
// CNF and keep the least complex of those and the plain conjunction.
func intersection(ms ...Marker) Marker {
	enter(&interStack, ms)
	defer leave(&interStack)
	unnorm := unwrap(newMulti(ms...))
	disj, ok := bounded(func() Marker { return dnf(unnorm) })
	if !ok {
		return unnorm
	}
	if _, ok := disj.(*MarkerUnion); !ok {
		return disj
	}
	conj, aborted := catchRecursion(func() Marker { return cnf(disj) })
	if aborted {
		return simplest(disj, unnorm)
	}
	if _, ok := conj.(*MultiMarker); !ok {
		return conj
	}
	return simplest(disj, conj, unnorm)
}

// union is poetry-core's markers.union.
func union(ms ...Marker) Marker {
	enter(&unionStack, ms)
	defer leave(&unionStack)
	unnorm := unwrap(newUnion(ms...))
	conj, ok := bounded(func() Marker { return cnf(unnorm) })
	if !ok {
		return unnorm
	}
	if _, ok := conj.(*MultiMarker); !ok {
		return conj
	}
	disj, aborted := catchRecursion(func() Marker { return dnf(conj) })
	if aborted {
		return simplest(conj, unnorm)
	}
	if _, ok := disj.(*MarkerUnion); !ok {
		return disj
	}
	return simplest(disj, conj, unnorm)
}

// uniqueProduct calls f for each element of the cartesian product of lists,
// skipping tuples whose set of members was already produced.
func uniqueProduct(lists [][]Marker, f func([]Marker)) {
	seen := map[string]bool{}
	idx := make([]int, len(lists))
	size := 1
	for _, l := range lists {
		if len(l) == 0 {
			return
		}
		if size *= len(l); size > maxProduct {
			panic(tooComplexError{})
		}
	}
	spend(size)
	for {
		combo := make([]Marker, len(lists))
		keys := make([]string, len(lists))
		for i, l := range lists {
			combo[i] = l[idx[i]]
			keys[i] = combo[i].key()
		}
		sort.Strings(keys)
		keys = dedupSorted(keys)
		k := strings.Join(keys, "\x00")
		if !seen[k] {
			seen[k] = true
			f(combo)
		}
		i := len(lists) - 1
		for ; i >= 0; i-- {
			idx[i]++
			if idx[i] < len(lists[i]) {
				break
			}
			idx[i] = 0
		}
		if i < 0 {
			return
		}
	}
}

func dedupSorted(s []string) []string {
	out := s[:0]
	for i, x := range s {
		if i == 0 || x != s[i-1] {
			out = append(out, x)
		}
	}
	return out
}

// cnf transforms a marker into conjunctive normal form.
func cnf(m Marker) Marker {
	k := m.key()
	if r, ok := cnfCache[k]; ok {
		return r
	}
	var r Marker
	switch x := m.(type) {
	case *MarkerUnion:
		lists := make([][]Marker, len(x.markers))
		for i, c := range x.markers {
			cm := cnf(c)
			if mm, ok := cm.(*MultiMarker); ok {
				lists[i] = mm.markers
			} else {
				lists[i] = []Marker{cm}
			}
		}
		var parts []Marker
		uniqueProduct(lists, func(c []Marker) { parts = append(parts, unionOf2(c...)) })
		r = multiOf(parts...)
	case *MultiMarker:
		parts := make([]Marker, len(x.markers))
		for i, c := range x.markers {
			parts[i] = cnf(c)
		}
		r = multiOf(parts...)
	default:
		r = m
	}
	cnfCache[k] = r
	return r
}

// dnf transforms a marker into disjunctive normal form.
func dnf(m Marker) Marker {
	k := m.key()
	if r, ok := dnfCache[k]; ok {
		return r
	}
	var r Marker
	switch x := m.(type) {
	case *MultiMarker:
		lists := make([][]Marker, len(x.markers))
		for i, c := range x.markers {
			dm := dnf(c)
			if mu, ok := dm.(*MarkerUnion); ok {
				lists[i] = mu.markers
			} else {
				lists[i] = []Marker{dm}
			}
		}
		var parts []Marker
		uniqueProduct(lists, func(c []Marker) { parts = append(parts, multiOf(c...)) })
		r = unionOf2(parts...)
	case *MarkerUnion:
		parts := make([]Marker, len(x.markers))
		for i, c := range x.markers {
			parts[i] = dnf(c)
		}
		r = unionOf2(parts...)
	default:
		r = m
	}
	dnfCache[k] = r
	return r
}

func sameMarkerList(a, b []Marker) bool { return sameArgs(a, b) }

// multiOf is MultiMarker.of: a conjunction with pairwise simplifications.
func multiOf(ms ...Marker) Marker {
	cur := flattenMarkers(ms, true)
	var old []Marker
	for !sameMarkerList(old, cur) {
		old, cur = cur, nil
		for _, marker := range old {
			if containsMarker(cur, marker) || marker.IsAny() {
				continue
			}
			merged := false
			for i, mark := range cur {
				spend(1)
				var inter Marker
				oneUnion := false
				if u, ok := mark.(*MarkerUnion); ok {
					oneUnion = true
					inter = u.intersectSimplify(marker)
				} else if u, ok := marker.(*MarkerUnion); ok {
					oneUnion = true
					inter = u.intersectSimplify(mark)
				}
				if inter != nil {
					cur[i] = inter
					merged = true
					break
				}
				if s, ok := mark.(singleLike); ok && !oneUnion {
					nm := s.meet(marker)
					if nm.IsEmpty() {
						return EmptyMarker{}
					}
					if _, ok := nm.(singleLike); ok {
						cur[i] = nm
						merged = true
						break
					}
				}
			}
			if merged {
				cur = flattenMarkers(cur, true)
				continue
			}
			cur = append(cur, marker)
		}
	}
	for _, m := range cur {
		if m.IsEmpty() {
			return EmptyMarker{}
		}
	}
	switch len(cur) {
	case 0:
		return AnyMarker{}
	case 1:
		return cur[0]
	}
	return newMulti(cur...)
}

// unionOf2 is MarkerUnion.of: a disjunction with pairwise simplifications.
func unionOf2(ms ...Marker) Marker {
	cur := flattenMarkers(ms, false)
	var old []Marker
	for !sameMarkerList(old, cur) {
		old, cur = cur, nil
		for _, marker := range old {
			if containsMarker(cur, marker) || marker.IsEmpty() {
				continue
			}
			included := false
			for i, mark := range cur {
				spend(1)
				var u Marker
				oneMulti := false
				if m, ok := mark.(*MultiMarker); ok {
					oneMulti = true
					u = m.unionSimplify(marker)
				} else if m, ok := marker.(*MultiMarker); ok {
					oneMulti = true
					u = m.unionSimplify(mark)
				}
				if u != nil {
					cur[i] = u
					included = true
					break
				}
				if s, ok := mark.(singleLike); ok && !oneMulti {
					nm := s.join(marker)
					if nm.IsAny() {
						return AnyMarker{}
					}
					_, single := nm.(singleLike)
					mm, multi := nm.(*MultiMarker)
					if single || (multi && cmpComplexity(mm.complexity(), [2]int{2, 2}) <= 0) {
						cur[i] = nm
						included = true
						break
					}
				}
			}
			if included {
				cur = flattenMarkers(cur, false)
				continue
			}
			cur = append(cur, marker)
		}
	}
	for _, m := range cur {
		if m.IsAny() {
			return AnyMarker{}
		}
	}
	switch len(cur) {
	case 0:
		return EmptyMarker{}
	case 1:
		return cur[0]
	}
	return newUnion(cur...)
}

func subsetMarkers(a, b []Marker) bool {
	for _, x := range a {
		if !containsMarker(b, x) {
			return false
		}
	}
	return true
}

func splitShared(a, b []Marker) (shared, uniqueA, uniqueB []Marker) {
	for _, x := range a {
		if containsMarker(b, x) {
			shared = append(shared, x)
		} else {
			uniqueA = append(uniqueA, x)
		}
	}
	for _, x := range b {
		if !containsMarker(a, x) {
			uniqueB = append(uniqueB, x)
		}
	}
	return
}

func isPythonSingle(m Marker) (*SingleMarker, bool) {
	s, ok := m.(*SingleMarker)
	return s, ok && pythonVersionMarkers[s.nm]
}

// unionSimplify finds easy simplifications for `m or other`; nil if none.
func (m *MultiMarker) unionSimplify(other Marker) Marker {
	if containsMarker(m.markers, other) {
		return other
	}
	if o, ok := isPythonSingle(other); ok {
		for _, x := range m.markers {
			if s, ok := isPythonSingle(x); ok {
				if pythonConstraint(o).AllowsAll(pythonConstraint(s)) {
					return other
				}
			}
		}
	}
	om, ok := other.(*MultiMarker)
	if !ok {
		return nil
	}
	if subsetMarkers(m.markers, om.markers) {
		return m
	}
	if subsetMarkers(om.markers, m.markers) {
		return other
	}
	shared, ua, ub := splitShared(m.markers, om.markers)
	if len(shared) == 0 {
		return nil
	}
	uu := newMulti(ua...).join(newMulti(ub...))
	_, single := uu.(singleLike)
	mm, multi := uu.(*MultiMarker)
	if single || uu.IsAny() || (multi && cmpComplexity(mm.complexity(), [2]int{2, 2}) <= 0) {
		return uu.meet(newMulti(shared...))
	}
	return nil
}

// intersectSimplify finds easy simplifications for `m and other`; nil if
// none.
func (m *MarkerUnion) intersectSimplify(other Marker) Marker {
	if containsMarker(m.markers, other) {
		return other
	}
	if o, ok := isPythonSingle(other); ok {
		for _, x := range m.markers {
			if s, ok := isPythonSingle(x); ok {
				if pythonConstraint(s).AllowsAll(pythonConstraint(o)) {
					return other
				}
			}
		}
	}
	ou, ok := other.(*MarkerUnion)
	if !ok {
		return nil
	}
	if subsetMarkers(m.markers, ou.markers) {
		return m
	}
	if subsetMarkers(ou.markers, m.markers) {
		return other
	}
	shared, ua, ub := splitShared(m.markers, ou.markers)
	if len(shared) == 0 {
		return nil
	}
	ui := newUnion(ua...).meet(newUnion(ub...))
	_, single := ui.(singleLike)
	mu, isUnion := ui.(*MarkerUnion)
	if single || ui.IsEmpty() || (isUnion && cmpComplexity(mu.complexity(), [2]int{2, 2}) <= 0) {
		return ui.join(newUnion(shared...))
	}
	return nil
}

// mergeSingleMarkers combines two markers on the same name into one when
// possible (nil when not), as _merge_single_markers.
func mergeSingleMarkers(m1, m2 singleLike, isUnion bool) Marker {
	k := m1.key() + "\x00" + m2.key()
	if isUnion {
		k += "\x00U"
	}
	if r, ok := mergeCache[k]; ok {
		return r.m
	}
	r := mergeSingle(m1, m2, isUnion)
	mergeCache[k] = mergeResult{r}
	return r
}

func mergeSingle(m1, m2 singleLike, isUnion bool) Marker {
	n1, n2 := m1.name(), m2.name()
	if n1 != n2 && pythonVersionMarkers[n1] && pythonVersionMarkers[n2] {
		return mergePythonVersions(m1.(*SingleMarker), m2.(*SingleMarker), isUnion)
	}
	if n1 != n2 {
		return nil
	}
	if m1.vc() != nil {
		c1, c2 := m1.vc(), m2.vc()
		var r VersionConstraint
		if isUnion {
			r = c1.Union(c2)
		} else {
			r = c1.Intersect(c2)
		}
		switch {
		case r.IsEmpty():
			return EmptyMarker{}
		case r.IsAny():
			return AnyMarker{}
		case vcEqual(r, c1):
			return m1
		case vcEqual(r, c2):
			return m2
		case r.IsSimple():
			return singleFromConstraint(n1, r)
		}
		if n1 != "python_version" {
			return nil
		}
		if rr, ok := r.(*VersionRange); ok && !isUnion {
			var result Marker
			if rr.min != nil {
				cand := mustParse(`python_version == "` + rr.min.text + `"`)
				if vcEqual(pythonConstraint(cand), rr) {
					result = cand
				}
			}
			if result == nil {
				if pythonConstraint(m1).Intersect(pythonConstraint(m2)).IsEmpty() {
					result = EmptyMarker{}
				}
			}
			return result
		}
		if _, ok := r.(*VersionUnion); ok && isUnion {
			rc := pythonConstraint(m1).Union(pythonConstraint(m2))
			switch {
			case rc.IsAny():
				return AnyMarker{}
			case rc.IsSimple():
				return singleFromConstraint(n1, rc)
			}
			if rr, ok := rc.(*VersionRange); ok {
				return newMulti(
					singleFromConstraint(n1, NewVersionRange(rr.min, nil, rr.incMin, false)),
					singleFromConstraint(n1, NewVersionRange(nil, rr.max, false, rr.incMax)),
				)
			}
		}
		return nil
	}
	c1, c2 := m1.gc(), m2.gc()
	var r genericC
	if isUnion {
		r = c1.union(c2)
	} else {
		r = c1.intersect(c2)
	}
	switch {
	case r.isEmpty():
		return EmptyMarker{}
	case r.isAny():
		return AnyMarker{}
	case r.key() == c1.key():
		return m1
	case r.key() == c2.key():
		return m2
	}
	extra := n1 == "extra"
	switch x := r.(type) {
	case *gConstraint:
		return singleFromConstraint(n1, x)
	case *gUnion:
		for _, c := range x.cs {
			gc, ok := c.(*gConstraint)
			if !ok || !(gc.op == "==" || (extra && gc.op == "!=")) {
				return nil
			}
		}
		return &atomicUnion{nm: n1, c: x}
	case *gMulti:
		for _, c := range x.cs {
			if !(c.op == "!=" || (extra && c.op == "==")) {
				return nil
			}
		}
		return &atomicMulti{nm: n1, c: x}
	}
	return nil
}

// mergePythonVersions merges a python_version with a python_full_version
// marker through their version constraints.
func mergePythonVersions(m1, m2 *SingleMarker, isUnion bool) Marker {
	vm, fm := m2, m1
	if m1.nm == "python_version" {
		vm, fm = m1, m2
	}
	norm := singleFromConstraint("python_full_version", pythonConstraint(vm)).(*SingleMarker)
	merged := mergeSingleMarkers(norm, fm, isUnion)
	if merged != nil && markerEq(merged, norm) {
		return vm
	}
	if sm, ok := merged.(*SingleMarker); ok {
		s := sm.String()
		precision := strings.Count(s, ".") + 1
		target := 3
		if precision < target {
			if sm.op == "<" || sm.op == ">=" {
				target = 2
				s = strings.ReplaceAll(s, "python_full_version", "python_version")
			}
			s = s[:len(s)-1] + strings.Repeat(".0", target-precision) + `"`
		} else if precision == target && (sm.op == "<" || sm.op == ">=") && strings.HasSuffix(s[:len(s)-1], ".0") {
			s = strings.ReplaceAll(s, "python_full_version", "python_version")
			s = s[:len(s)-3] + `"`
		}
		merged = mustParse(s)
	}
	return merged
}
