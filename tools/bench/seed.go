package main

import (
	"context"
	"fmt"
	"hash/fnv"
	"strconv"
	"time"

	"golang.org/x/sync/errgroup"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/pod-ashiato/ashiato/e2e/fixture"
)

// The seeded cluster looks like one made of Deployments: pods come in groups of
// podsPerApp that share an app label and a ReplicaSet-like name
// (app-0042-5f7d9c8b6x-x2x9q, 25 characters, as long as a typical real pod
// name, with as much randomness, which matters for how well the packed
// ConfigMap history compresses), spread round-robin over the nodes and the
// namespaces. Pod i is always the same pod, so a larger size adds pods to a
// smaller one.
const podsPerApp = 25

// randAlphabet is the alphabet Kubernetes draws generated name suffixes from
// (k8s.io/apimachinery/pkg/util/rand).
const randAlphabet = "bcdfghjklmnpqrstvwxz2456789"

func appOf(i int) int { return i / podsPerApp }

func namespaceName(i, namespaces int) string { return fmt.Sprintf("team-%02d", appOf(i)%namespaces) }

func nodeName(i int) string { return fmt.Sprintf("node-%04d", i) }

// randString is n characters of randAlphabet derived from key.
func randString(key string, n int) string {
	h := fnv.New64a()
	h.Write([]byte(key))
	v := h.Sum64()
	b := make([]byte, n)
	for k := range b {
		b[k] = randAlphabet[v%uint64(len(randAlphabet))]
		v /= uint64(len(randAlphabet))
	}
	return string(b)
}

func podName(i int) string {
	app := appOf(i)
	// The suffix's first character is the pod's index in its app, so names
	// never collide; the other four look random.
	suffix := string(randAlphabet[i%podsPerApp]) + randString("pod-"+strconv.Itoa(i), 4)
	return fmt.Sprintf("app-%04d-%s-%s", app%10000, randString("rs-"+strconv.Itoa(app), 10), suffix)
}

func podSpec(i, nodes, namespaces int) fixture.PodSpec {
	return fixture.PodSpec{
		Namespace: namespaceName(i, namespaces),
		Name:      podName(i),
		NodeName:  nodeName(i % nodes),
		Labels:    map[string]string{"app": fmt.Sprintf("app-%04d", appOf(i)%10000)},
	}
}

// seeder grows the cluster's pods to a size, keeping what is already there.
type seeder struct {
	client      kubernetes.Interface
	nodes       int
	namespaces  int
	concurrency int
	log         func(format string, args ...any)
}

// ensureNodes creates the nodes that do not exist yet (Ready, each with its
// own InternalIP), concurrency at a time.
func (s *seeder) ensureNodes(ctx context.Context) error {
	list, err := s.client.CoreV1().Nodes().List(ctx, metav1.ListOptions{})
	if err != nil {
		return fmt.Errorf("list nodes: %w", err)
	}
	have := make(map[string]bool, len(list.Items))
	for _, n := range list.Items {
		have[n.Name] = true
	}
	var missing []string
	for i := range s.nodes {
		if !have[nodeName(i)] {
			missing = append(missing, nodeName(i))
		}
	}
	if len(missing) == 0 {
		return nil
	}
	start := time.Now()
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(s.concurrency)
	for chunk := range chunks(missing, 50) {
		g.Go(func() error { return fixture.CreateNodes(gctx, s.client, chunk) })
	}
	if err := g.Wait(); err != nil {
		return err
	}
	s.log("created %d nodes in %s", len(missing), time.Since(start).Round(time.Millisecond))
	return nil
}

func chunks[T any](s []T, n int) func(yield func([]T) bool) {
	return func(yield func([]T) bool) {
		for len(s) > 0 {
			k := min(n, len(s))
			if !yield(s[:k]) {
				return
			}
			s = s[k:]
		}
	}
}

// grow creates pods have..want-1 (placed, Running, with IPs) in batches,
// reporting progress. The pods below have must already exist.
func (s *seeder) grow(ctx context.Context, have, want int) error {
	if want <= have {
		return nil
	}
	var names []string
	for i := range s.namespaces {
		names = append(names, fmt.Sprintf("team-%02d", i))
	}
	if err := fixture.CreateNamespaces(ctx, s.client, names...); err != nil {
		return err
	}
	const batch = 10_000
	start := time.Now()
	for from := have; from < want; from += batch {
		to := min(from+batch, want)
		specs := make([]fixture.PodSpec, 0, to-from)
		for i := from; i < to; i++ {
			specs = append(specs, podSpec(i, s.nodes, s.namespaces))
		}
		if err := fixture.CreatePlacedPods(ctx, s.client, specs, s.concurrency); err != nil {
			return err
		}
		done := to - have
		rate := float64(done) / time.Since(start).Seconds()
		s.log("seeded %d/%d pods (%.0f pods/s)", to, want, rate)
	}
	return nil
}

// countPods counts every pod in the cluster: a LIST of one item tells how many
// remain; a full count is the fallback.
func countPods(ctx context.Context, client kubernetes.Interface) (int, error) {
	list, err := client.CoreV1().Pods("").List(ctx, metav1.ListOptions{Limit: 1})
	if err != nil {
		return 0, fmt.Errorf("count pods: %w", err)
	}
	if list.RemainingItemCount != nil {
		return len(list.Items) + int(*list.RemainingItemCount), nil
	}
	if list.Continue == "" {
		return len(list.Items), nil
	}
	n, cont := 0, ""
	for {
		list, err := client.CoreV1().Pods("").List(ctx, metav1.ListOptions{Limit: 500, Continue: cont})
		if err != nil {
			return 0, fmt.Errorf("count pods: %w", err)
		}
		n += len(list.Items)
		if cont = list.Continue; cont == "" {
			return n, nil
		}
	}
}
