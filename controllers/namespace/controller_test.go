package namespace

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	clienttesting "k8s.io/client-go/testing"
	"k8s.io/klog/v2/ktesting"
)

// TestProcessNext checks the retry policy: remaining content comes back after
// its delay, failures come back rate limited, success does not come back.
func TestProcessNext(t *testing.T) {
	tests := []struct {
		name      string
		ns        *corev1.Namespace
		content   []runtime.Object
		grace     time.Duration
		failList  bool
		wantAfter time.Duration // 0: never comes back
	}{{
		name: "done",
		ns:   namespace("doomed", time.Minute, corev1.FinalizerKubernetes),
	}, {
		name:      "content remaining",
		ns:        namespace("doomed", 0, corev1.FinalizerKubernetes),
		content:   []runtime.Object{object("Pod", "doomed", "p")},
		grace:     20 * time.Second,
		wantAfter: 11 * time.Second,
	}, {
		name:      "failure",
		ns:        namespace("doomed", 0, corev1.FinalizerKubernetes),
		failList:  true,
		wantAfter: time.Millisecond, // rate limited: back after the first backoff step
	}}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, ctx := ktesting.NewTestContext(t)
			f := newFixture(t, []*corev1.Namespace{tc.ns}, tc.content...)
			f.grace[podsGVR] = tc.grace
			if tc.failList {
				f.metadata.PrependReactor("list", "*", func(clienttesting.Action) (bool, runtime.Object, error) {
					return true, nil, apierrors.NewInternalError(errors.New("boom"))
				})
			}
			f.ctrl.queue.Add(tc.ns.Name)
			if !f.ctrl.processNext(ctx) {
				t.Fatal("processNext() = false, want true")
			}
			if tc.wantAfter > time.Second {
				f.clock.Step(tc.wantAfter - time.Second)
				time.Sleep(50 * time.Millisecond)
				if n := f.ctrl.queue.Len(); n != 0 {
					t.Fatalf("queue length before the delay = %d, want 0", n)
				}
			}
			f.clock.Step(time.Minute)
			if tc.wantAfter == 0 {
				time.Sleep(50 * time.Millisecond)
				if n := f.ctrl.queue.Len(); n != 0 {
					t.Fatalf("queue length = %d, want 0", n)
				}
				return
			}
			if err := waitForLen(f, 1); err != nil {
				t.Fatal(err)
			}
		})
	}
}

func TestConfigValidate(t *testing.T) {
	f := newFixture(t, nil)
	full := Config{
		Client:    f.client,
		Metadata:  f.metadata,
		Discovery: f.client.Discovery(),
		Informer:  f.factory.Core().V1().Namespaces(),
	}
	if err := full.Validate(); err != nil {
		t.Errorf("Validate() of a full config = %v, want nil (Clock may be zero)", err)
	}
	for name, mutate := range map[string]func(*Config){
		"Client":    func(c *Config) { c.Client = nil },
		"Metadata":  func(c *Config) { c.Metadata = nil },
		"Discovery": func(c *Config) { c.Discovery = nil },
		"Informer":  func(c *Config) { c.Informer = nil },
	} {
		t.Run(name, func(t *testing.T) {
			cfg := full
			mutate(&cfg)
			if err := cfg.Validate(); !errors.Is(err, ErrInvalidConfig) {
				t.Errorf("Validate() = %v, want ErrInvalidConfig", err)
			}
			if _, err := New(cfg); !errors.Is(err, ErrInvalidConfig) {
				t.Errorf("New() = %v, want ErrInvalidConfig", err)
			}
		})
	}
}

// TestRun drives the controller through its informer: a namespace deleted
// while the controller runs is emptied and removed, an active one stays.
func TestRun(t *testing.T) {
	_, ctx := ktesting.NewTestContext(t)
	ctx, cancel := context.WithCancel(ctx)
	f := newFixture(t, []*corev1.Namespace{namespace("alive", active, corev1.FinalizerKubernetes)},
		object("ConfigMap", "doomed", "a"), object("Pod", "doomed", "p"), object("ConfigMap", "alive", "b"))

	done := make(chan error, 1)
	f.factory.Start(ctx.Done())
	go func() { done <- f.ctrl.Run(ctx, 2) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run() = %v, want nil", err)
		}
		f.factory.Shutdown()
	}()

	// Deleted namespaces reach the controller through the informer.
	if _, err := f.client.CoreV1().Namespaces().Create(ctx, namespace("doomed", 0, corev1.FinalizerKubernetes), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		_, err := f.client.CoreV1().Namespaces().Get(ctx, "doomed", metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("namespace still there after 10s: %v", err)
		}
		f.clock.Step(time.Second)
		time.Sleep(5 * time.Millisecond)
	}
	if diff := cmp.Diff([]string{"configmaps/alive/b"}, f.contentLeft(t)); diff != "" {
		t.Errorf("content left (-want +got):\n%s", diff)
	}
	if _, err := f.client.CoreV1().Namespaces().Get(ctx, "alive", metav1.GetOptions{}); err != nil {
		t.Errorf("get active namespace = %v, want it kept", err)
	}
}

func TestRunRejectsNoWorkers(t *testing.T) {
	_, ctx := ktesting.NewTestContext(t)
	f := newFixture(t, nil)
	if err := f.ctrl.Run(ctx, 0); err == nil {
		t.Error("Run(ctx, 0) = nil, want an error")
	}
}
