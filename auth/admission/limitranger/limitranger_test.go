package limitranger

import (
	"context"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apiserver/pkg/admission"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes/fake"
	testingclock "k8s.io/utils/clock/testing"
)

func q(s string) resource.Quantity { return resource.MustParse(s) }

func list(cpu, mem string) corev1.ResourceList {
	l := corev1.ResourceList{}
	if cpu != "" {
		l[corev1.ResourceCPU] = q(cpu)
	}
	if mem != "" {
		l[corev1.ResourceMemory] = q(mem)
	}
	return l
}

func limitRange(items ...corev1.LimitRangeItem) *corev1.LimitRange {
	return &corev1.LimitRange{ObjectMeta: metav1.ObjectMeta{Name: "limits", Namespace: "ns"}, Spec: corev1.LimitRangeSpec{Limits: items}}
}

// upstreamE2E is the LimitRange of upstream's conformance test: min, max,
// default and defaultRequest for containers.
func upstreamE2E() *corev1.LimitRange {
	return limitRange(corev1.LimitRangeItem{
		Type:           corev1.LimitTypeContainer,
		Min:            list("50m", "100Mi"),
		Max:            list("500m", "500Mi"),
		Default:        list("500m", "500Mi"),
		DefaultRequest: list("100m", "200Mi"),
	})
}

func pod(requests, limits corev1.ResourceList) *corev1.Pod {
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "p", Namespace: "ns"},
		Spec: corev1.PodSpec{Containers: []corev1.Container{{
			Name: "app", Image: "x", Resources: corev1.ResourceRequirements{Requests: requests, Limits: limits},
		}}},
	}
}

// newPlugin returns a plugin whose informer holds cached and whose client
// serves live, with a fake clock.
func newPlugin(t *testing.T, cached []*corev1.LimitRange, live ...runtime.Object) (*Plugin, *fake.Clientset, *testingclock.FakeClock) {
	t.Helper()
	client := fake.NewClientset(live...)
	factory := informers.NewSharedInformerFactory(fake.NewClientset(), 0)
	p := New()
	p.SetExternalKubeClientSet(client)
	p.SetExternalKubeInformerFactory(factory)
	for _, lr := range cached {
		if err := factory.Core().V1().LimitRanges().Informer().GetIndexer().Add(lr); err != nil {
			t.Fatal(err)
		}
	}
	if err := p.ValidateInitialization(); err != nil {
		t.Fatal(err)
	}
	clk := testingclock.NewFakeClock(time.Now())
	p.clock = clk
	return p, client, clk
}

func podAttrs(obj, old runtime.Object, op admission.Operation, sub string) admission.Attributes {
	return admission.NewAttributesRecord(obj, old, corev1.SchemeGroupVersion.WithKind("Pod"), "ns", "p",
		corev1.SchemeGroupVersion.WithResource("pods"), sub, op, nil, false, nil)
}

// admit runs both phases as the chain does.
func admit(p *Plugin, a admission.Attributes) error {
	ctx := context.Background()
	if err := p.Admit(ctx, a, nil); err != nil {
		return err
	}
	return p.Validate(ctx, a, nil)
}

func TestDefaults(t *testing.T) {
	for _, tc := range []struct {
		name       string
		pod        *corev1.Pod
		want       corev1.ResourceRequirements
		annotation string
	}{{
		name: "nothing set: defaults",
		pod:  pod(nil, nil),
		want: corev1.ResourceRequirements{Requests: list("100m", "200Mi"), Limits: list("500m", "500Mi")},
		annotation: "LimitRanger plugin set: cpu, memory request for container app; " +
			"cpu, memory limit for container app",
	}, {
		// Upstream's e2e case: the cpu request came from the limit when the pod
		// was defaulted, so only memory's request and limit are filled.
		name:       "partial",
		pod:        pod(list("300m", "150Mi"), list("300m", "")),
		want:       corev1.ResourceRequirements{Requests: list("300m", "150Mi"), Limits: list("300m", "500Mi")},
		annotation: "LimitRanger plugin set: memory limit for container app",
	}, {
		name: "all set: untouched",
		pod:  pod(list("200m", "300Mi"), list("200m", "300Mi")),
		want: corev1.ResourceRequirements{Requests: list("200m", "300Mi"), Limits: list("200m", "300Mi")},
	}} {
		t.Run(tc.name, func(t *testing.T) {
			p, _, _ := newPlugin(t, []*corev1.LimitRange{upstreamE2E()})
			if err := admit(p, podAttrs(tc.pod, nil, admission.Create, "")); err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, tc.pod.Spec.Containers[0].Resources); diff != "" {
				t.Errorf("resources (-want +got):\n%s", diff)
			}
			if got := tc.pod.Annotations[Annotation]; got != tc.annotation {
				t.Errorf("annotation = %q, want %q", got, tc.annotation)
			}
		})
	}
}

