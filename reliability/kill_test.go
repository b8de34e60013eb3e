package reliability

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/cache"
)

const (
	killNamespace = "reliability"
	// updatesPerObject is how many updates a writer makes to an object before
	// it creates the next one.
	updatesPerObject = 20
)

// TestKillAndRestart runs writers that create and update ConfigMaps as fast as
// they can, and an informer on them, while the server is killed with SIGKILL
// at random moments and restarted on the same data dir (KUBELITE_TRIALS times,
// 20 by default, 3 with -short). It checks:
//
//   - durability: every write the server acknowledged is there after each
//     restart, with the acknowledged content; a write whose outcome the client
//     never learnt (the kill cut it) is either wholly there or wholly absent;
//   - resourceVersions only grow: per object across its writes, and every
//     write made after a restart has a greater one than every write
//     acknowledged before it;
//   - watch continuity: at the end the informer's cache equals a fresh list,
//     and per object it never delivered a version twice or out of order, nor
//     missed the final version of any object.
func TestKillAndRestart(t *testing.T) {
	trials := 3
	if full() {
		trials = envInt(t, "KUBELITE_TRIALS", 20)
	}
	p := startProcess(t)
	cfg := p.config()
	cfg.Timeout = 30 * time.Second
	client := kubernetes.NewForConfigOrDie(cfg)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	if _, err := client.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: killNamespace}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}

	rec := newRecorder()
	watch := startWatchRecorder(t, ctx, kubernetes.NewForConfigOrDie(p.config()))

	var wg sync.WaitGroup
	writers := 6
	stop := make(chan struct{})
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rec.write(t, ctx, client, w, stop)
		}()
	}

	var outages []time.Duration
	for trial := range trials {
		time.Sleep(time.Duration(300+rand.IntN(2700)) * time.Millisecond)
		if p.exited() {
			t.Fatalf("trial %d: the server exited by itself", trial)
		}
		before := rec.acked.Load()
		p.kill()
		rec.epoch.Add(1)
		down := time.Now()
		p.start()
		outages = append(outages, time.Since(down))
		if rec.acked.Load() == before {
			t.Logf("trial %d: no write acknowledged since the last restart", trial)
		}
		rec.checkFinished(t, ctx, client, trial)
	}
	// Let the writers run against the last server, then stop them.
	time.Sleep(time.Second)
	close(stop)
	wg.Wait()
	rec.checkFinished(t, ctx, client, trials)
	rec.checkOrder(t)
	lost, dup, replays, missed := watch.check(t, ctx, client, rec)

	slices.Sort(outages)
	figure(t, "kill-restart trials=%d acknowledged-writes=%d unknown-outcome=%d lost=%d write-rate=%.0f/s restart-p50=%v restart-max=%v",
		trials, rec.acked.Load(), rec.unknown.Load(), rec.lost.Load(),
		float64(rec.acked.Load())/rec.elapsed().Seconds(), outages[len(outages)/2].Round(time.Millisecond), outages[len(outages)-1].Round(time.Millisecond))
	figure(t, "watch-continuity events=%d lost=%d duplicated-or-out-of-order=%d relist-replays=%d intermediate-versions-collapsed-by-relist=%d",
		watch.events.Load(), lost, dup, replays, missed)
}

// ack is a version of an object the server acknowledged (or that a read
// showed after a write whose outcome was unknown).
type ack struct {
	n     int   // the counter the writer wrote into the data
	rv    int64 // its resourceVersion
	epoch int64 // the restart epoch the write was sent in
}

// recorder holds what the writers know of their objects.
type recorder struct {
	start   time.Time
	end     atomic.Int64
	epoch   atomic.Int64 // incremented at each kill
	acked   atomic.Int64
	unknown atomic.Int64
	lost    atomic.Int64

	mu       sync.Mutex
	versions map[string][]ack // every acknowledged version of each object
	finished map[string]ack   // objects no longer written, with their last version
	ackedAt  []time.Time      // when each version was acknowledged, in order
}

