// Command compactbench measures what the recorder's compaction of one hour
// costs (package compact): time, peak Go heap and peak RSS above what the
// process held before, for a synthetic hour of --pods pods on --nodes nodes
// shaped like the soak's (one placement a pod, running through the hour,
// a ReplicaSet owner each) and the hour before it (read for the continued
// column). The hours are stored with the product's codec in a ConfigMap
// store on a fake clientset; the files go to a sink that counts their bytes,
// as an upload would send them. The collector runs as the binary's default
// (GOGC 25) unless GOGC is set. docs/s3.md ("Tables") holds the results.
//
//	cd tools && go run ./compactbench --pods 150000 --nodes 5000
package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/pod-ashiato/ashiato/src/compact"
	"github.com/pod-ashiato/ashiato/src/retry"
	"github.com/pod-ashiato/ashiato/src/store"
	"github.com/pod-ashiato/ashiato/src/storeio"
)

func main() {
	pods := flag.Int("pods", 150_000, "pods in the hour")
	nodes := flag.Int("nodes", 5_000, "nodes they run on")
	flag.Parse()
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(25)
	}
	if err := run(*pods, *nodes); err != nil {
		fmt.Fprintln(os.Stderr, "compactbench:", err)
		os.Exit(1)
	}
}

func run(pods, nodes int) error {
	ctx := context.Background()
	hour := store.HourOf(time.Now()).Add(-3 * time.Hour)
	st := &memStore{}
	stored := 0
	for _, h := range []time.Time{hour.Add(-time.Hour), hour} {
		shards, err := store.Encode(synthetic(h, pods, nodes), 0)
		if err != nil {
			return err
		}
		for _, s := range shards {
			stored += s.Size()
			if _, err := st.Create(ctx, s); err != nil {
				return err
			}
		}
	}
	files := &counting{}
	c, err := compact.New(compact.Options{Store: st, Files: files, Cluster: "bench", Retry: retry.Policy{MaxElapsed: time.Minute}})
	if err != nil {
		return err
	}
	// As in the recorder, where a pass keeps nothing for the next: the
	// hour is compacted with the hour before read for its edge.
	what := "the hour, the hour before read for its edge (every pass of the recorder)"
	runtime.GC()
	debug.FreeOSMemory()
	baseHeap, baseRSS := heapBytes(), status("VmRSS")
	if err := os.WriteFile("/proc/self/clear_refs", []byte("5"), 0); err != nil {
		return fmt.Errorf("resetting VmHWM: %w", err)
	}
	var (
		peak     uint64
		mu       sync.Mutex
		done     = make(chan struct{})
		sampled  = make(chan struct{})
		interval = 2 * time.Millisecond
	)
	go func() {
		defer close(sampled)
		t := time.NewTicker(interval)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-t.C:
				h := heapBytes()
				mu.Lock()
				peak = max(peak, h)
				mu.Unlock()
			}
		}
	}()
	start := time.Now()
	res, err := c.Window(ctx, hour, hour)
	took := time.Since(start)
	close(done)
	<-sampled
	if err != nil {
		return err
	}
	if len(res.Written) != 2 || !res.Compacted[0].Equal(hour) {
		return fmt.Errorf("wrote %v, want two files", res.Written)
	}
	hwm := status("VmHWM")
	mib := func(b uint64) string { return fmt.Sprintf("%.1f MiB", float64(b)/(1<<20)) }
	fmt.Printf("pods %d, nodes %d, GOGC %d\n", pods, nodes, debug.SetGCPercent(-1))
	fmt.Printf("stored hour (values): %s; files: placements %s, node_events %s\n", mib(uint64(stored/2)), mib(files.sizes["placements"]), mib(files.sizes["node_events"]))
	fmt.Printf("compaction of %s: %s\n", what, took.Round(time.Millisecond))
	fmt.Printf("Go heap (objects): before %s, peak %s, peak above before %s\n", mib(baseHeap), mib(peak), mib(peak-min(peak, baseHeap)))
	fmt.Printf("RSS: before %s, peak during (VmHWM) %s, above before %s\n", mib(baseRSS), mib(hwm), mib(hwm-min(hwm, baseRSS)))
	return nil
}

