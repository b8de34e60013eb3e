package resourcequota

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	quota "k8s.io/apiserver/pkg/quota/v1"
	testingclock "k8s.io/utils/clock/testing"
	"k8s.io/utils/ptr"
)

func q(s string) resource.Quantity { return resource.MustParse(s) }

// same compares resource lists by value, ignoring formats.
func same(t *testing.T, what string, got, want corev1.ResourceList) {
	t.Helper()
	if !quota.Equals(got, want) {
		t.Errorf("%s = %v, want %v", what, got, want)
	}
}

func TestPodUsage(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	clk := testingclock.NewFakeClock(now)
	e := podEvaluator(nil, clk)
	container := corev1.Container{Name: "a", Resources: corev1.ResourceRequirements{
		Requests: corev1.ResourceList{corev1.ResourceCPU: q("100m"), corev1.ResourceMemory: q("1Gi"), "hugepages-2Mi": q("4Mi"), "example.com/gpu": q("1")},
		Limits:   corev1.ResourceList{corev1.ResourceCPU: q("200m"), corev1.ResourceEphemeralStorage: q("1Gi")},
	}}
	running := &corev1.Pod{Spec: corev1.PodSpec{Containers: []corev1.Container{container, container}}}
	same(t, "running pod", mustUsage(t, e, running), corev1.ResourceList{
		"count/pods": q("1"), "pods": q("1"),
		"cpu": q("200m"), "requests.cpu": q("200m"), "limits.cpu": q("400m"),
		"memory": q("2Gi"), "requests.memory": q("2Gi"),
		"limits.ephemeral-storage": q("2Gi"),
		"hugepages-2Mi":            q("8Mi"), "requests.hugepages-2Mi": q("8Mi"),
		"requests.example.com/gpu": q("2"),
	})

	finished := running.DeepCopy()
	finished.Status.Phase = corev1.PodSucceeded
	same(t, "finished pod", mustUsage(t, e, finished), corev1.ResourceList{"count/pods": q("1")})

	deleting := running.DeepCopy()
	deleting.DeletionTimestamp = &metav1.Time{Time: now.Add(-time.Minute)}
	deleting.DeletionGracePeriodSeconds = ptr.To[int64](30)
	same(t, "pod past its grace period", mustUsage(t, e, deleting), corev1.ResourceList{"count/pods": q("1")})
	deleting.DeletionGracePeriodSeconds = ptr.To[int64](300)
	if u := mustUsage(t, e, deleting); u.Name("pods", resource.DecimalSI).Value() != 1 {
		t.Errorf("pod within its grace period uses %v, want pods=1", u)
	}
}

