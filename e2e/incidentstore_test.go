package e2e

import (
	"errors"
	"testing"
	"time"

	"github.com/pod-ashiato/ashiato/src/store"
	"github.com/pod-ashiato/ashiato/src/storeio"
)

// storedIncident is a history as the recorder would have kept it: node
// worker-2 stops answering at At; its pods are replaced on worker-1 and
// worker-3 within minutes, two StatefulSet pods come back under their names,
// a bare pod never does, and a DaemonSet's pod waits for its node, which is
// not back within the window. Times are relative to now, two
// hours back, so that no recorder of another test writes the same hours and
// no retention deletes them.
type storedIncident struct {
	At           time.Time
	From, To     time.Time         // three hours around it
	OnNode       []store.PodRef    // every pod the node page must list
	Replacements map[string]string // lost pod name -> replacement pod name
	Lost         []string          // pods that never came back
	NodeBound    []string          // node-bound pods whose node was not back within the window
	owners       map[store.PodRef]store.Owner
	placements   []incidentPlacement
	events       []store.NodeEvent
}

type incidentPlacement struct {
	pod      store.PodRef
	node     string
	from, to time.Time
}

func newStoredIncident(now time.Time) *storedIncident {
	h := store.HourOf(now).Add(-2 * time.Hour)
	at := h.Add(2*time.Minute + 14*time.Second)
	s := &storedIncident{At: at, From: h.Add(-time.Hour), To: h.Add(2 * time.Hour), Replacements: map[string]string{}, owners: map[store.PodRef]store.Owner{}}
	min := func(m float64) time.Time { return at.Add(time.Duration(m * float64(time.Minute))) }
	pod := func(ns, name, kind, owner string) store.PodRef {
		ref := store.PodRef{Namespace: ns, Name: name}
		if kind != "" {
			s.owners[ref] = store.Owner{Kind: kind, Name: owner}
		}
		return ref
	}
	place := func(ref store.PodRef, node string, from, to time.Time) {
		s.placements = append(s.placements, incidentPlacement{ref, node, from, to})
	}
	lost := func(ref store.PodRef, since time.Time) {
		place(ref, "worker-2", since, min(-0.5))
		s.OnNode = append(s.OnNode, ref)
	}
	replaced := func(ref, next store.PodRef, node string, after float64) {
		place(next, node, min(after), s.To.Add(-5*time.Minute))
		s.Replacements[ref.Name] = next.Name
	}

	web1 := pod("shop", "web-7d9f8c6b5-x2x9q", "ReplicaSet", "web-7d9f8c6b5")
	web2 := pod("shop", "web-7d9f8c6b5-q8r7t", "ReplicaSet", "web-7d9f8c6b5")
	cart := pod("shop", "cart-5c4b7d9f6-8hx2n", "ReplicaSet", "cart-5c4b7d9f6")
	search := pod("shop", "search-0", "StatefulSet", "search")
	db := pod("data", "db-1", "StatefulSet", "db")
	cache := pod("data", "cache-0", "StatefulSet", "cache")
	report := pod("batch", "report-29380140-tq5vx", "Job", "report-29380140")
	exporter := pod("monitoring", "node-exporter-7xk2p", "DaemonSet", "node-exporter")
	debug := pod("shop", "debug-shell", "", "")
	backup := pod("batch", "backup-29380020-abcde", "Job", "backup-29380020")

	lost(web1, s.From.Add(5*time.Minute))
	lost(web2, s.From.Add(20*time.Minute))
	lost(cart, s.From.Add(8*time.Minute))
	lost(db, s.From)
	lost(cache, s.From.Add(3*time.Minute))
	lost(report, min(-12))
	lost(exporter, s.From)
	lost(debug, min(-40))
	// search-0 moved onto worker-2 from worker-1 before the incident.
	place(search, "worker-1", s.From, min(-50))
	lost(search, min(-48))
	// A Job's pod that finished on worker-2 before the incident.
	place(backup, "worker-2", min(-45), min(-31))
	s.OnNode = append(s.OnNode, backup)

	replaced(web1, pod("shop", "web-7d9f8c6b5-k4m2p", "ReplicaSet", "web-7d9f8c6b5"), "worker-1", 1.5)
	replaced(web2, pod("shop", "web-7d9f8c6b5-z9w1c", "ReplicaSet", "web-7d9f8c6b5"), "worker-3", 2.2)
	replaced(cart, pod("shop", "cart-5c4b7d9f6-m3n4b", "ReplicaSet", "cart-5c4b7d9f6"), "worker-1", 3)
	replaced(report, pod("batch", "report-29380140-h7d2s", "Job", "report-29380140"), "worker-3", 1)
	replaced(db, db, "worker-3", 4.7)
	replaced(cache, cache, "worker-1", 6)
	replaced(search, search, "worker-3", 3.4)
	s.Lost = []string{debug.Name}
	s.NodeBound = []string{exporter.Name}
	// Once the node is Ready and uncordoned again, it takes pods again: the
	// DaemonSet's pod (too late to count as the lost one's replacement) and a
	// new web pod.
	exporter2 := pod("monitoring", "node-exporter-9vq4d", "DaemonSet", "node-exporter")
	web4 := pod("shop", "web-7d9f8c6b5-r5t6y", "ReplicaSet", "web-7d9f8c6b5")
	place(exporter2, "worker-2", min(42), s.To.Add(-5*time.Minute))
	place(web4, "worker-2", min(58), s.To.Add(-5*time.Minute))
	s.OnNode = append(s.OnNode, exporter2, web4)

	event := func(m float64, ev, reason string) {
		s.events = append(s.events, store.NodeEvent{Node: "worker-2", At: min(m).Truncate(time.Second), Event: ev, Reason: reason})
	}
	event(0, "node_unknown", "NodeStatusUnknown")
	event(0.1, "node_tainted", "node.kubernetes.io/unreachable:NoExecute")
	event(3, "node_cordoned", "")
	event(41, "node_ready", "KubeletReady")
	event(41.1, "node_untainted", "node.kubernetes.io/unreachable:NoExecute")
	event(55, "node_uncordoned", "")
	return s
}

