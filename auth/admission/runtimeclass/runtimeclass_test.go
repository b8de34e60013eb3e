package runtimeclass

import (
	"context"
	"testing"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	nodev1 "k8s.io/api/node/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apiserver/pkg/admission"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes/fake"
	"k8s.io/utils/ptr"
)

func overhead(cpu string) corev1.ResourceList {
	return corev1.ResourceList{corev1.ResourceCPU: resource.MustParse(cpu)}
}

func class(name string, mutate ...func(*nodev1.RuntimeClass)) *nodev1.RuntimeClass {
	rc := &nodev1.RuntimeClass{ObjectMeta: metav1.ObjectMeta{Name: name}, Handler: "runc"}
	for _, m := range mutate {
		m(rc)
	}
	return rc
}

func pod(class string, mutate ...func(*corev1.Pod)) *corev1.Pod {
	p := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "p", Namespace: "ns"},
		Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "app", Image: "x"}}},
	}
	if class != "" {
		p.Spec.RuntimeClassName = ptr.To(class)
	}
	for _, m := range mutate {
		m(p)
	}
	return p
}

func newPlugin(t *testing.T, cached []*nodev1.RuntimeClass, live ...runtime.Object) *Plugin {
	t.Helper()
	factory := informers.NewSharedInformerFactory(fake.NewClientset(), 0)
	p := New()
	p.SetExternalKubeClientSet(fake.NewClientset(live...))
	p.SetExternalKubeInformerFactory(factory)
	for _, rc := range cached {
		if err := factory.Node().V1().RuntimeClasses().Informer().GetIndexer().Add(rc); err != nil {
			t.Fatal(err)
		}
	}
	if err := p.ValidateInitialization(); err != nil {
		t.Fatal(err)
	}
	return p
}

func attrs(obj runtime.Object, sub string) admission.Attributes {
	return admission.NewAttributesRecord(obj, nil, corev1.SchemeGroupVersion.WithKind("Pod"), "ns", "p",
		corev1.SchemeGroupVersion.WithResource("pods"), sub, admission.Create, nil, false, nil)
}

func admit(p *Plugin, a admission.Attributes) error {
	ctx := context.Background()
	if err := p.Admit(ctx, a, nil); err != nil {
		return err
	}
	return p.Validate(ctx, a, nil)
}

