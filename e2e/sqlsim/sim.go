// Package sqlsim plays a small cluster's life and records it as the
// recorder does, into store hours: ReplicaSets, StatefulSets, a Job, bare
// pods and a DaemonSet on a few nodes; nodes that fail (NotReady, Unknown,
// deleted) at random and come back, their pods evicted a little later and
// replaced after a random delay (a StatefulSet's under the same name, a bare
// pod sometimes, by hand); rollouts. Every running pod is observed every
// Interval, so hours have what real ones have: stays across an hour's edge,
// last seen known to its step, several placements of a pod in an hour. The
// SQL tests compare docs/sql.md's queries over these hours' tables with the
// history package's answers, over more cases than a live cluster plays.
package sqlsim

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"time"

	"github.com/pod-ashiato/ashiato/src/store"
)

type pod struct {
	ref       store.PodRef
	owner     store.Owner
	node      string
	from      time.Time // scheduled on node
	until     time.Time // gone (zero: still running)
	dsNode    string    // DaemonSet pod: its node
	stopSince time.Time // not observed since (node lost)
}

type sim struct {
	rnd      *rand.Rand
	start    time.Time
	end      time.Time
	nodes    []string
	down     map[string]bool
	pods     []*pod
	events   []store.NodeEvent
	seq      int
	interval time.Duration
	pending  []timed
}

// Options say what to play; the same Options play the same life.
type Options struct {
	Seed     uint64
	Start    time.Time // an hour
	Hours    int
	Nodes    int
	Interval time.Duration // observation interval
}

// Simulate returns the hours of one cluster, oldest first: Hours hours from
// Start (an hour's start), the actions at random times within them.
func Simulate(o Options) []*store.Hour {
	s := &sim{rnd: rand.New(rand.NewPCG(o.Seed, o.Seed*7+1)), start: o.Start, end: o.Start.Add(time.Duration(o.Hours) * time.Hour),
		down: map[string]bool{}, interval: o.Interval}
	for i := range o.Nodes {
		s.nodes = append(s.nodes, fmt.Sprintf("node-%d", i))
	}
	for _, n := range s.nodes {
		s.event(o.Start, n, "node_added", "")
		s.event(o.Start, n, "node_ready", "KubeletReady")
	}
	// Workloads at the start.
	for range 5 {
		s.newPod(o.Start, "shop", "web-7d9f-"+s.name(), store.Owner{Kind: "ReplicaSet", Name: "web-7d9f"}, "")
	}
	for i := range 3 {
		s.newPod(o.Start, "shop", "api-55c4-"+s.name(), store.Owner{Kind: "ReplicaSet", Name: "api-55c4"}, "")
		s.newPod(o.Start, "data", fmt.Sprintf("db-%d", i), store.Owner{Kind: "StatefulSet", Name: "db"}, "")
	}
	s.newPod(o.Start, "batch", "report-1-"+s.name(), store.Owner{Kind: "Job", Name: "report-1"}, "")
	s.newPod(o.Start, "shop", "debug", store.Owner{}, "")
	s.newPod(o.Start, "shop", "toolbox", store.Owner{}, "")
	for _, n := range s.nodes {
		s.newPod(o.Start, "monitoring", "agent-"+s.name(), store.Owner{Kind: "DaemonSet", Name: "agent"}, n)
	}
	// Failures and rollouts at random times.
	type act struct {
		at time.Time
		f  func(time.Time)
	}
	var acts []act
	span := s.end.Sub(s.start)
	for range o.Hours * 2 {
		at := s.start.Add(time.Duration(s.rnd.Int64N(int64(span)))).Truncate(time.Second)
		if s.rnd.IntN(3) == 0 {
			acts = append(acts, act{at, s.rollout})
		} else {
			acts = append(acts, act{at, s.fail})
		}
	}
	slices.SortFunc(acts, func(a, b act) int { return a.at.Compare(b.at) })
	// Play: the actions and their consequences, in time order.
	for _, a := range acts {
		s.later(a.at, a.f)
	}
	for len(s.pending) > 0 {
		slices.SortStableFunc(s.pending, func(a, b timed) int { return a.at.Compare(b.at) })
		next := s.pending[0]
		s.pending = s.pending[1:]
		if next.at.After(s.end) {
			continue
		}
		next.f(next.at)
	}
	return s.record()
}

type timed struct {
	at time.Time
	f  func(time.Time)
}

func (s *sim) later(at time.Time, f func(time.Time)) {
	s.pending = append(s.pending, timed{at, f})
}

func (s *sim) name() string {
	const letters = "bcdfghjklmnpqrstvwxz2456789"
	b := make([]byte, 5)
	for i := range b {
		b[i] = letters[s.rnd.IntN(len(letters))]
	}
	return string(b)
}

func (s *sim) event(at time.Time, node, ev, reason string) {
	s.events = append(s.events, store.NodeEvent{Node: node, At: at.Truncate(time.Second), Event: ev, Reason: reason})
}

// up are the nodes not down.
func (s *sim) up() []string {
	var out []string
	for _, n := range s.nodes {
		if !s.down[n] {
			out = append(out, n)
		}
	}
	return out
}

