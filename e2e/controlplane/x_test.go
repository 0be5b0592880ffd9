package controlplane_test
import ("testing"; "time"; "fmt"; metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"; "github.com/pod-ashiato/ashiato/e2e/controlplane"; "github.com/pod-ashiato/ashiato/e2e/fixture")
func TestXVolume(t *testing.T) {
	cp := fixture.StartControlPlane(t, controlplane.Options{})
	c := fixture.Client(t, cp)
	ctx := t.Context()
	nodes := []string{"n0","n1","n2"}
	fixture.CreateNodes(ctx, c, nodes)
	for i, conc := range []int{16} {
		ns := fmt.Sprintf("vol%d", i)
		fixture.CreateNamespaces(ctx, c, ns)
		start := time.Now()
		if err := fixture.CreatePlacedPods(ctx, c, fixture.PlacedPods(ns, 10000, nodes), conc); err != nil { t.Fatal(err) }
		t.Logf("10000 pods, concurrency %d: %v", conc, time.Since(start))
	}
	start := time.Now()
	l, err := c.CoreV1().Pods("").List(ctx, metav1.ListOptions{})
	if err != nil { t.Fatal(err) }
	t.Logf("list %d pods: %v", len(l.Items), time.Since(start))
}