func TestInitContainersDefaulted(t *testing.T) {
	p, _, _ := newPlugin(t, []*corev1.LimitRange{upstreamE2E()})
	pd := pod(nil, nil)
	pd.Spec.InitContainers = []corev1.Container{{Name: "init", Image: "x"}}
	if err := admit(p, podAttrs(pd, nil, admission.Create, "")); err != nil {
		t.Fatal(err)
	}
	want := corev1.ResourceRequirements{Requests: list("100m", "200Mi"), Limits: list("500m", "500Mi")}
	if diff := cmp.Diff(want, pd.Spec.InitContainers[0].Resources); diff != "" {
		t.Errorf("init container (-want +got):\n%s", diff)
	}
	wantNote := "LimitRanger plugin set: cpu, memory request for container app; cpu, memory limit for container app; " +
		"cpu, memory request for init container init; cpu, memory limit for init container init"
	if got := pd.Annotations[Annotation]; got != wantNote {
		t.Errorf("annotation = %q", got)
	}
}

func TestBounds(t *testing.T) {
	pvc := func(storage string) *corev1.PersistentVolumeClaim {
		c := &corev1.PersistentVolumeClaim{ObjectMeta: metav1.ObjectMeta{Name: "p", Namespace: "ns"}}
		if storage != "" {
			c.Spec.Resources.Requests = corev1.ResourceList{corev1.ResourceStorage: q(storage)}
		}
		return c
	}
	pvcRange := limitRange(corev1.LimitRangeItem{
		Type: corev1.LimitTypePersistentVolumeClaim,
		Min:  corev1.ResourceList{corev1.ResourceStorage: q("1Gi")},
		Max:  corev1.ResourceList{corev1.ResourceStorage: q("10Gi")},
	})
	for _, tc := range []struct {
		name string
		lr   *corev1.LimitRange
		obj  runtime.Object
		want string // the Forbidden message; "" admits
	}{{
		name: "container below min",
		lr:   upstreamE2E(),
		obj:  pod(list("10m", "50Mi"), nil),
		want: `pods "p" is forbidden: [minimum cpu usage per Container is 50m, but request is 10m, ` +
			`minimum memory usage per Container is 100Mi, but request is 50Mi]`,
	}, {
		name: "container limit above max",
		lr:   limitRange(corev1.LimitRangeItem{Type: corev1.LimitTypeContainer, Max: list("500m", "")}),
		obj:  pod(list("600m", ""), list("700m", "")),
		want: `pods "p" is forbidden: maximum cpu usage per Container is 500m, but limit is 700m`,
	}, {
		name: "container request above max",
		lr:   limitRange(corev1.LimitRangeItem{Type: corev1.LimitTypeContainer, Max: list("", "500Mi")}),
		obj:  pod(list("", "600Mi"), list("", "500Mi")),
		want: `pods "p" is forbidden: maximum memory usage per Container is 500Mi, but request is 600Mi`,
	}, {
		name: "container within bounds",
		lr:   upstreamE2E(),
		obj:  pod(list("100m", "100Mi"), list("200m", "200Mi")),
	}, {
		name: "max needs a limit",
		lr:   limitRange(corev1.LimitRangeItem{Type: corev1.LimitTypeContainer, Max: list("1", "")}),
		obj:  pod(list("100m", ""), nil),
		want: `pods "p" is forbidden: maximum cpu usage per Container is 1.  No limit is specified`,
	}, {
		name: "min needs a request",
		lr:   limitRange(corev1.LimitRangeItem{Type: corev1.LimitTypeContainer, Min: list("", "1Mi")}),
		obj:  pod(list("100m", ""), nil),
		want: `pods "p" is forbidden: minimum memory usage per Container is 1Mi.  No request is specified`,
	}, {
		name: "ratio exceeded",
		lr:   limitRange(corev1.LimitRangeItem{Type: corev1.LimitTypeContainer, MaxLimitRequestRatio: list("2", "")}),
		obj:  pod(list("100m", ""), list("300m", "")),
		want: `pods "p" is forbidden: cpu max limit to request ratio per Container is 2, but provided ratio is 3.000000`,
	}, {
		name: "ratio without request",
		lr:   limitRange(corev1.LimitRangeItem{Type: corev1.LimitTypeContainer, MaxLimitRequestRatio: list("", "2")}),
		obj:  pod(nil, list("", "1Gi")),
		want: `pods "p" is forbidden: memory max limit to request ratio per Container is 2, but no request is specified or request is 0`,
	}, {
		name: "pod total above max",
		lr:   limitRange(corev1.LimitRangeItem{Type: corev1.LimitTypePod, Max: list("1", "")}),
		obj: func() runtime.Object {
			pd := pod(list("600m", ""), list("600m", ""))
			pd.Spec.Containers = append(pd.Spec.Containers, pd.Spec.Containers[0])
			pd.Spec.Containers[1].Name = "second"
			return pd
		}(),
		want: `pods "p" is forbidden: maximum cpu usage per Pod is 1, but limit is 1200m`,
	}, {
		name: "pod total excludes overhead",
		lr:   limitRange(corev1.LimitRangeItem{Type: corev1.LimitTypePod, Max: list("1", "")}),
		obj: func() runtime.Object {
			pd := pod(list("600m", ""), list("600m", ""))
			pd.Spec.Overhead = list("1", "")
			return pd
		}(),
	}, {
		name: "claim below min",
		lr:   pvcRange,
		obj:  pvc("500Mi"),
		want: `persistentvolumeclaims "p" is forbidden: minimum storage usage per PersistentVolumeClaim is 1Gi, but request is 500Mi`,
	}, {
		name: "claim above max",
		lr:   pvcRange,
		obj:  pvc("20Gi"),
		want: `persistentvolumeclaims "p" is forbidden: maximum storage usage per PersistentVolumeClaim is 10Gi, but request is 20Gi`,
	}, {
		name: "claim within bounds",
		lr:   pvcRange,
		obj:  pvc("5Gi"),
	}, {
		name: "container item ignores claims",
		lr:   upstreamE2E(),
		obj:  pvc("100Ti"),
	}} {
		t.Run(tc.name, func(t *testing.T) {
			p, _, _ := newPlugin(t, []*corev1.LimitRange{tc.lr})
			var a admission.Attributes
			if _, ok := tc.obj.(*corev1.Pod); ok {
				a = podAttrs(tc.obj, nil, admission.Create, "")
			} else {
				a = admission.NewAttributesRecord(tc.obj, nil, corev1.SchemeGroupVersion.WithKind("PersistentVolumeClaim"), "ns", "p",
					corev1.SchemeGroupVersion.WithResource("persistentvolumeclaims"), "", admission.Create, nil, false, nil)
			}
			err := admit(p, a)
			switch {
			case tc.want == "" && err != nil:
				t.Fatalf("rejected: %v", err)
			case tc.want == "":
			case !apierrors.IsForbidden(err):
				t.Fatalf("want Forbidden, got %v", err)
			case err.Error() != tc.want:
				t.Errorf("error = %q\nwant    %q", err.Error(), tc.want)
			}
		})
	}
}

