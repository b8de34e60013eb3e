package validation

import (
	"testing"

	coordinationv1 "k8s.io/api/coordination/v1"
)

func TestLease(t *testing.T) {
	valid := func() *coordinationv1.Lease {
		return &coordinationv1.Lease{ObjectMeta: meta(), Spec: coordinationv1.LeaseSpec{
			HolderIdentity: ptr("node-1"), LeaseDurationSeconds: ptr(int32(40)), LeaseTransitions: ptr(int32(0)),
		}}
	}
	tests := []struct {
		name   string
		mutate func(l *coordinationv1.Lease)
		want   []string
	}{
		{name: "valid", mutate: func(*coordinationv1.Lease) {}},
		{name: "unqualified finalizer allowed", mutate: func(l *coordinationv1.Lease) { l.Finalizers = []string{"mine"} }},
		{name: "namespace required", mutate: func(l *coordinationv1.Lease) { l.Namespace = "" },
			want: []string{"FieldValueRequired metadata.namespace"}},
		{name: "counts", mutate: func(l *coordinationv1.Lease) {
			l.Spec.LeaseDurationSeconds = ptr(int32(0))
			l.Spec.LeaseTransitions = ptr(int32(-1))
		}, want: []string{"FieldValueInvalid spec.leaseDurationSeconds", "FieldValueInvalid spec.leaseTransitions"}},
		{name: "known strategy", mutate: func(l *coordinationv1.Lease) {
			l.Spec.Strategy = ptr(coordinationv1.OldestEmulationVersion)
			l.Spec.PreferredHolder = ptr("node-2")
		}},
		{name: "custom strategy", mutate: func(l *coordinationv1.Lease) {
			l.Spec.Strategy = ptr(coordinationv1.CoordinatedLeaseStrategy("example.com/newest"))
		}},
		{name: "unknown strategy", mutate: func(l *coordinationv1.Lease) {
			l.Spec.Strategy = ptr(coordinationv1.CoordinatedLeaseStrategy("Newest"))
		},
			want: []string{"FieldValueNotSupported spec.strategy.strategy"}},
		{name: "bad custom strategy", mutate: func(l *coordinationv1.Lease) { l.Spec.Strategy = ptr(coordinationv1.CoordinatedLeaseStrategy("a/b/c")) },
			want: []string{"FieldValueInvalid spec.strategy.strategy"}},
		{name: "preferred holder needs strategy", mutate: func(l *coordinationv1.Lease) { l.Spec.PreferredHolder = ptr("node-2") },
			want: []string{"FieldValueForbidden spec.preferredHolder"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			l := valid()
			tc.mutate(l)
			checkErrs(t, Lease(l), tc.want)
		})
	}
	old := valid()
	l := old.DeepCopy()
	l.Spec.HolderIdentity = ptr("node-2")
	checkErrs(t, LeaseUpdate(l, old), nil)
	l.Spec.LeaseDurationSeconds = ptr(int32(-1))
	l.Name = "other"
	checkErrs(t, LeaseUpdate(l, old), []string{"FieldValueInvalid metadata.name", "FieldValueInvalid spec.leaseDurationSeconds"})
}