func newRecorder() *recorder {
	return &recorder{start: time.Now(), versions: map[string][]ack{}, finished: map[string]ack{}}
}

func (r *recorder) elapsed() time.Duration {
	if e := r.end.Load(); e != 0 {
		return time.Duration(e)
	}
	return time.Since(r.start)
}

func (r *recorder) record(name string, a ack) {
	r.mu.Lock()
	r.versions[name] = append(r.versions[name], a)
	r.ackedAt = append(r.ackedAt, time.Now())
	r.mu.Unlock()
}

// longestOutage is the longest time from since to the writers' stop during
// which no write was acknowledged, counted from since (or the last
// acknowledgement before it).
func (r *recorder) longestOutage(since time.Time) time.Duration {
	r.mu.Lock()
	defer r.mu.Unlock()
	end := r.start.Add(r.elapsed())
	var longest time.Duration
	prev := since
	for _, at := range r.ackedAt {
		if at.Before(since) {
			prev = at
			continue
		}
		longest = max(longest, at.Sub(prev))
		prev = at
	}
	return max(longest, end.Sub(prev))
}

func configMap(name string, n int) *corev1.ConfigMap {
	return &corev1.ConfigMap{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: killNamespace},
		Data:       map[string]string{"n": strconv.Itoa(n), "payload": fmt.Sprintf("%s-%d-%0200d", name, n, n)},
	}
}

func counter(cm *corev1.ConfigMap) (int, error) {
	n, err := strconv.Atoi(cm.Data["n"])
	if err != nil || cm.Data["payload"] != configMap(cm.Name, n).Data["payload"] {
		return 0, fmt.Errorf("%s has content no writer wrote: %v", cm.Name, cm.Data)
	}
	return n, nil
}

func rvOf(t testing.TB, o metav1.Object) int64 {
	rv, err := strconv.ParseInt(o.GetResourceVersion(), 10, 64)
	if err != nil {
		t.Errorf("%s: resourceVersion %q: %v", o.GetName(), o.GetResourceVersion(), err)
	}
	return rv
}

// write is one writer: it creates an object, updates it updatesPerObject
// times, and moves on to the next, until stop is closed. A write that fails
// has an unknown outcome: the writer reads the object back (retrying until the
// server answers) and accepts only the last acknowledged version or the one it
// tried to write.
func (r *recorder) write(t *testing.T, ctx context.Context, client kubernetes.Interface, w int, stop chan struct{}) {
	cms := client.CoreV1().ConfigMaps(killNamespace)
	for i := 0; ; i++ {
		name := fmt.Sprintf("w%d-%d", w, i)
		var last *ack // nil: not created yet
		var lastObj *corev1.ConfigMap
		for last == nil || last.n < updatesPerObject {
			select {
			case <-stop:
				if last != nil {
					r.mu.Lock()
					r.finished[name] = *last
					r.mu.Unlock()
				}
				r.end.CompareAndSwap(0, int64(time.Since(r.start)))
				return
			default:
			}
			epoch := r.epoch.Load()
			var got *corev1.ConfigMap
			var err error
			want := 0
			if last == nil {
				got, err = cms.Create(ctx, configMap(name, 0), metav1.CreateOptions{})
			} else {
				want = last.n + 1
				next := configMap(name, want)
				next.ResourceVersion = lastObj.ResourceVersion
				got, err = cms.Update(ctx, next, metav1.UpdateOptions{})
			}
			if err == nil {
				n, cerr := counter(got)
				if cerr != nil || n != want {
					t.Errorf("%s: the server acknowledged n=%d with %v (%v)", name, want, got.Data, cerr)
				}
				a := ack{n: want, rv: rvOf(t, got), epoch: epoch}
				if last != nil && a.rv <= last.rv {
					t.Errorf("%s: resourceVersion went from %d to %d", name, last.rv, a.rv)
				}
				r.record(name, a)
				r.acked.Add(1)
				last, lastObj = &a, got
				continue
			}
			// Unknown outcome: read the object back once the server answers.
			r.unknown.Add(1)
			var cur *corev1.ConfigMap
			werr := wait.PollUntilContextTimeout(ctx, 100*time.Millisecond, 3*time.Minute, true, func(ctx context.Context) (bool, error) {
				cur, err = cms.Get(ctx, name, metav1.GetOptions{})
				if apierrors.IsNotFound(err) {
					cur, err = nil, nil
				}
				return err == nil, nil
			})
			if werr != nil {
				t.Errorf("%s: no answer to a read after a failed write: %v", name, errors.Join(werr, err))
				return
			}
			switch {
			case cur == nil && last == nil:
				// The create was not applied; try it again.
			case cur == nil:
				r.lost.Add(1)
				t.Errorf("%s: LOST: acknowledged at n=%d rv=%d, now missing", name, last.n, last.rv)
				return
			default:
				n, cerr := counter(cur)
				rv := rvOf(t, cur)
				switch {
				case cerr != nil:
					r.lost.Add(1)
					t.Errorf("%s: %v", name, cerr)
					return
				case last != nil && n == last.n && rv == last.rv:
					// The write was not applied.
				case n == want && (last == nil || rv > last.rv):
					// It was: the read acknowledges it.
					a := ack{n: want, rv: rv, epoch: epoch}
					r.record(name, a)
					last, lastObj = &a, cur
				default:
					r.lost.Add(1)
					t.Errorf("%s: LOST: acknowledged n=%v, tried n=%d, the server has n=%d rv=%d", name, last, want, n, rv)
					return
				}
			}
		}
		r.mu.Lock()
		r.finished[name] = *last
		r.mu.Unlock()
	}
}

