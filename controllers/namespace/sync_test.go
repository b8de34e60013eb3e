package namespace

import (
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

func TestSync(t *testing.T) {
	allOK := []string{
		"NamespaceDeletionDiscoveryFailure=False:ResourcesDiscovered",
		"NamespaceDeletionGroupVersionParsingFailure=False:ParsedGroupVersions",
		"NamespaceDeletionContentFailure=False:ContentDeleted",
		"NamespaceContentRemaining=False:ContentRemoved",
		"NamespaceFinalizersRemaining=False:ContentHasNoFinalizers",
	}
	kube := corev1.FinalizerKubernetes
	tests := []struct {
		name       string
		namespaces []*corev1.Namespace
		content    []runtime.Object
		setup      func(*fixture)
		wantErr    bool
		wantAfter  time.Duration // a contentRemainingError with this delay
		wantLeft   []string
		wantWrites []string
		wantConds  []string
		wantGone   bool
		wantFinals []corev1.FinalizerName // spec.finalizers left when not gone
	}{{
		name:       "terminating namespace is emptied, finalized and deleted",
		namespaces: []*corev1.Namespace{namespace("doomed", time.Minute, kube)},
		content: []runtime.Object{
			object("ConfigMap", "doomed", "a"), object("ConfigMap", "doomed", "b"),
			object("Pod", "doomed", "p"), object("Widget", "doomed", "w"),
			object("ConfigMap", "other", "kept"),
		},
		wantLeft:   []string{"configmaps/other/kept"},
		wantWrites: []string{"update/status", "create/finalize", "delete"},
		wantConds:  allOK,
		wantGone:   true,
	}, {
		name:       "active namespace is untouched",
		namespaces: []*corev1.Namespace{namespace("alive", active, kube)},
		content:    []runtime.Object{object("ConfigMap", "alive", "a"), object("Pod", "alive", "p")},
		wantLeft:   []string{"configmaps/alive/a", "pods/alive/p"},
		wantFinals: []corev1.FinalizerName{kube},
	}, {
		name:    "missing namespace is a no-op",
		content: []runtime.Object{object("ConfigMap", "ghost", "a")},
		// The namespace is gone, so its leftovers are someone else's business.
		wantLeft: []string{"configmaps/ghost/a"},
		wantGone: true,
	}, {
		name:       "pods in graceful deletion hold back the rest",
		namespaces: []*corev1.Namespace{namespace("doomed", 0, kube)},
		content:    []runtime.Object{object("Pod", "doomed", "p"), object("ConfigMap", "doomed", "a")},
		setup:      func(f *fixture) { f.grace[podsGVR] = 30 * time.Second },
		wantAfter:  16 * time.Second,
		wantLeft:   []string{"configmaps/doomed/a", "pods/doomed/p"},
		wantWrites: []string{"update/status"},
		wantConds: []string{
			"NamespaceDeletionDiscoveryFailure=False:ResourcesDiscovered",
			"NamespaceDeletionGroupVersionParsingFailure=False:ParsedGroupVersions",
			"NamespaceDeletionContentFailure=False:ContentDeleted",
			"NamespaceContentRemaining=True:SomeResourcesRemain",
			"NamespaceFinalizersRemaining=False:ContentHasNoFinalizers",
		},
		wantFinals: []corev1.FinalizerName{kube},
	}, {
		name:       "content held by finalizers is waited for",
		namespaces: []*corev1.Namespace{namespace("doomed", time.Minute, kube)},
		content:    []runtime.Object{object("ConfigMap", "doomed", "held", "example.com/hold")},
		wantAfter:  finalizerWait/2 + time.Second,
		wantLeft:   []string{"configmaps/doomed/held"},
		wantWrites: []string{"update/status"},
		wantConds: []string{
			"NamespaceDeletionDiscoveryFailure=False:ResourcesDiscovered",
			"NamespaceDeletionGroupVersionParsingFailure=False:ParsedGroupVersions",
			"NamespaceDeletionContentFailure=False:ContentDeleted",
			"NamespaceContentRemaining=True:SomeResourcesRemain",
			"NamespaceFinalizersRemaining=True:SomeFinalizersRemain",
		},
		wantFinals: []corev1.FinalizerName{kube},
	}, {
		name:       "failed content deletion blocks finalization",
		namespaces: []*corev1.Namespace{namespace("doomed", time.Minute, kube)},
		content:    []runtime.Object{object("ConfigMap", "doomed", "a")},
		setup: func(f *fixture) {
			f.metadata.PrependReactor("delete-collection", "configmaps", func(clienttesting.Action) (bool, runtime.Object, error) {
				return true, nil, apierrors.NewInternalError(errors.New("etcd is sad"))
			})
		},
		wantErr:    true,
		wantLeft:   []string{"configmaps/doomed/a"},
		wantWrites: []string{"update/status"},
		wantConds: []string{
			"NamespaceDeletionDiscoveryFailure=False:ResourcesDiscovered",
			"NamespaceDeletionGroupVersionParsingFailure=False:ParsedGroupVersions",
			"NamespaceDeletionContentFailure=True:ContentDeletionFailed",
			"NamespaceContentRemaining=False:ContentRemoved",
			"NamespaceFinalizersRemaining=False:ContentHasNoFinalizers",
		},
		wantFinals: []corev1.FinalizerName{kube},
	}, {
		name:       "failed discovery blocks finalization",
		namespaces: []*corev1.Namespace{namespace("doomed", time.Minute, kube)},
		setup: func(f *fixture) {
			f.client.PrependReactor("get", "resource", func(clienttesting.Action) (bool, runtime.Object, error) {
				return true, nil, errors.New("discovery is down")
			})
		},
		wantErr:    true,
		wantWrites: []string{"update/status"},
		wantConds: []string{
			"NamespaceDeletionDiscoveryFailure=True:DiscoveryFailed",
			"NamespaceDeletionGroupVersionParsingFailure=False:ParsedGroupVersions",
			"NamespaceDeletionContentFailure=False:ContentDeleted",
			"NamespaceContentRemaining=False:ContentRemoved",
			"NamespaceFinalizersRemaining=False:ContentHasNoFinalizers",
		},
		wantFinals: []corev1.FinalizerName{kube},
	}, {
		name:       "other finalizers keep the namespace",
		namespaces: []*corev1.Namespace{namespace("doomed", time.Minute, kube, "example.com/other")},
		wantWrites: []string{"update/status", "create/finalize"},
		wantConds:  allOK,
		wantFinals: []corev1.FinalizerName{"example.com/other"},
	}, {
		name:       "finalized namespace is deleted",
		namespaces: []*corev1.Namespace{namespace("doomed", time.Minute)},
		content:    []runtime.Object{object("ConfigMap", "other", "kept")},
		wantLeft:   []string{"configmaps/other/kept"},
		wantWrites: []string{"delete"},
		wantGone:   true,
	}}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, ctx := ktesting.NewTestContext(t)
			f := newFixture(t, tc.namespaces, tc.content...)
			if tc.setup != nil {
				tc.setup(f)
			}
			name := "ghost"
			if len(tc.namespaces) > 0 {
				name = tc.namespaces[0].Name
			}

			err := f.ctrl.sync(ctx, name)
			var remaining *contentRemainingError
			switch {
			case tc.wantAfter > 0:
				if !errors.As(err, &remaining) || remaining.after != tc.wantAfter {
					t.Fatalf("sync() = %v, want content remaining for %s", err, tc.wantAfter)
				}
			case tc.wantErr:
				if err == nil || errors.As(err, &remaining) {
					t.Fatalf("sync() = %v, want a failure", err)
				}
			case err != nil:
				t.Fatalf("sync() = %v", err)
			}

			if diff := cmp.Diff(tc.wantLeft, f.contentLeft(t)); diff != "" {
				t.Errorf("content left (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tc.wantWrites, f.namespaceWrites()); diff != "" {
				t.Errorf("namespace writes (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tc.wantConds, f.lastConditions()); diff != "" {
				t.Errorf("conditions (-want +got):\n%s", diff)
			}
			ns, err := f.client.CoreV1().Namespaces().Get(ctx, name, metav1.GetOptions{})
			if gone := apierrors.IsNotFound(err); gone != tc.wantGone {
				t.Fatalf("namespace gone = %v (err %v), want %v", gone, err, tc.wantGone)
			}
			if ns != nil && !tc.wantGone {
				if diff := cmp.Diff(tc.wantFinals, ns.Spec.Finalizers); diff != "" {
					t.Errorf("spec.finalizers (-want +got):\n%s", diff)
				}
			}
		})
	}
}