// write stores the incident's hours in st through the store's codec, as the
// sink does: every minute of every placement seen, owners and node events
// kept. An hour already there (from an earlier run against the same store)
// is merged into.
func (s *storedIncident) write(t *testing.T, st storeio.Store) {
	t.Helper()
	hours := map[time.Time]*store.Hour{}
	hour := func(at time.Time) *store.Hour {
		k := store.HourOf(at)
		if hours[k] == nil {
			hours[k] = store.NewHour(k)
		}
		return hours[k]
	}
	for _, p := range s.placements {
		for at := p.from; !at.After(p.to); at = at.Add(time.Minute) {
			h := hour(at)
			h.Add(p.pod, p.node, at)
			if o, ok := s.owners[p.pod]; ok {
				h.SetOwner(p.pod, o)
			}
		}
		hour(p.to).Add(p.pod, p.node, p.to)
	}
	for _, e := range s.events {
		hour(e.At).AddNodeEvent(e)
	}
	for _, h := range hours {
		storeHour(t, st, h)
	}
}

// storeHour stores h in st through the store's codec, merged into what the
// hour already holds, as the sink writes.
func storeHour(t *testing.T, st storeio.Store, h *store.Hour) {
	t.Helper()
	have, err := st.ListHour(t.Context(), h.Start)
	if err != nil {
		t.Fatal(err)
	}
	if len(have) > 0 {
		prev, _, _ := store.Decode(t.Context(), h.Start, have)
		h.Merge(prev)
	}
	shs, err := store.Encode(h, len(have))
	if err != nil {
		t.Fatal(err)
	}
	for _, sh := range shs {
		_, err := st.Create(t.Context(), sh)
		if errors.Is(err, storeio.ErrAlreadyExists) {
			old, gerr := st.Get(t.Context(), sh.Name)
			if gerr != nil || old == nil {
				t.Fatalf("reading %s back: %v", st.Location(sh.Name), gerr)
			}
			sh.Version = old.Version
			_, err = st.Update(t.Context(), sh)
		}
		if err != nil {
			t.Fatalf("storing %s: %v", st.Location(sh.Name), err)
		}
	}
}
