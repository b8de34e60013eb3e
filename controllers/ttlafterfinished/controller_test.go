package ttlafterfinished

import (
	"testing"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes/fake"
	clienttesting "k8s.io/client-go/testing"
	"k8s.io/klog/v2/ktesting"
	testingclock "k8s.io/utils/clock/testing"
	"k8s.io/utils/ptr"
)

func TestSync(t *testing.T) {
	now := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	job := func(ttl *int32, finishedAgo time.Duration) *batchv1.Job {
		j := &batchv1.Job{
			ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "j", UID: "uid-1", ResourceVersion: "7"},
			Spec:       batchv1.JobSpec{TTLSecondsAfterFinished: ttl},
		}
		if finishedAgo >= 0 {
			j.Status.Conditions = []batchv1.JobCondition{{Type: batchv1.JobComplete, Status: corev1.ConditionTrue,
				LastTransitionTime: metav1.NewTime(now.Add(-finishedAgo))}}
		}
		return j
	}
	for _, tc := range []struct {
		name         string
		cached, live *batchv1.Job
		wantDelete   bool
	}{
		{"expired", job(ptr.To[int32](10), 20*time.Second), job(ptr.To[int32](10), 20*time.Second), true},
		{"not yet", job(ptr.To[int32](10), 5*time.Second), job(ptr.To[int32](10), 5*time.Second), false},
		{"unfinished", job(ptr.To[int32](0), -1), job(ptr.To[int32](0), -1), false},
		{"no ttl", job(nil, time.Hour), job(nil, time.Hour), false},
		{"ttl raised on the server", job(ptr.To[int32](10), 20*time.Second), job(ptr.To[int32](100), 20*time.Second), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, ctx := ktesting.NewTestContext(t)
			client := fake.NewClientset(tc.live)
			factory := informers.NewSharedInformerFactory(client, 0)
			c, err := New(Config{Client: client, Jobs: factory.Batch().V1().Jobs(), Clock: testingclock.NewFakeClock(now)})
			if err != nil {
				t.Fatal(err)
			}
			if err := factory.Batch().V1().Jobs().Informer().GetIndexer().Add(tc.cached); err != nil {
				t.Fatal(err)
			}
			if err := c.sync(ctx, "ns/j"); err != nil {
				t.Fatal(err)
			}
			var deletes []clienttesting.DeleteActionImpl
			for _, a := range client.Actions() {
				if d, ok := a.(clienttesting.DeleteActionImpl); ok {
					deletes = append(deletes, d)
				}
			}
			if (len(deletes) == 1) != tc.wantDelete || len(deletes) > 1 {
				t.Fatalf("%d deletes, want delete %v", len(deletes), tc.wantDelete)
			}
			if tc.wantDelete {
				o := deletes[0].DeleteOptions
				if o.Preconditions == nil || ptr.Deref(o.Preconditions.UID, "") != "uid-1" || ptr.Deref(o.Preconditions.ResourceVersion, "") != "7" ||
					ptr.Deref(o.PropagationPolicy, "") != metav1.DeletePropagationForeground {
					t.Errorf("delete options %+v, want uid and resourceVersion preconditions, foreground", o)
				}
			}
		})
	}
}