func TestIgnored(t *testing.T) {
	now := metav1.Now()
	deleting := pod(nil, nil)
	deleting.DeletionTimestamp = &now
	for _, tc := range []struct {
		name string
		a    admission.Attributes
	}{
		{"pod update", podAttrs(pod(list("1m", ""), nil), pod(nil, nil), admission.Update, "")},
		{"status", podAttrs(pod(list("1m", ""), nil), pod(nil, nil), admission.Update, "status")},
		{"object being deleted", podAttrs(pod(list("1m", ""), nil), deleting, admission.Update, "resize")},
		{"other kind", admission.NewAttributesRecord(&corev1.ConfigMap{}, nil, corev1.SchemeGroupVersion.WithKind("ConfigMap"), "ns", "p",
			corev1.SchemeGroupVersion.WithResource("configmaps"), "", admission.Create, nil, false, nil)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, _, _ := newPlugin(t, []*corev1.LimitRange{upstreamE2E()})
			if err := admit(p, tc.a); err != nil {
				t.Errorf("rejected: %v", err)
			}
		})
	}
	t.Run("resize is checked", func(t *testing.T) {
		p, _, _ := newPlugin(t, []*corev1.LimitRange{upstreamE2E()})
		err := admit(p, podAttrs(pod(list("1m", ""), nil), pod(nil, nil), admission.Update, "resize"))
		if !apierrors.IsForbidden(err) {
			t.Errorf("want Forbidden, got %v", err)
		}
	})
}

// TestLiveLookup: with an empty informer the plugin asks the API server and
// trusts that answer for 30 seconds.
func TestLiveLookup(t *testing.T) {
	p, client, clk := newPlugin(t, nil, upstreamE2E())
	pd := pod(nil, nil)
	if err := admit(p, podAttrs(pd, nil, admission.Create, "")); err != nil {
		t.Fatal(err)
	}
	if _, ok := pd.Annotations[Annotation]; !ok {
		t.Fatal("live LimitRange not applied")
	}
	if err := client.CoreV1().LimitRanges("ns").Delete(context.Background(), "limits", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	pd = pod(nil, nil)
	if err := admit(p, podAttrs(pd, nil, admission.Create, "")); err != nil {
		t.Fatal(err)
	}
	if _, ok := pd.Annotations[Annotation]; !ok {
		t.Error("remembered answer not used within its 30 s")
	}
	clk.Step(31 * time.Second)
	pd = pod(nil, nil)
	if err := admit(p, podAttrs(pd, nil, admission.Create, "")); err != nil {
		t.Fatal(err)
	}
	if _, ok := pd.Annotations[Annotation]; ok {
		t.Error("expired answer still used")
	}
	lists := 0
	for _, act := range client.Actions() {
		if act.GetVerb() == "list" {
			lists++
		}
	}
	if lists != 2 {
		t.Errorf("%d live lists, want 2", lists)
	}
}