// checkFinished lists the objects and checks that each the writers finished
// is there with its last acknowledged version, untouched.
func (r *recorder) checkFinished(t *testing.T, ctx context.Context, client kubernetes.Interface, trial int) {
	r.mu.Lock()
	finished := make(map[string]ack, len(r.finished))
	for k, v := range r.finished {
		finished[k] = v
	}
	r.mu.Unlock()
	list, err := client.CoreV1().ConfigMaps(killNamespace).List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatalf("trial %d: list: %v", trial, err)
	}
	have := map[string]*corev1.ConfigMap{}
	for i := range list.Items {
		have[list.Items[i].Name] = &list.Items[i]
	}
	for name, a := range finished {
		cm := have[name]
		if cm == nil {
			r.lost.Add(1)
			t.Errorf("trial %d: %s: LOST: acknowledged n=%d rv=%d, missing", trial, name, a.n, a.rv)
			continue
		}
		n, err := counter(cm)
		if err != nil || n != a.n || rvOf(t, cm) != a.rv {
			r.lost.Add(1)
			t.Errorf("trial %d: %s: acknowledged n=%d rv=%d, the server has n=%d rv=%s (%v)", trial, name, a.n, a.rv, n, cm.ResourceVersion, err)
		}
	}
}

// checkOrder checks that every write sent after a restart got a greater
// resourceVersion than every write acknowledged before it.
func (r *recorder) checkOrder(t *testing.T) {
	r.mu.Lock()
	defer r.mu.Unlock()
	maxBefore := map[int64]int64{} // epoch -> the largest rv acknowledged in it
	minIn := map[int64]int64{}
	for _, vs := range r.versions {
		for _, a := range vs {
			maxBefore[a.epoch] = max(maxBefore[a.epoch], a.rv)
			if m, ok := minIn[a.epoch]; !ok || a.rv < m {
				minIn[a.epoch] = a.rv
			}
		}
	}
	var floor int64
	for e := int64(0); e <= r.epoch.Load(); e++ {
		if m, ok := minIn[e]; ok && m <= floor {
			t.Errorf("epoch %d: a write got resourceVersion %d, not above %d acknowledged before the restart", e, m, floor)
		}
		floor = max(floor, maxBefore[e])
	}
}

// watchRecorder is an informer on the writers' objects that records what it
// delivers.
type watchRecorder struct {
	informer cache.SharedIndexInformer
	events   atomic.Int64
	replays  atomic.Int64
	bad      atomic.Int64

	mu        sync.Mutex
	delivered map[string][]int64 // resourceVersions delivered per object, in order
}

