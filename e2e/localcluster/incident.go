package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/util/retry"
	"k8s.io/utils/ptr"

	"github.com/pod-ashiato/ashiato/e2e/controlplane"
	"github.com/pod-ashiato/ashiato/e2e/fixture"
)

// historyNamespace is where the recorder keeps the history: the namespace k8s/
// deploys Pod Ashiato into, so the same commands work against both.
const historyNamespace = "pod-ashiato"

// recorderName is the recorder's name in the control plane's state and logs.
const recorderName = "ashiato"

// buildAshiato builds ./src/cmd into dir/bin/ashiato (go build skips what is up to date).
func buildAshiato(ctx context.Context, dir string, stderr io.Writer) (string, error) {
	root, err := repoRoot()
	if err != nil {
		return "", err
	}
	dir, err = filepath.Abs(dir)
	if err != nil {
		return "", err
	}
	bin := filepath.Join(dir, "bin", "ashiato")
	cmd := exec.CommandContext(ctx, "go", "build", "-o", bin, "./src/cmd")
	cmd.Dir = root
	cmd.Stdout = stderr
	cmd.Stderr = stderr
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("go build ./src/cmd: %w", err)
	}
	return bin, nil
}

// startRecorder runs the recorder detached next to the control plane, in watch mode,
// storing into historyNamespace, and waits for its /readyz.
func startRecorder(ctx context.Context, cp *controlplane.ControlPlane, client kubernetes.Interface, ashiato string) error {
	if err := fixture.CreateNamespaces(ctx, client, historyNamespace); err != nil {
		return err
	}
	addr, err := freeAddr()
	if err != nil {
		return err
	}
	args := []string{"--kubeconfig", cp.KubeconfigPath(), "--store-in-cm", "--cm-namespace", historyNamespace,
		"--cm-flush-interval", "2s", "--metrics-addr", addr}
	return cp.StartProcess(ctx, recorderName, ashiato, args, func(ctx context.Context) error {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+addr+"/readyz", nil)
		if err != nil {
			return err
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return err
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("GET /readyz: %s", resp.Status)
		}
		return nil
	})
}

func freeAddr() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer l.Close()
	return l.Addr().String(), nil
}

// recorderLog is the recorder's output: its JSON lines (stdout) and diagnostics.
type recorderLog string

func logOf(cp *controlplane.ControlPlane) recorderLog {
	return recorderLog(filepath.Join(cp.Dir(), "logs", recorderName+".log"))
}

// line is what this program reads of a record line, pod or node.
type line struct {
	Msg       string `json:"msg"`
	Event     string `json:"event"`
	Namespace string `json:"namespace"`
	Pod       string `json:"pod_name"`
	Node      string `json:"node_name"`
	Timestamp string `json:"timestamp"`
}

// records returns the record lines printed so far.
func (l recorderLog) records() ([]line, error) {
	f, err := os.Open(string(l))
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var out []line
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		var r line
		if b := sc.Bytes(); bytes.HasPrefix(b, []byte("{")) && json.Unmarshal(b, &r) == nil && (r.Msg == "pod placement" || r.Msg == "node lifecycle") {
			out = append(out, r)
		}
	}
	return out, sc.Err()
}

// waitRecorded waits until the recorder has printed a placement of every pod of the
// workloads, on its node.
func waitRecorded(ctx context.Context, client kubernetes.Interface, rec recorderLog) error {
	var last error
	err := wait.PollUntilContextTimeout(ctx, time.Second, time.Minute, true, func(ctx context.Context) (bool, error) {
		last = nil
		recs, err := rec.records()
		if err != nil {
			last = err
			return false, nil
		}
		placed := map[string]bool{}
		for _, r := range recs {
			if r.Msg == "pod placement" && r.Node != "" {
				placed[r.Namespace+"/"+r.Pod+"@"+r.Node] = true
			}
		}
		pods, err := workloadPods(ctx, client)
		if err != nil {
			last = err
			return false, nil
		}
		for _, p := range pods {
			if !placed[p.Namespace+"/"+p.Name+"@"+p.Spec.NodeName] {
				last = fmt.Errorf("%s/%s on %s not recorded", p.Namespace, p.Name, p.Spec.NodeName)
				return false, nil
			}
		}
		return true, nil
	})
	if err != nil {
		return fmt.Errorf("the recorder (%s) has not printed every pod after a minute: %v: %w", rec, last, err)
	}
	return nil
}