func mustUsage(t *testing.T, e *evaluator, p *corev1.Pod) corev1.ResourceList {
	t.Helper()
	u, err := e.Usage(p)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

func TestPodScopes(t *testing.T) {
	bestEffort := &corev1.Pod{Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "a"}}}}
	burstable := &corev1.Pod{Spec: corev1.PodSpec{
		PriorityClassName:     "high",
		ActiveDeadlineSeconds: ptr.To[int64](10),
		Containers:            []corev1.Container{{Name: "a", Resources: corev1.ResourceRequirements{Limits: corev1.ResourceList{corev1.ResourceMemory: q("1Mi")}}}},
	}}
	exists := func(s corev1.ResourceQuotaScope) corev1.ScopedResourceSelectorRequirement {
		return corev1.ScopedResourceSelectorRequirement{ScopeName: s, Operator: corev1.ScopeSelectorOpExists}
	}
	for _, tc := range []struct {
		name  string
		scope corev1.ScopedResourceSelectorRequirement
		want  [2]bool // bestEffort, burstable
	}{
		{"BestEffort", exists(corev1.ResourceQuotaScopeBestEffort), [2]bool{true, false}},
		{"NotBestEffort", exists(corev1.ResourceQuotaScopeNotBestEffort), [2]bool{false, true}},
		{"Terminating", exists(corev1.ResourceQuotaScopeTerminating), [2]bool{false, true}},
		{"NotTerminating", exists(corev1.ResourceQuotaScopeNotTerminating), [2]bool{true, false}},
		{"PriorityClass exists", exists(corev1.ResourceQuotaScopePriorityClass), [2]bool{false, true}},
		{"PriorityClass in", corev1.ScopedResourceSelectorRequirement{ScopeName: corev1.ResourceQuotaScopePriorityClass,
			Operator: corev1.ScopeSelectorOpIn, Values: []string{"high", "low"}}, [2]bool{false, true}},
		{"PriorityClass not in", corev1.ScopedResourceSelectorRequirement{ScopeName: corev1.ResourceQuotaScopePriorityClass,
			Operator: corev1.ScopeSelectorOpNotIn, Values: []string{"high"}}, [2]bool{true, false}},
		{"PriorityClass does not exist", corev1.ScopedResourceSelectorRequirement{ScopeName: corev1.ResourceQuotaScopePriorityClass,
			Operator: corev1.ScopeSelectorOpDoesNotExist}, [2]bool{true, false}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for i, p := range []*corev1.Pod{bestEffort, burstable} {
				got, err := podScope(tc.scope, p)
				if err != nil || got != tc.want[i] {
					t.Errorf("pod %d: in scope = %v, %v; want %v", i, got, err, tc.want[i])
				}
			}
		})
	}
}

func TestPodConstraints(t *testing.T) {
	p := &corev1.Pod{Spec: corev1.PodSpec{
		InitContainers: []corev1.Container{{Name: "init"}},
		Containers: []corev1.Container{
			{Name: "b", Resources: corev1.ResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceCPU: q("1")}}},
			{Name: "a"},
		},
	}}
	err := podConstraints([]corev1.ResourceName{"requests.cpu", "limits.memory", "pods"}, p)
	want := "must specify limits.memory for: a,b,init; requests.cpu for: a,init"
	if err == nil || err.Error() != want {
		t.Errorf("constraints error = %v, want %q", err, want)
	}
	if err := podConstraints([]corev1.ResourceName{"pods", "count/pods"}, p); err != nil {
		t.Errorf("constraints without compute resources: %v", err)
	}
}

func TestServiceAndClaimUsage(t *testing.T) {
	lb := &corev1.Service{Spec: corev1.ServiceSpec{Type: corev1.ServiceTypeLoadBalancer,
		AllocateLoadBalancerNodePorts: ptr.To(false),
		Ports:                         []corev1.ServicePort{{Port: 1, NodePort: 30001}, {Port: 2}}}}
	u, err := serviceUsage(lb)
	if err != nil {
		t.Fatal(err)
	}
	same(t, "load balancer", u, corev1.ResourceList{"count/services": q("1"), "services": q("1"), "services.loadbalancers": q("1"), "services.nodeports": q("1")})

	pvc := &corev1.PersistentVolumeClaim{Spec: corev1.PersistentVolumeClaimSpec{StorageClassName: ptr.To("gold"),
		Resources: corev1.VolumeResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceStorage: q("1500m")}}}}
	u, err = claimUsage(pvc)
	if err != nil {
		t.Fatal(err)
	}
	same(t, "claim", u, corev1.ResourceList{
		"count/persistentvolumeclaims": q("1"), "persistentvolumeclaims": q("1"), "requests.storage": q("2"),
		"gold.storageclass.storage.k8s.io/persistentvolumeclaims": q("1"), "gold.storageclass.storage.k8s.io/requests.storage": q("2"),
	})
	got := claimMatching([]corev1.ResourceName{"requests.storage", "pods", "x.storageclass.storage.k8s.io/requests.storage", "count/persistentvolumeclaims"})
	if diff := cmp.Diff([]corev1.ResourceName{"requests.storage", "x.storageclass.storage.k8s.io/requests.storage", "count/persistentvolumeclaims"}, got); diff != "" {
		t.Errorf("claim matching (-want +got):\n%s", diff)
	}
}