func startWatchRecorder(t *testing.T, ctx context.Context, client kubernetes.Interface) *watchRecorder {
	f := informers.NewSharedInformerFactoryWithOptions(client, 0, informers.WithNamespace(killNamespace))
	w := &watchRecorder{informer: f.Core().V1().ConfigMaps().Informer(), delivered: map[string][]int64{}}
	see := func(cm *corev1.ConfigMap, kind string) {
		rv := rvOf(t, cm)
		w.mu.Lock()
		defer w.mu.Unlock()
		seq := w.delivered[cm.Name]
		if n := len(seq); n > 0 && rv <= seq[n-1] {
			w.bad.Add(1)
			t.Errorf("informer: %s of %s at resourceVersion %d after %d", kind, cm.Name, rv, seq[n-1])
		}
		w.delivered[cm.Name] = append(seq, rv)
		w.events.Add(1)
	}
	_, err := w.informer.AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc: func(obj any) { see(obj.(*corev1.ConfigMap), "add") },
		UpdateFunc: func(old, obj any) {
			o, n := old.(*corev1.ConfigMap), obj.(*corev1.ConfigMap)
			if o.ResourceVersion == n.ResourceVersion {
				// A relist handing over what the cache holds already.
				w.replays.Add(1)
				return
			}
			see(n, "update")
		},
		DeleteFunc: func(obj any) {
			w.bad.Add(1)
			t.Errorf("informer: delete of %v, but nothing deletes", obj)
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	f.Start(ctx.Done())
	if !cache.WaitForCacheSync(ctx.Done(), w.informer.HasSynced) {
		t.Fatal("informer did not sync")
	}
	return w
}

// check waits for the informer to catch up with a fresh list and compares
// them; it returns the objects whose final version the informer lacks, the
// versions delivered twice or out of order, the relist replays and the
// acknowledged intermediate versions the informer never delivered (a relist
// after a restart hands over only the latest).
func (w *watchRecorder) check(t *testing.T, ctx context.Context, client kubernetes.Interface, r *recorder) (lost, dup, replays, collapsed int) {
	var list *corev1.ConfigMapList
	var diff []string
	err := wait.PollUntilContextTimeout(ctx, 200*time.Millisecond, time.Minute, true, func(ctx context.Context) (bool, error) {
		var err error
		if list, err = client.CoreV1().ConfigMaps(killNamespace).List(ctx, metav1.ListOptions{}); err != nil {
			return false, nil
		}
		diff = diff[:0]
		for _, cm := range list.Items {
			o, ok, _ := w.informer.GetStore().GetByKey(killNamespace + "/" + cm.Name)
			if !ok || o.(*corev1.ConfigMap).ResourceVersion != cm.ResourceVersion {
				diff = append(diff, cm.Name)
			}
		}
		return len(diff) == 0 && len(w.informer.GetStore().ListKeys()) == len(list.Items), nil
	})
	if err != nil {
		t.Errorf("the informer's cache differs from a fresh list (%d objects) at %v", len(list.Items), diff)
	}
	lost = len(diff)
	w.mu.Lock()
	defer w.mu.Unlock()
	r.mu.Lock()
	defer r.mu.Unlock()
	for name, vs := range r.versions {
		seen := map[int64]bool{}
		for _, rv := range w.delivered[name] {
			seen[rv] = true
		}
		for i, a := range vs {
			if !seen[a.rv] {
				if i == len(vs)-1 {
					lost++
					t.Errorf("informer: never delivered the last version of %s (rv %d)", name, a.rv)
				} else {
					collapsed++
				}
			}
		}
	}
	return lost, int(w.bad.Load()), int(w.replays.Load()), collapsed
}

// full reports whether the suite runs at its whole size
// (KUBELITE_RELIABILITY=full, as `make reliability` sets it) rather than the
// fast part that `make test` runs.
func full() bool { return os.Getenv("KUBELITE_RELIABILITY") == "full" }
