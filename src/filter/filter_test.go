package filter

import (
	"fmt"
	"strings"
	"testing"

	"github.com/pod-ashiato/ashiato/src/record"
)

func TestChainRun(t *testing.T) {
	pods := []record.Placement{
		{Namespace: "a", Pod: "web-1", OwnerKind: "ReplicaSet", OwnerName: "web-7d9f8c6b5"},
		{Namespace: "a", Pod: "web-2", OwnerKind: "ReplicaSet", OwnerName: "web-7d9f8c6b5"},
		{Namespace: "b", Pod: "db-0", OwnerKind: "StatefulSet", OwnerName: "db"},
		{Namespace: "b", Pod: "webhook-0"},
		{Namespace: "c", Pod: "backup-29412345-x2x9q", OwnerKind: "Job", OwnerName: "backup-29412345"},
		{Namespace: "c", Pod: "migrate-1-abcde", OwnerKind: "Job", OwnerName: "migrate-1"},
	}
	all := []string{"web-1", "web-2", "db-0", "webhook-0", "backup-29412345-x2x9q", "migrate-1-abcde"}
	tests := []struct {
		name string
		opts Options
		want []string
	}{
		{"no filter keeps all", Options{}, all},
		{"prefix", Options{NamePrefix: "web-"}, []string{"web-1", "web-2"}},
		{"prefix of several", Options{NamePrefix: "web"}, []string{"web-1", "web-2", "webhook-0"}},
		{"prefix matching nothing", Options{NamePrefix: "x"}, nil},
		{"exclude prefix", Options{ExcludeNamePrefixes: []string{"web"}}, []string{"db-0", "backup-29412345-x2x9q", "migrate-1-abcde"}},
		{"exclude two prefixes", Options{ExcludeNamePrefixes: []string{"web-", "db-"}}, []string{"webhook-0", "backup-29412345-x2x9q", "migrate-1-abcde"}},
		{"prefix and exclusion", Options{NamePrefix: "web", ExcludeNamePrefixes: []string{"webhook"}}, []string{"web-1", "web-2"}},
		{"owner kind", Options{OwnerKinds: []string{"StatefulSet", "replicaset"}}, []string{"web-1", "web-2", "db-0"}},
		{"Job includes a CronJob's", Options{OwnerKinds: []string{"Job"}}, []string{"backup-29412345-x2x9q", "migrate-1-abcde"}},
		{"CronJob only", Options{OwnerKinds: []string{"CronJob"}}, []string{"backup-29412345-x2x9q"}},
		{"bare pods", Options{OwnerKinds: []string{"None"}}, []string{"webhook-0"}},
		{"exclude Job", Options{ExcludeOwnerKinds: []string{"Job"}}, []string{"web-1", "web-2", "db-0", "webhook-0"}},
		{"exclude CronJob", Options{ExcludeOwnerKinds: []string{"CronJob"}}, []string{"web-1", "web-2", "db-0", "webhook-0", "migrate-1-abcde"}},
		{"Jobs not of a CronJob", Options{OwnerKinds: []string{"Job"}, ExcludeOwnerKinds: []string{"CronJob"}}, []string{"migrate-1-abcde"}},
		// Namespaces, labels, fields and nodes are the API server's job: the chain must not drop on them.
		{"server-side filters add nothing", Options{Namespaces: []string{"a"}, LabelSelector: "app=x", FieldSelector: "status.phase=Running", Node: "n1", ExcludeNamespaces: []string{"b"}}, all},
		{"several namespaces, read one by one", Options{Namespaces: []string{"a", "b"}}, all},
		{"more namespaces than reads: kept here", Options{Namespaces: manyNamespaces("a", "c")}, []string{"web-1", "web-2", "backup-29412345-x2x9q", "migrate-1-abcde"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := tt.opts.Validate(); err != nil {
				t.Fatal(err)
			}
			in := make(chan record.Placement, len(pods))
			out := make(chan record.Placement, len(pods))
			for _, p := range pods {
				in <- p
			}
			close(in)
			if err := tt.opts.Plan().Chain.Run(t.Context(), in, out); err != nil {
				t.Fatal(err)
			}
			var got []string
			for p := range out { // Run closed out, or this would hang
				got = append(got, p.Pod)
			}
			if strings.Join(got, ",") != strings.Join(tt.want, ",") {
				t.Errorf("kept %v, want %v", got, tt.want)
			}
		})
	}
}

// manyNamespaces is two more namespaces than MaxNamespaceReads, including these.
func manyNamespaces(include ...string) []string {
	ns := append([]string(nil), include...)
	for i := 0; len(ns) <= MaxNamespaceReads+1; i++ {
		ns = append(ns, fmt.Sprintf("other-%d", i))
	}
	return ns
}

