package oracle

import (
	"context"
	"fmt"
	"strings"
	"time"

	"golang.org/x/sync/errgroup"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/pod-ashiato/ashiato/src/store"
)

// play runs the scenario: about four hours of fake time from ten minutes
// before an hour, so four hour boundaries are crossed.
func (r *runner) play(ctx context.Context) error {
	for _, ns := range []string{r.podNS, r.storeNS} {
		if _, err := r.client.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{}); err != nil {
			return fmt.Errorf("namespace %s: %w", ns, err)
		}
	}
	t0 := r.clk.Now()
	h1 := t0.Add(10 * time.Minute)
	hour := func(n int, min float64) time.Time {
		return h1.Add(time.Duration(n-1)*time.Hour + time.Duration(min*float64(time.Minute))).Truncate(time.Second)
	}
	r.figs.Hours = 4

	// Pods that exist before anything records.
	for range 40 {
		if err := r.create(ctx, r.podName(), r.node(), false); err != nil {
			return err
		}
	}
	r1, err := r.begin(ctx, "r1", false)
	if err != nil {
		return err
	}

	// Faults, at seeded instants, in order.
	type fault struct {
		at  time.Time
		run func() error
	}
	var second *recorder
	faults := []fault{
		{hour(1, 10+r.rng.Float64()*20), func() error { var err error; r1, err = r.kill(ctx, r1); return err }},
		{hour(1, 35), func() error {
			var err error
			second, err = r.begin(ctx, "r2", false)
			r.figs.Scenarios["concurrent-writers"]++
			return err
		}},
		{hour(1, 58), func() error { return r.term(second) }},
		{hour(2, 3+r.rng.Float64()*5), func() error { var err error; r1, err = r.burst(ctx, r1); return err }},
		{hour(2, 40), func() error { return r.restartAPIServer(ctx) }},
		{hour(3, 5), func() error {
			if err := r.term(r1); err != nil {
				return err
			}
			var err error
			if second, err = r.begin(ctx, "l1", true); err != nil {
				return err
			}
			_, err = r.startStandby("l2")
			return err
		}},
		{hour(3, 30+r.rng.Float64()*10), func() error { return r.handOver(ctx) }},
	}
	end := hour(4, 10)

	// Churn: an action every 10 to 50 s, and a move across every hour edge.
	now := t0
	for now.Before(end) {
		now = now.Add(time.Duration(10+r.rng.IntN(41)) * time.Second)
		for len(faults) > 0 && !faults[0].at.After(now) {
			if err := r.advanceTo(ctx, faults[0].at); err != nil {
				return err
			}
			r.logf("fault")
			if err := faults[0].run(); err != nil {
				return err
			}
			faults = faults[1:]
		}
		for n := 1; n <= 4; n++ {
			if edge := hour(n, 0); edge.After(r.clk.Now().Add(time.Second)) && !edge.After(now) {
				if err := r.edgeMoves(ctx, edge); err != nil {
					return err
				}
			}
		}
		if err := r.advanceTo(ctx, now); err != nil {
			return err
		}
		if err := r.churn(ctx); err != nil {
			return err
		}
	}
	if err := r.advanceTo(ctx, end); err != nil {
		return err
	}
	for _, rec := range r.recs {
		if err := r.term(rec); err != nil {
			return err
		}
	}
	r.truth.end = r.clk.Now()
	return nil
}

// edgeMoves moves pods right before and right after the turn of the hour.
func (r *runner) edgeMoves(ctx context.Context, edge time.Time) error {
	for _, at := range []time.Time{edge.Add(-time.Second), edge, edge.Add(time.Second)} {
		if err := r.advanceTo(ctx, at); err != nil {
			return err
		}
		if pod := r.livePod(); pod != "" {
			if err := r.move(ctx, pod); err != nil {
				return err
			}
		}
	}
	return nil
}