func TestAdmit(t *testing.T) {
	withOverhead := class("kata", func(rc *nodev1.RuntimeClass) { rc.Overhead = &nodev1.Overhead{PodFixed: overhead("250m")} })
	scheduled := class("gpu", func(rc *nodev1.RuntimeClass) {
		rc.Scheduling = &nodev1.Scheduling{
			NodeSelector: map[string]string{"runtime": "gpu"},
			Tolerations:  []corev1.Toleration{{Key: "gpu", Operator: corev1.TolerationOpExists}},
		}
	})
	classes := []*nodev1.RuntimeClass{class("runc"), withOverhead, scheduled}
	for _, tc := range []struct {
		name    string
		pod     *corev1.Pod
		want    *corev1.Pod // nil: unchanged
		wantErr string
	}{{
		name: "no class",
		pod:  pod(""),
	}, {
		name: "class without overhead or scheduling",
		pod:  pod("runc"),
	}, {
		name:    "missing class",
		pod:     pod("nope"),
		wantErr: `pods "p" is forbidden: pod rejected: RuntimeClass "nope" not found`,
	}, {
		name: "overhead copied",
		pod:  pod("kata"),
		want: pod("kata", func(p *corev1.Pod) { p.Spec.Overhead = overhead("250m") }),
	}, {
		name: "same overhead kept",
		pod:  pod("kata", func(p *corev1.Pod) { p.Spec.Overhead = overhead("0.25") }),
		want: pod("kata", func(p *corev1.Pod) { p.Spec.Overhead = overhead("250m") }),
	}, {
		name:    "different overhead",
		pod:     pod("kata", func(p *corev1.Pod) { p.Spec.Overhead = overhead("1") }),
		wantErr: `pods "p" is forbidden: pod rejected: Pod's Overhead doesn't match RuntimeClass's defined Overhead`,
	}, {
		name:    "overhead without class overhead",
		pod:     pod("runc", func(p *corev1.Pod) { p.Spec.Overhead = overhead("1") }),
		wantErr: `pods "p" is forbidden: pod rejected: Pod Overhead set without corresponding RuntimeClass defined Overhead`,
	}, {
		name: "scheduling merged",
		pod: pod("gpu", func(p *corev1.Pod) {
			p.Spec.NodeSelector = map[string]string{"zone": "a"}
			p.Spec.Tolerations = []corev1.Toleration{
				{Key: "gpu", Operator: corev1.TolerationOpEqual, Value: "x", Effect: corev1.TaintEffectNoSchedule},
				{Key: "other", Operator: corev1.TolerationOpExists},
			}
		}),
		want: pod("gpu", func(p *corev1.Pod) {
			p.Spec.NodeSelector = map[string]string{"zone": "a", "runtime": "gpu"}
			p.Spec.Tolerations = []corev1.Toleration{
				{Key: "other", Operator: corev1.TolerationOpExists},
				{Key: "gpu", Operator: corev1.TolerationOpExists},
			}
		}),
	}, {
		name: "scheduling into an empty pod",
		pod:  pod("gpu"),
		want: pod("gpu", func(p *corev1.Pod) {
			p.Spec.NodeSelector = map[string]string{"runtime": "gpu"}
			p.Spec.Tolerations = []corev1.Toleration{{Key: "gpu", Operator: corev1.TolerationOpExists}}
		}),
	}, {
		name:    "selector conflict",
		pod:     pod("gpu", func(p *corev1.Pod) { p.Spec.NodeSelector = map[string]string{"runtime": "cpu"} }),
		wantErr: `pods "p" is forbidden: conflict: runtimeClass.scheduling.nodeSelector[runtime] = gpu; pod.spec.nodeSelector[runtime] = cpu`,
	}} {
		t.Run(tc.name, func(t *testing.T) {
			p := newPlugin(t, classes)
			before := tc.pod.DeepCopy()
			err := admit(p, attrs(tc.pod, ""))
			if tc.wantErr != "" {
				if !apierrors.IsForbidden(err) || err.Error() != tc.wantErr {
					t.Fatalf("error = %v\nwant Forbidden %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			want := tc.want
			if want == nil {
				want = before
			}
			if diff := cmp.Diff(want, tc.pod); diff != "" {
				t.Errorf("pod (-want +got):\n%s", diff)
			}
		})
	}
}

// TestLiveLookup: a class the informer has not seen yet is found on the
// API server.
func TestLiveLookup(t *testing.T) {
	p := newPlugin(t, nil, class("kata", func(rc *nodev1.RuntimeClass) { rc.Overhead = &nodev1.Overhead{PodFixed: overhead("1")} }))
	pd := pod("kata")
	if err := admit(p, attrs(pd, "")); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(overhead("1"), pd.Spec.Overhead); diff != "" {
		t.Errorf("overhead (-want +got):\n%s", diff)
	}
}

func TestIgnored(t *testing.T) {
	p := newPlugin(t, nil)
	if err := admit(p, attrs(pod("nope"), "status")); err != nil {
		t.Errorf("subresource: %v", err)
	}
	cm := admission.NewAttributesRecord(&corev1.ConfigMap{}, nil, corev1.SchemeGroupVersion.WithKind("ConfigMap"), "ns", "p",
		corev1.SchemeGroupVersion.WithResource("configmaps"), "", admission.Create, nil, false, nil)
	if err := admit(p, cm); err != nil {
		t.Errorf("config map: %v", err)
	}
	if p.Handles(admission.Update) {
		t.Error("handles updates")
	}
}

func TestMergeTolerations(t *testing.T) {
	exists := func(key string) corev1.Toleration {
		return corev1.Toleration{Key: key, Operator: corev1.TolerationOpExists}
	}
	equal := func(key, value string, effect corev1.TaintEffect) corev1.Toleration {
		return corev1.Toleration{Key: key, Operator: corev1.TolerationOpEqual, Value: value, Effect: effect}
	}
	noExecute := func(key string, seconds *int64) corev1.Toleration {
		return corev1.Toleration{Key: key, Operator: corev1.TolerationOpExists, Effect: corev1.TaintEffectNoExecute, TolerationSeconds: seconds}
	}
	for _, tc := range []struct {
		name       string
		pod, class []corev1.Toleration
		want       []corev1.Toleration
	}{
		{"disjoint", []corev1.Toleration{exists("a")}, []corev1.Toleration{exists("b")}, []corev1.Toleration{exists("a"), exists("b")}},
		{"duplicate keeps first", []corev1.Toleration{exists("a")}, []corev1.Toleration{exists("a")}, []corev1.Toleration{exists("a")}},
		{"exists covers equal", []corev1.Toleration{equal("a", "v", "")}, []corev1.Toleration{exists("a")}, []corev1.Toleration{exists("a")}},
		{"empty effect covers one", []corev1.Toleration{equal("a", "v", corev1.TaintEffectNoSchedule)}, []corev1.Toleration{equal("a", "v", "")},
			[]corev1.Toleration{equal("a", "v", "")}},
		{"different values kept", []corev1.Toleration{equal("a", "v", "")}, []corev1.Toleration{equal("a", "w", "")},
			[]corev1.Toleration{equal("a", "v", ""), equal("a", "w", "")}},
		{"wildcard covers all", []corev1.Toleration{exists("a"), equal("b", "v", "")}, []corev1.Toleration{{Operator: corev1.TolerationOpExists}},
			[]corev1.Toleration{{Operator: corev1.TolerationOpExists}}},
		{"shorter tolerationSeconds is covered", []corev1.Toleration{noExecute("a", ptr.To[int64](10))}, []corev1.Toleration{noExecute("a", ptr.To[int64](60))},
			[]corev1.Toleration{noExecute("a", ptr.To[int64](60))}},
		{"unbounded not covered by bounded", []corev1.Toleration{noExecute("a", nil)}, []corev1.Toleration{noExecute("a", ptr.To[int64](60))},
			[]corev1.Toleration{noExecute("a", nil)}},
		{"nothing", nil, nil, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if diff := cmp.Diff(tc.want, mergeTolerations(tc.pod, tc.class)); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}