func TestPlan(t *testing.T) {
	many := manyNamespaces("a", "b")
	tests := []struct {
		name       string
		opts       Options
		namespaces string
		label      string
		field      string
		chain      string
	}{
		{"nothing asked", Options{}, "", "", "", ""},
		{"one namespace", Options{Namespaces: []string{"shop"}}, "shop", "", "", ""},
		{"several namespaces, duplicates dropped", Options{Namespaces: []string{"b", "a", "b"}}, "b,a", "", "", ""},
		{"excluded from the list", Options{Namespaces: []string{"a", "b", "c"}, ExcludeNamespaces: []string{"b"}}, "a,c", "", "", ""},
		{"exclusions are field selectors", Options{ExcludeNamespaces: []string{"kube-system", "kube-public"}}, "", "", "metadata.namespace!=kube-system,metadata.namespace!=kube-public", ""},
		{"node", Options{Node: "n1"}, "", "", "spec.nodeName=n1", ""},
		{"field selector, node and exclusion", Options{FieldSelector: "status.phase!=Succeeded", Node: "n1", ExcludeNamespaces: []string{"x"}}, "", "",
			"status.phase!=Succeeded,spec.nodeName=n1,metadata.namespace!=x", ""},
		{"label", Options{LabelSelector: "app notin (a,b),!canary"}, "", "app notin (a,b),!canary", "", ""},
		{"too many namespaces: one read, kept here", Options{Namespaces: many, ExcludeNamespaces: []string{"other-0"}}, "", "", "",
			"namespace in " + strings.Join(sortedKeys(set(remove(many, "other-0"))), ",")},
		{"client-side filters", Options{NamePrefix: "web", ExcludeNamePrefixes: []string{"webhook"}, OwnerKinds: []string{"job"}, ExcludeOwnerKinds: []string{"cronjob"}}, "", "", "",
			`name prefix "web" and name prefix not in ["webhook"] and owner kind in Job and owner kind not in CronJob`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := tt.opts.Validate(); err != nil {
				t.Fatal(err)
			}
			p := tt.opts.Plan()
			if got := strings.Join(p.Namespaces, ","); got != tt.namespaces {
				t.Errorf("namespaces %q, want %q", got, tt.namespaces)
			}
			if p.LabelSelector != tt.label || p.FieldSelector != tt.field {
				t.Errorf("label %q field %q, want %q and %q", p.LabelSelector, p.FieldSelector, tt.label, tt.field)
			}
			if got := p.Chain.String(); got != tt.chain {
				t.Errorf("chain %q, want %q", got, tt.chain)
			}
			if tt.field != "" {
				if err := validateFieldSelector(p.FieldSelector); err != nil {
					t.Errorf("the planned field selector is not valid: %v", err)
				}
			}
		})
	}
}

func remove(list []string, x string) []string {
	var out []string
	for _, s := range list {
		if s != x {
			out = append(out, s)
		}
	}
	return out
}

func TestStoredChain(t *testing.T) {
	rows := []record.Placement{
		{Namespace: "shop", Pod: "web-1"}, {Namespace: "shop", Pod: "db-0"},
		{Namespace: "kube-system", Pod: "coredns-1"}, {Namespace: "other", Pod: "web-2"},
	}
	tests := []struct {
		opts Options
		want string
	}{
		{Options{}, "web-1,db-0,coredns-1,web-2"},
		{Options{Namespaces: []string{"shop"}}, "web-1,db-0"},
		{Options{Namespaces: []string{"shop", "kube-system"}, ExcludeNamespaces: []string{"kube-system"}}, "web-1,db-0"},
		{Options{ExcludeNamespaces: []string{"kube-system"}}, "web-1,db-0,web-2"},
		{Options{NamePrefix: "web"}, "web-1,web-2"},
		{Options{ExcludeNamePrefixes: []string{"web", "core"}}, "db-0"},
	}
	for _, tt := range tests {
		var kept []string
		for _, r := range rows {
			if tt.opts.StoredChain().Keep(r) {
				kept = append(kept, r.Pod)
			}
		}
		if got := strings.Join(kept, ","); got != tt.want {
			t.Errorf("%+v kept %s, want %s", tt.opts, got, tt.want)
		}
	}
}

func TestIsCronJobName(t *testing.T) {
	for name, want := range map[string]bool{
		"backup-29412345":       true,  // 2025-12
		"a-b-24193440":          true,  // 2016-01-01, the first minute accepted
		"backup-24193439":       false, // a minute before
		"migrate-20261126":      false, // a date, not minutes
		"backup-294123456":      false, // 9 digits
		"backup-2941234":        false,
		"29412345":              false, // no CronJob name
		"-29412345":             false,
		"backup-2941234x":       false,
		"web-7d9f8c6b5":         false,
		"backup-29412345-retry": false,
	} {
		if got := isCronJobName(name); got != want {
			t.Errorf("isCronJobName(%q) = %v, want %v", name, got, want)
		}
	}
}