// churn is one random action at the current instant.
func (r *runner) churn(ctx context.Context) error {
	switch x := r.rng.IntN(100); {
	case x < 35 || len(r.truth.live) < 20:
		return r.create(ctx, r.podName(), r.node(), true)
	case x < 60:
		if pod := r.livePod(); pod != "" {
			return r.remove(ctx, pod)
		}
	case x < 80:
		if pod := r.livePod(); pod != "" {
			r.figs.Scenarios["moves"]++
			return r.move(ctx, pod)
		}
	case x < 92:
		r.figs.Scenarios["short-lived"]++
		return r.shortLived(ctx)
	default:
		name := fmt.Sprintf("%s%d", skipPrefix, r.nextID)
		r.nextID++
		r.skipped = append(r.skipped, name)
		return r.createPod(ctx, name, r.node())
	}
	return nil
}

func (r *runner) podName() string {
	r.nextID++
	return fmt.Sprintf("p-%d", r.nextID)
}

func (r *runner) node() string { return r.nodes[r.rng.IntN(len(r.nodes))] }

// livePod is a random pod that is on a node now ("" when none).
func (r *runner) livePod() string {
	if len(r.truth.live) == 0 {
		return ""
	}
	names := make([]string, 0, len(r.truth.live))
	for n := range r.truth.live {
		if !strings.HasPrefix(n, "b") {
			names = append(names, n)
		}
	}
	if len(names) == 0 {
		return ""
	}
	sortStrings(names)
	return names[r.rng.IntN(len(names))]
}

// leaders are the recorders whose pipeline runs now.
func (r *runner) leaders() []*recorder {
	var out []*recorder
	for _, rec := range r.recs {
		if rec.leading() {
			out = append(out, rec)
		}
	}
	return out
}

// expect waits until every running pipeline has handed the record to its sink.
func (r *runner) expect(k tapKey) error {
	for _, rec := range r.leaders() {
		if err := rec.tap.wait(k, 1, waitTimeout); err != nil {
			return fmt.Errorf("%s: %w", rec.name, err)
		}
	}
	return nil
}

func (r *runner) createPod(ctx context.Context, name, node string) error {
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: r.podNS},
		Spec: corev1.PodSpec{NodeName: node, Containers: []corev1.Container{{Name: "c", Image: "none"}},
			TerminationGracePeriodSeconds: new(int64)},
	}
	_, err := r.client.CoreV1().Pods(r.podNS).Create(ctx, pod, metav1.CreateOptions{})
	if err != nil {
		return fmt.Errorf("creating pod %s: %w", name, err)
	}
	return nil
}

func (r *runner) deletePod(ctx context.Context, name string) error {
	err := r.client.CoreV1().Pods(r.podNS).Delete(ctx, name, metav1.DeleteOptions{GracePeriodSeconds: new(int64)})
	if err != nil {
		return fmt.Errorf("deleting pod %s: %w", name, err)
	}
	return nil
}

// create binds a new pod to node now; wait waits for the record.
func (r *runner) create(ctx context.Context, name, node string, wait bool) error {
	now := r.clk.Now()
	if err := r.createPod(ctx, name, node); err != nil {
		return err
	}
	r.truth.bind(name, node, now)
	if !wait {
		return nil
	}
	return r.expect(tapKey{pod: name, node: node, kind: "bound", at: now.UnixNano()})
}

func (r *runner) remove(ctx context.Context, name string) error {
	now := r.clk.Now()
	node := r.truth.live[name].node
	if err := r.deletePod(ctx, name); err != nil {
		return err
	}
	r.truth.remove(name, now)
	return r.expect(tapKey{pod: name, node: node, kind: "deleted", at: now.UnixNano()})
}

// move is a StatefulSet pod recreated on another node: same name.
func (r *runner) move(ctx context.Context, name string) error {
	old := r.truth.live[name].node
	node := r.node()
	for node == old {
		node = r.node()
	}
	if err := r.remove(ctx, name); err != nil {
		return err
	}
	return r.create(ctx, name, node, true)
}

// shortLived is a pod that lives half a second.
func (r *runner) shortLived(ctx context.Context) error {
	name := r.podName()
	if err := r.create(ctx, name, r.node(), true); err != nil {
		return err
	}
	r.clk.Step(500 * time.Millisecond) // no tick falls here: ticks are on whole seconds
	return r.remove(ctx, name)
}