func (s *sim) newPod(at time.Time, ns, name string, o store.Owner, dsNode string) {
	node := dsNode
	if node == "" {
		up := s.up()
		if len(up) == 0 {
			s.later(at.Add(time.Minute), func(t time.Time) { s.newPod(t, ns, name, o, dsNode) })
			return
		}
		node = up[s.rnd.IntN(len(up))]
	}
	s.pods = append(s.pods, &pod{ref: store.PodRef{Namespace: ns, Name: name}, owner: o, node: node, from: at, dsNode: dsNode})
}

func (s *sim) running(node string, at time.Time) []*pod {
	var out []*pod
	for _, p := range s.pods {
		if p.node == node && !p.from.After(at) && p.until.IsZero() {
			out = append(out, p)
		}
	}
	return out
}

// replace ends p at at and makes its owner's replacement after a delay.
func (s *sim) replace(p *pod, at time.Time, delay time.Duration) {
	p.until = at
	switch p.owner.Kind {
	case "StatefulSet":
		s.later(at.Add(delay), func(t time.Time) { s.newPod(t, p.ref.Namespace, p.ref.Name, p.owner, "") })
	case "":
		if s.rnd.IntN(2) == 0 { // an operator recreates it, sometimes
			s.later(at.Add(delay), func(t time.Time) { s.newPod(t, p.ref.Namespace, p.ref.Name, p.owner, "") })
		}
	case "DaemonSet":
	default:
		base := p.owner.Name
		s.later(at.Add(delay), func(t time.Time) { s.newPod(t, p.ref.Namespace, base+"-"+s.name(), p.owner, "") })
	}
}

func (s *sim) fail(at time.Time) {
	up := s.up()
	if len(up) < 2 {
		return
	}
	node := up[s.rnd.IntN(len(up))]
	s.down[node] = true
	if s.rnd.IntN(4) == 0 {
		s.event(at.Add(-20*time.Second), node, "node_not_ready", "KubeletNotReady")
	}
	kind := "node_unknown"
	if s.rnd.IntN(6) == 0 {
		kind = "node_deleted"
	}
	s.event(at, node, kind, "")
	s.event(at, node, "node_tainted", "node.kubernetes.io/unreachable:NoExecute")
	evict := at.Add(time.Duration(s.rnd.IntN(90)) * time.Second)
	for _, p := range s.running(node, at) {
		p.stopSince = at
		if p.dsNode != "" {
			continue
		}
		// Evicted: gone at evict, replaced after a delay.
		pp := p
		s.later(evict, func(t time.Time) {
			if pp.until.IsZero() {
				s.replace(pp, t, time.Duration(1+s.rnd.IntN(400))*time.Second)
			}
		})
	}
	if kind == "node_deleted" {
		for _, p := range s.running(node, at) {
			if p.dsNode != "" {
				p.until = at
			}
		}
		return
	}
	back := at.Add(time.Duration(3+s.rnd.IntN(50)) * time.Minute)
	s.later(back, func(t time.Time) {
		s.down[node] = false
		s.event(t, node, "node_ready", "KubeletReady")
		for _, p := range s.pods {
			if p.node == node && p.until.IsZero() && !p.stopSince.IsZero() {
				p.stopSince = time.Time{}
			}
		}
	})
}

func (s *sim) rollout(at time.Time) {
	var web []*pod
	for _, p := range s.pods {
		if p.owner.Kind == "ReplicaSet" && p.until.IsZero() && !p.from.After(at) && p.stopSince.IsZero() {
			web = append(web, p)
		}
	}
	if len(web) == 0 {
		return
	}
	p := web[s.rnd.IntN(len(web))]
	s.replace(p, at, time.Duration(1+s.rnd.IntN(30))*time.Second)
}

// record observes every pod every interval, as the recorder does, into hours.
func (s *sim) record() []*store.Hour {
	hours := map[time.Time]*store.Hour{}
	hour := func(t time.Time) *store.Hour {
		k := store.HourOf(t)
		if hours[k] == nil {
			hours[k] = store.NewHour(k)
		}
		return hours[k]
	}
	for t := s.start.Add(7 * time.Second); t.Before(s.end); t = t.Add(s.interval) {
		for _, p := range s.pods {
			if p.from.After(t) || (!p.until.IsZero() && !p.until.After(t)) || (!p.stopSince.IsZero() && !p.stopSince.After(t)) {
				continue
			}
			h := hour(t)
			h.Add(p.ref, p.node, t)
			if p.owner.Kind != "" {
				h.SetOwner(p.ref, p.owner)
			}
		}
	}
	for _, e := range s.events {
		if e.At.Before(s.end) {
			hour(e.At).AddNodeEvent(e)
		}
	}
	var out []*store.Hour
	for _, k := range slices.SortedFunc(func(yield func(time.Time) bool) {
		for k := range hours {
			if !yield(k) {
				return
			}
		}
	}, time.Time.Compare) {
		out = append(out, hours[k])
	}
	return out
}