// TestSyncUntilGone follows one namespace through several passes: pods in
// their grace period first, then the rest, then the namespace itself.
func TestSyncUntilGone(t *testing.T) {
	_, ctx := ktesting.NewTestContext(t)
	f := newFixture(t, []*corev1.Namespace{namespace("doomed", 0, corev1.FinalizerKubernetes)},
		object("Pod", "doomed", "p"), object("ConfigMap", "doomed", "a"))
	f.grace[podsGVR] = 10 * time.Second

	var remaining *contentRemainingError
	if err := f.ctrl.sync(ctx, "doomed"); !errors.As(err, &remaining) || remaining.after != 6*time.Second {
		t.Fatalf("first sync() = %v, want content remaining for 6s", err)
	}
	f.clock.Step(6 * time.Second)
	if err := f.ctrl.sync(ctx, "doomed"); !errors.As(err, &remaining) || remaining.after != 3*time.Second {
		t.Fatalf("second sync() = %v, want content remaining for 3s", err)
	}
	if diff := cmp.Diff([]string{"configmaps/doomed/a", "pods/doomed/p"}, f.contentLeft(t)); diff != "" {
		t.Fatalf("content left while pods terminate (-want +got):\n%s", diff)
	}

	// The node agent confirms the pod stopped.
	if err := f.metadata.Tracker().Delete(podsGVR, "doomed", "p"); err != nil {
		t.Fatal(err)
	}
	f.clock.Step(3 * time.Second)
	if err := f.ctrl.sync(ctx, "doomed"); err != nil {
		t.Fatalf("last sync() = %v", err)
	}
	if left := f.contentLeft(t); len(left) != 0 {
		t.Errorf("content left = %v, want none", left)
	}
	if _, err := f.client.CoreV1().Namespaces().Get(ctx, "doomed", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("get namespace = %v, want NotFound", err)
	}
	// The first pass wrote the conditions; the second found them unchanged.
	want := []string{"update/status", "update/status", "create/finalize", "delete"}
	if diff := cmp.Diff(want, f.namespaceWrites()); diff != "" {
		t.Errorf("namespace writes (-want +got):\n%s", diff)
	}
}