// advanceTo moves the clock to t tick by tick: at each snapshot tick it waits
// until every running pipeline has handed the whole snapshot to its sink, at
// each flush tick until the flush is done.
func (r *runner) advanceTo(ctx context.Context, t time.Time) error {
	if t.Before(r.clk.Now()) {
		return nil
	}
	for {
		next := t
		for _, rec := range r.leaders() {
			rec.mu.Lock()
			next = minTime(next, minTime(rec.nextSnap, rec.nextTick))
			rec.mu.Unlock()
		}
		if next.Before(r.clk.Now()) {
			// A tick of a pipeline that started unseen (a Lease lost and
			// taken over while the clock moved): its records carry times
			// the generator did not wait at.
			return fmt.Errorf("a pipeline's tick at %s is behind the clock (%s): a leader changed unplanned", next, r.clk.Now())
		}
		r.clk.SetTime(next)
		if next.Equal(t) && !r.tickDue(next) {
			return nil
		}
		for _, rec := range r.leaders() {
			if err := r.ticks(ctx, rec, next); err != nil {
				return err
			}
		}
		if next.Equal(t) {
			return nil
		}
	}
}

func (r *runner) tickDue(t time.Time) bool {
	for _, rec := range r.leaders() {
		rec.mu.Lock()
		due := rec.nextSnap.Equal(t) || rec.nextTick.Equal(t)
		rec.mu.Unlock()
		if due {
			return true
		}
	}
	return false
}

// ticks handles rec's ticks due at t.
func (r *runner) ticks(_ context.Context, rec *recorder, t time.Time) error {
	rec.mu.Lock()
	snap, flush := rec.nextSnap.Equal(t), rec.nextTick.Equal(t)
	if snap {
		rec.nextSnap = rec.nextSnap.Add(snapInterval)
	}
	if flush {
		rec.nextTick = rec.nextTick.Add(flushInterval)
	}
	rec.mu.Unlock()
	if flush {
		select {
		case f := <-rec.flushes:
			if !f.at.Equal(t) {
				return fmt.Errorf("%s: flush of the tick at %s reported for %s", rec.name, t, f.at)
			}
			if f.err == nil {
				rec.mu.Lock()
				rec.goodTick = t
				rec.mu.Unlock()
				break
			}
			// A failed flush, an outage's or a refusal's, keeps what is
			// pending and the process goes on (issue 23): its snapshot
			// still comes.
			r.logf("%s: flush failed: %.300v", rec.name, f.err)
		case <-time.After(waitTimeout):
			return fmt.Errorf("%s: no flush after the tick at %s", rec.name, t)
		}
	}
	if snap {
		// The first tick of an hour prints every pod; the others send one
		// EventSeen, which stands for every pod.
		if err := rec.tap.waitEither(tapKey{kind: "snapshot", at: t.UnixNano()}, r.liveCount(), tapKey{kind: "seen", at: t.UnixNano()}, 1, waitTimeout); err != nil {
			return fmt.Errorf("%s: snapshot: %w", rec.name, err)
		}
	}
	return nil
}

// liveCount is how many pods the filter lets through are on a node.
func (r *runner) liveCount() int { return len(r.truth.live) }

// begin starts a recorder and waits until its pipeline has sent its initial
// snapshot; with elect it must win the Lease first.
func (r *runner) begin(ctx context.Context, name string, elect bool) (*recorder, error) {
	rec, err := r.startRecorder(name, elect)
	if err != nil {
		return nil, err
	}
	r.recs = append(r.recs, rec)
	return rec, r.synced(ctx, rec)
}

func (r *runner) startStandby(name string) (*recorder, error) {
	rec, err := r.startRecorder(name, true)
	if err != nil {
		return nil, err
	}
	r.recs = append(r.recs, rec)
	return rec, nil
}