// synthetic is an hour shaped like the soak's: pods of Deployments spread
// over namespaces and nodes, each running through the hour.
func synthetic(start time.Time, pods, nodes int) *store.Hour {
	h := store.NewHour(start)
	for i := range pods {
		deploy := i / 10
		ref := store.PodRef{Namespace: fmt.Sprintf("team-%03d", deploy%300), Name: fmt.Sprintf("app-%05d-7c9f8b6d4-%05x", deploy, i*7919%0xfffff)}
		node := fmt.Sprintf("ip-10-%d-%d-%d.eu-west-1.compute.internal", i%nodes/65536, i%nodes/256%256, i%nodes%256)
		h.Add(ref, node, start.Add(time.Duration(i%30)*time.Second))
		h.Add(ref, node, start.Add(time.Hour-time.Second))
		h.SetOwner(ref, store.Owner{Kind: "ReplicaSet", Name: fmt.Sprintf("app-%05d-7c9f8b6d4", deploy)})
	}
	return h
}

// counting is storeio.Files that keeps only the sizes, as an upload sends
// a body and lets it go.
type counting struct{ sizes map[string]uint64 }

func (c *counting) PutFile(_ context.Context, key string, body []byte) error {
	if c.sizes == nil {
		c.sizes = map[string]uint64{}
	}
	c.sizes[strings.Split(key, "/")[2]] = uint64(len(body))
	return nil
}
func (c *counting) ListFiles(context.Context, string, retry.Policy, func(string)) error { return nil }
func (c *counting) DeleteFile(context.Context, string) error                            { return nil }
func (c *counting) FileLocation(key string) string                                      { return key }

var _ storeio.Files = (*counting)(nil)

func heapBytes() uint64 {
	s := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
	metrics.Read(s)
	return s[0].Value.Uint64()
}

// status reads a size of /proc/self/status (kB) in bytes.
func status(field string) uint64 {
	raw, _ := os.ReadFile("/proc/self/status")
	for _, line := range strings.Split(string(raw), "\n") {
		if rest, ok := strings.CutPrefix(line, field+":"); ok {
			kb, _ := strconv.ParseUint(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			return kb << 10
		}
	}
	return 0
}

// memStore is a storeio.Store in memory: the hours' shards, read back as
// copies of their values.
type memStore struct{ shards []storeio.Shard }

func (m *memStore) Create(_ context.Context, s *storeio.Shard) (*storeio.Shard, error) {
	m.shards = append(m.shards, *s)
	return s, nil
}

func (m *memStore) ListHour(_ context.Context, hour time.Time) ([]storeio.Shard, error) {
	var out []storeio.Shard
	for _, s := range m.shards {
		if s.Hour.Equal(hour) {
			c := s
			c.BinaryData = map[string][]byte{}
			for k, v := range s.BinaryData {
				c.BinaryData[k] = bytes.Clone(v)
			}
			out = append(out, c)
		}
	}
	return out, nil
}

func (m *memStore) ListRefs(_ context.Context, first, last time.Time, _ retry.Policy, _ string, each func(storeio.Ref)) error {
	for _, s := range m.shards {
		if !s.Hour.Before(first) && !s.Hour.After(last) {
			each(storeio.Ref{Name: s.Name})
		}
	}
	return nil
}

func (m *memStore) Get(context.Context, string) (*storeio.Shard, error) { return nil, nil }
func (m *memStore) ListHours(context.Context, time.Time, time.Time, int64, retry.Policy, string, func(*storeio.Shard)) error {
	return errors.New("not used")
}
func (m *memStore) Update(context.Context, *storeio.Shard) (*storeio.Shard, error) {
	return nil, errors.New("not used")
}
func (m *memStore) Delete(context.Context, storeio.Ref) error { return errors.New("not used") }
func (m *memStore) Location(name string) string               { return "memory " + name }
func (m *memStore) String() string                            { return "memory" }