func workloadPods(ctx context.Context, client kubernetes.Interface) ([]corev1.Pod, error) {
	var pods []corev1.Pod
	for _, ns := range workloadNamespaces {
		list, err := client.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{})
		if err != nil {
			return nil, err
		}
		pods = append(pods, list.Items...)
	}
	return pods, nil
}

// incident is the node failure played: which node, in which zone, and when the
// recorder saw it turn Unknown (RFC 3339, the --at of the printed commands).
type incident struct {
	node, zone, at string
}

// playNodeFailure fails the node that runs the most workload pods: its heartbeats stop,
// as when a machine loses power. The node lifecycle controller marks it Unknown after
// the grace period and taints it; the pods' tolerations run out and they are evicted
// (they stay Terminating, as no kubelet confirms); the ReplicaSets replace theirs at
// once and the scheduler puts them on the other nodes; the StatefulSet's pods are
// force-deleted, as an operator does, and come back elsewhere under their names.
func playNodeFailure(ctx context.Context, client kubernetes.Interface, rec recorderLog, ashiato, kubeconfig string, nodes []node, stderr io.Writer, start time.Time) (incident, error) {
	pods, err := workloadPods(ctx, client)
	if err != nil {
		return incident{}, err
	}
	victim, moving := pickVictim(nodes, pods)
	progress(stderr, start, "every pod recorded; node %s (%s, %d pods to move) stops its heartbeats now; the controller-manager notices after 30 s", victim.name, victim.zone, moving)
	if err := stopHeartbeats(ctx, client, victim.name); err != nil {
		return incident{}, err
	}
	inc := incident{node: victim.name, zone: victim.zone}
	err = poll(ctx, 2*time.Minute, "node_unknown of "+victim.name+" in "+string(rec), func(ctx context.Context) error {
		recs, err := rec.records()
		if err != nil {
			return err
		}
		i := slices.IndexFunc(recs, func(r line) bool {
			return r.Msg == "node lifecycle" && r.Node == victim.name && r.Event == "node_unknown"
		})
		if i < 0 {
			return errors.New("not yet")
		}
		inc.at = recs[i].Timestamp
		return nil
	})
	if err != nil {
		return inc, err
	}
	progress(stderr, start, "%s is Unknown since %s; waiting for the evictions", victim.name, inc.at)
	var stateful []string
	err = poll(ctx, 2*time.Minute, "the evictions on "+victim.name, func(ctx context.Context) error {
		pods, err := workloadPods(ctx, client)
		if err != nil {
			return err
		}
		stateful = stateful[:0]
		for _, p := range pods {
			if p.Spec.NodeName != victim.name || ownerKind(p) == "DaemonSet" || p.Status.Phase == corev1.PodSucceeded {
				continue
			}
			if p.DeletionTimestamp == nil {
				return fmt.Errorf("%s/%s not evicted yet", p.Namespace, p.Name)
			}
			if ownerKind(p) == "StatefulSet" {
				stateful = append(stateful, p.Namespace+"/"+p.Name)
			}
		}
		return nil
	})
	if err != nil {
		return inc, err
	}
	for _, key := range stateful {
		ns, name, _ := strings.Cut(key, "/")
		progress(stderr, start, "force-deleting %s, as an operator does for a StatefulSet's pod on a dead node", key)
		if err := client.CoreV1().Pods(ns).Delete(ctx, name, metav1.DeleteOptions{GracePeriodSeconds: ptr.To[int64](0)}); err != nil {
			return inc, fmt.Errorf("force-delete %s: %w", key, err)
		}
	}
	progress(stderr, start, "waiting for the replacements and for the history to answer")
	err = poll(ctx, 3*time.Minute, "the replacements in the history", func(ctx context.Context) error {
		n, err := rescheduled(ctx, ashiato, kubeconfig, inc)
		if err != nil {
			return err
		}
		if n < moving {
			return fmt.Errorf("%d of %d pods rescheduled", n, moving)
		}
		return nil
	})
	return inc, err
}