// synced waits for rec to lead and send its initial snapshot.
func (r *runner) synced(ctx context.Context, rec *recorder) error {
	deadline := time.Now().Add(waitTimeout)
	for !rec.leading() {
		select {
		case err := <-rec.done:
			return fmt.Errorf("%s ended before leading: %w", rec.name, err)
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(5 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s did not lead and sync within %s", rec.name, waitTimeout)
		}
	}
	rec.mu.Lock()
	start := rec.start
	rec.mu.Unlock()
	return rec.tap.wait(tapKey{kind: "snapshot", at: start.UnixNano()}, r.liveCount(), waitTimeout)
}

// term is SIGTERM: the process drains, flushes and ends (releasing its Lease
// after that).
func (r *runner) term(rec *recorder) error {
	rec.stop()
	select {
	case err := <-rec.done:
		r.forget(rec)
		if err != nil {
			return fmt.Errorf("%s after SIGTERM: %w", rec.name, err)
		}
		return nil
	case <-time.After(waitTimeout):
		return fmt.Errorf("%s did not end after SIGTERM", rec.name)
	}
}

func (r *runner) forget(rec *recorder) {
	for i, x := range r.recs {
		if x == rec {
			r.recs = append(r.recs[:i], r.recs[i+1:]...)
			return
		}
	}
}

// kill is SIGKILL and a restart at the same instant: nothing the process had
// not flushed is stored, and it makes no request again.
func (r *runner) kill(ctx context.Context, rec *recorder) (*recorder, error) {
	r.figs.Scenarios["sigkill-restart"]++
	rec.dead.Store(true)
	rec.stop()
	select {
	case <-rec.done:
	case <-time.After(waitTimeout):
		return nil, fmt.Errorf("%s did not die", rec.name)
	}
	return r.died(ctx, rec)
}

// died records the shadow of a process that ended without storing what it
// held, and starts its replacement at the same instant.
func (r *runner) died(ctx context.Context, rec *recorder) (*recorder, error) {
	r.forget(rec)
	rec.mu.Lock()
	good := rec.goodTick
	rec.mu.Unlock()
	r.truth.shadows = append(r.truth.shadows, span{good.Add(-5*time.Minute - snapInterval), r.clk.Now()})
	r.truth.deaths = append(r.truth.deaths, death{good: good, at: r.clk.Now()})
	r.logf("%s died; last complete flush %s; restarting", rec.name, good.Format("15:04:05"))
	return r.begin(ctx, rec.name+"'", false)
}

// burst grows the current hour from one shard to four with long-named pods,
// while a ResourceQuota lets only one more ConfigMap be created: the flush
// that grows the hour is refused midway; the process keeps what is pending
// and goes on, the quota is lifted, and the next flush stores it all. Then
// the burst's pods go away again.
func (r *runner) burst(ctx context.Context, rec *recorder) (*recorder, error) {
	r.figs.Scenarios["burst-to-4-shards"]++
	r.logf("burst of %d pods", r.cfg.BurstPods)
	now := r.clk.Now()
	r.burstHour = store.HourOf(now)
	names := make([]string, r.cfg.BurstPods)
	const alphabet = "abcdefghijklmnopqrstuvwxyz0123456789"
	for i := range names {
		b := make([]byte, 253)
		b[0] = 'b'
		for j := 1; j < len(b); j++ {
			b[j] = alphabet[r.rng.IntN(len(alphabet))]
		}
		names[i] = string(b)
	}
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(16)
	for _, name := range names {
		g.Go(func() error { return r.createPod(gctx, name, "node-long") })
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	for _, name := range names {
		r.truth.bind(name, "node-long", now)
	}
	for _, name := range names {
		if err := r.expect(tapKey{pod: name, node: "node-long", kind: "bound", at: now.UnixNano()}); err != nil {
			return nil, err
		}
	}

	// One more ConfigMap may be created (the quota's status is set by hand:
	// no controller-manager runs); in another store, the store refuses.
	r.figs.Scenarios["write-refused-mid-growth"]++
	lift, err := r.refuseGrowth(ctx)
	if err != nil {
		return nil, err
	}
	rec.mu.Lock()
	tick := rec.nextTick
	rec.mu.Unlock()
	if err := r.advanceTo(ctx, tick); err != nil {
		return nil, err
	}
	rec.mu.Lock()
	refused := rec.goodTick.Before(tick)
	rec.mu.Unlock()
	if !refused {
		return nil, fmt.Errorf("%s stored the growth the store was to refuse", rec.name)
	}
	// A refused write is kept, not dropped (issue 23): the process goes on,
	// and once the refusal is lifted its next flush stores everything.
	if err := lift(ctx); err != nil {
		return nil, err
	}
	rec.mu.Lock()
	next := rec.nextTick
	rec.mu.Unlock()
	if err := r.advanceTo(ctx, next); err != nil {
		return nil, err
	}
	select {
	case ended := <-rec.done:
		return nil, fmt.Errorf("%s ended after its growth was refused (%v): it must keep what is pending and go on", rec.name, ended)
	default:
	}
	rec.mu.Lock()
	stored := rec.goodTick.Equal(next)
	rec.mu.Unlock()
	if !stored {
		return nil, fmt.Errorf("%s did not store what the store had refused once the refusal was lifted (flush at %s)", rec.name, next.Format("15:04:05"))
	}

	// The burst leaves four minutes later.
	if err := r.advanceTo(ctx, r.clk.Now().Add(4*time.Minute)); err != nil {
		return nil, err
	}
	now = r.clk.Now()
	g, gctx = errgroup.WithContext(ctx)
	g.SetLimit(16)
	for _, name := range names {
		g.Go(func() error { return r.deletePod(gctx, name) })
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	for _, name := range names {
		r.truth.remove(name, now)
	}
	for _, name := range names {
		if err := r.expect(tapKey{pod: name, node: "node-long", kind: "deleted", at: now.UnixNano()}); err != nil {
			return nil, err
		}
	}
	return rec, nil
}

// restartAPIServer stops the API server for three minutes of fake time (a
// flush tick fails in between; snapshots come from the cache) and starts it
// again.
func (r *runner) restartAPIServer(ctx context.Context) error {
	if r.cfg.RestartAPIServer == nil {
		return nil
	}
	r.figs.Scenarios["apiserver-restart"]++
	return r.cfg.RestartAPIServer(ctx, func() error {
		return r.advanceTo(ctx, r.clk.Now().Add(3*time.Minute))
	})
}

// handOver is SIGTERM to the leader: it drains and flushes, then releases
// the Lease; the standby takes over and sends its initial snapshot, all at
// the same instant.
func (r *runner) handOver(ctx context.Context) error {
	r.figs.Scenarios["leader-hand-over"]++
	leaders := r.leaders()
	if len(leaders) != 1 {
		return fmt.Errorf("%d leaders before the hand-over, want 1", len(leaders))
	}
	var standby *recorder
	for _, rec := range r.recs {
		if rec != leaders[0] {
			standby = rec
		}
	}
	if err := r.term(leaders[0]); err != nil {
		return err
	}
	return r.synced(ctx, standby)
}

func (r *runner) cleanup() {
	for _, rec := range r.recs {
		rec.dead.Store(true)
		rec.stop()
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	for _, ns := range []string{r.podNS, r.storeNS} {
		_ = r.client.CoreV1().Namespaces().Delete(ctx, ns, metav1.DeleteOptions{})
	}
}

// refuseGrowth lets only one more object of the store be created: in the
// ConfigMap store by a ResourceQuota (the API server refuses), in another by
// the store itself (refusing). lift ends it.
func (r *runner) refuseGrowth(ctx context.Context) (lift func(context.Context) error, err error) {
	if r.objects != nil {
		r.objects.allow(1)
		return func(context.Context) error { r.objects.allow(-1); return nil }, nil
	}
	cms, err := r.client.CoreV1().ConfigMaps(r.storeNS).List(ctx, metav1.ListOptions{})
	if err != nil {
		return nil, err
	}
	used := len(cms.Items)
	count := corev1.ResourceName("count/configmaps")
	quotas := r.client.CoreV1().ResourceQuotas(r.storeNS)
	q, err := quotas.Create(ctx, &corev1.ResourceQuota{ObjectMeta: metav1.ObjectMeta{Name: "oracle"},
		Spec: corev1.ResourceQuotaSpec{Hard: corev1.ResourceList{count: *resource.NewQuantity(int64(used+1), resource.DecimalSI)}}}, metav1.CreateOptions{})
	if err != nil {
		return nil, err
	}
	q.Status = corev1.ResourceQuotaStatus{Hard: q.Spec.Hard, Used: corev1.ResourceList{count: *resource.NewQuantity(int64(used), resource.DecimalSI)}}
	if _, err := quotas.UpdateStatus(ctx, q, metav1.UpdateOptions{}); err != nil {
		return nil, err
	}
	return func(ctx context.Context) error { return quotas.Delete(ctx, "oracle", metav1.DeleteOptions{}) }, nil
}
