package source

import (
	"testing"
	"time"

	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"

	"github.com/pod-ashiato/ashiato/src/record"
)

// TestSelectionReachesEveryRequest: the namespace and both selectors go with
// every LIST and WATCH, so the API server does the filtering. (The fake
// clientset does not filter by field: what is checked is what was asked.)
func TestSelectionReachesEveryRequest(t *testing.T) {
	sel := Selection{Namespace: "shop", LabelSelector: "app notin (a,b)", FieldSelector: "spec.nodeName=n1,metadata.namespace!=kube-system"}
	check := func(t *testing.T, actions []k8stesting.Action, wantVerbs ...string) {
		t.Helper()
		seen := map[string]bool{}
		for _, a := range actions {
			if a.GetResource().Resource != "pods" {
				continue
			}
			var r k8stesting.ListRestrictions
			switch a := a.(type) {
			case k8stesting.ListAction:
				r = a.GetListRestrictions()
			case k8stesting.WatchAction:
				w := a.GetWatchRestrictions()
				r = k8stesting.ListRestrictions{Labels: w.Labels, Fields: w.Fields}
			default:
				continue
			}
			seen[a.GetVerb()] = true
			if a.GetNamespace() != sel.Namespace || r.Labels.String() != "app notin (a,b)" ||
				r.Fields.String() != "metadata.namespace!=kube-system,spec.nodeName=n1" {
				t.Errorf("%s in %q with labels %q and fields %q, want the selection %+v", a.GetVerb(), a.GetNamespace(), r.Labels, r.Fields, sel)
			}
		}
		for _, v := range wantVerbs {
			if !seen[v] {
				t.Errorf("no %s request", v)
			}
		}
	}

	t.Run("list", func(t *testing.T) {
		client := fake.NewClientset()
		l := &List{Client: client, Selection: sel, Retry: fastRetry()}
		if err := l.Run(t.Context(), make(chan record.Placement, 1)); err != nil {
			t.Fatal(err)
		}
		check(t, client.Actions(), "list")
	})
	t.Run("watch", func(t *testing.T) {
		client := fake.NewClientset()
		w := &Watch{Client: client, Selection: sel}
		r := startWatch(t, w)
		r.waitSynced()
		// The WATCH follows the LIST on the informer's own goroutine.
		for deadline := time.Now().Add(watchWait); !hasVerb(client.Actions(), "watch") && time.Now().Before(deadline); {
			time.Sleep(10 * time.Millisecond)
		}
		if err := r.stop(); err != nil {
			t.Fatal(err)
		}
		check(t, client.Actions(), "list", "watch")
	})
}

func hasVerb(actions []k8stesting.Action, verb string) bool {
	for _, a := range actions {
		if a.GetVerb() == verb {
			return true
		}
	}
	return false
}