// pickVictim is the node with the most pods that would move (not the DaemonSet's, not
// the Job's finished ones); the first such node on a tie.
func pickVictim(nodes []node, pods []corev1.Pod) (node, int) {
	count := map[string]int{}
	for _, p := range pods {
		if ownerKind(p) != "DaemonSet" && p.Status.Phase == corev1.PodRunning {
			count[p.Spec.NodeName]++
		}
	}
	best := nodes[0]
	for _, n := range nodes[1:] {
		if count[n.name] > count[best.name] {
			best = n
		}
	}
	return best, count[best.name]
}

func ownerKind(p corev1.Pod) string {
	if len(p.OwnerReferences) == 0 {
		return ""
	}
	return p.OwnerReferences[0].Kind
}

// stopHeartbeats takes the node's Lease from kwok, as if its kubelet had died: the
// Lease gets another holder for a very long time, so kwok (which renews only Leases it
// holds, and runs only the nodes whose Lease it holds) leaves the node and its pods
// alone. This last write is the node's last heartbeat (its renew time is now): the
// controller-manager takes the Lease as it is from then on, and when it looks expired
// checks that the live Lease is that very version (its lease circuit breaker) before
// it marks the node Unknown.
func stopHeartbeats(ctx context.Context, client kubernetes.Interface, nodeName string) error {
	leases := client.CoordinationV1().Leases(corev1.NamespaceNodeLease)
	err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
		lease, err := leases.Get(ctx, nodeName, metav1.GetOptions{})
		if err != nil {
			return err
		}
		lease.Spec.HolderIdentity = ptr.To("localcluster-node-failure")
		lease.Spec.LeaseDurationSeconds = ptr.To[int32](1 << 30)
		lease.Spec.RenewTime = ptr.To(metav1.NewMicroTime(time.Now()))
		_, err = leases.Update(ctx, lease, metav1.UpdateOptions{})
		return err
	})
	if err != nil {
		return fmt.Errorf("stop the heartbeats of %s (Lease %s/%s): %w", nodeName, corev1.NamespaceNodeLease, nodeName, err)
	}
	return nil
}

// rescheduled runs the printed incident command with -o json and returns how many of
// the node's pods it reports rescheduled.
func rescheduled(ctx context.Context, ashiato, kubeconfig string, inc incident) (int, error) {
	var out, errOut bytes.Buffer
	cmd := exec.CommandContext(ctx, ashiato, "history", "incident", inc.node, "--at", inc.at,
		"--kubeconfig", kubeconfig, "--cm-namespace", historyNamespace, "-o", "json")
	cmd.Stdout, cmd.Stderr = &out, &errOut
	if err := cmd.Run(); err != nil {
		return 0, fmt.Errorf("history incident: %w: %s", err, strings.TrimSpace(errOut.String()))
	}
	var answer struct {
		Summary struct {
			Rescheduled int `json:"rescheduled"`
		} `json:"summary"`
	}
	if err := json.Unmarshal(out.Bytes(), &answer); err != nil {
		return 0, fmt.Errorf("history incident -o json: %w", err)
	}
	return answer.Summary.Rescheduled, nil
}

// poll calls f every second until it returns nil, for at most timeout.
func poll(ctx context.Context, timeout time.Duration, what string, f func(context.Context) error) error {
	var last error
	err := wait.PollUntilContextTimeout(ctx, time.Second, timeout, true, func(ctx context.Context) (bool, error) {
		last = f(ctx)
		return last == nil, nil
	})
	if err != nil {
		return fmt.Errorf("no %s within %s: %v: %w", what, timeout, last, err)
	}
	return nil
}