func TestValidate(t *testing.T) {
	tests := []struct {
		name    string
		opts    Options
		wantErr string
	}{
		{"empty", Options{}, ""},
		{"all valid", Options{Namespaces: []string{"kube-system"}, NamePrefix: "coredns-", LabelSelector: "app in (a,b),!canary"}, ""},
		{"every filter", Options{Namespaces: []string{"a", "b"}, ExcludeNamespaces: []string{"b"}, NamePrefix: "web", ExcludeNamePrefixes: []string{"web-canary"},
			LabelSelector: "tier notin (cache)", FieldSelector: "status.phase!=Succeeded,spec.restartPolicy=Always", Node: "worker-1.example",
			OwnerKinds: []string{"Job", "CronJob", "replicaset"}, ExcludeOwnerKinds: []string{"None"}}, ""},
		{"dotted prefix", Options{NamePrefix: "web.v1"}, ""},
		{"unscheduled pods", Options{FieldSelector: "spec.nodeName="}, ""},
		{"every field", Options{FieldSelector: "metadata.name=a,metadata.namespace=b,spec.nodeName=n,spec.restartPolicy=Never,spec.schedulerName=default-scheduler," +
			"spec.serviceAccountName=default,spec.hostNetwork=false,status.phase==Running,status.podIP=10.0.0.1,status.nominatedNodeName!=n"}, ""},
		{"namespace with capitals", Options{Namespaces: []string{"Prod"}}, `invalid --namespace "Prod"`},
		{"bad namespace in a list", Options{Namespaces: []string{"a", "my_ns"}}, `invalid --namespace "my_ns"`},
		{"empty namespace in a list", Options{Namespaces: []string{"a", ""}}, `invalid --namespace ""`},
		{"namespace too long", Options{Namespaces: []string{strings.Repeat("a", 64)}}, "invalid --namespace"},
		{"bad excluded namespace", Options{ExcludeNamespaces: []string{"Kube-System"}}, `invalid --exclude-namespace "Kube-System"`},
		{"everything excluded", Options{Namespaces: []string{"a"}, ExcludeNamespaces: []string{"a"}}, "excludes every namespace"},
		{"prefix with capitals", Options{NamePrefix: "Web"}, "invalid --name"},
		{"prefix with slash", Options{NamePrefix: "ns/web"}, "invalid --name"},
		{"prefix too long", Options{NamePrefix: strings.Repeat("a", 254)}, "invalid --name"},
		{"bad excluded prefix", Options{ExcludeNamePrefixes: []string{"ok", "Bad"}}, `invalid --exclude-name "Bad"`},
		{"empty excluded prefix", Options{ExcludeNamePrefixes: []string{""}}, `invalid --exclude-name ""`},
		{"bad selector", Options{LabelSelector: "app=x=y"}, "invalid --label"},
		{"bad selector operator", Options{LabelSelector: "app in a"}, "invalid --label"},
		{"unknown field", Options{FieldSelector: "status.hostIP=10.0.0.1"}, `pods cannot be selected by field "status.hostIP"`},
		{"field selector syntax", Options{FieldSelector: "status.phase"}, "invalid --field-selector"},
		{"set-based field selector", Options{FieldSelector: "status.phase in (Running)"}, "invalid --field-selector"},
		{"phase with wrong case", Options{FieldSelector: "status.phase=running"}, "want one of Pending, Running"},
		{"host network not a bool", Options{FieldSelector: "spec.hostNetwork=yes"}, "want one of true, false"},
		{"bad node in field selector", Options{FieldSelector: "spec.nodeName=Node_1"}, "spec.nodeName value"},
		{"podIPs never matches", Options{FieldSelector: "status.podIPs=10.0.0.1"}, "use status.podIP"},
		{"legacy spec.host", Options{FieldSelector: "spec.host=n1"}, "use spec.nodeName"},
		{"bad node", Options{Node: "worker_1"}, `invalid --node "worker_1"`},
		{"unknown owner kind", Options{OwnerKinds: []string{"Job", "Rollout"}}, `invalid --owner-kind "Rollout": want one of ReplicaSet`},
		{"deployment", Options{OwnerKinds: []string{"Deployment"}}, "use ReplicaSet"},
		{"unknown excluded kind", Options{ExcludeOwnerKinds: []string{"cron"}}, `invalid --exclude-owner-kind "cron"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.opts.Validate()
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("unexpected error: %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("err = %v, want it to contain %q", err, tt.wantErr)
			}
			if strings.Contains(err.Error(), "\n") {
				t.Errorf("error spans several lines: %q", err)
			}
		})
	}
}

// Node records and EventSeen are not about one pod: the pod filters pass them.
func TestChainPassesNodeRecords(t *testing.T) {
	opts := Options{NamePrefix: "web-", OwnerKinds: []string{"Job"}, Namespaces: manyNamespaces("a")}
	in := make(chan record.Placement, 3)
	out := make(chan record.Placement, 3)
	in <- record.Placement{Node: "node-a", Event: record.EventNodeNotReady}
	in <- record.Placement{Namespace: "a", Pod: "db-0", Node: "node-a", Event: record.EventSnapshot}
	in <- record.Placement{Event: record.EventSeen, StoreOnly: true}
	close(in)
	if err := opts.Plan().Chain.Run(t.Context(), in, out); err != nil {
		t.Fatal(err)
	}
	if got := len(out); got != 2 || (<-out).Event != record.EventNodeNotReady || (<-out).Event != record.EventSeen {
		t.Errorf("passed %d records, want only the node record and EventSeen", got)
	}
}
