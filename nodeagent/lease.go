package nodeagent

import (
	"context"
	"fmt"

	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	coordclient "k8s.io/client-go/kubernetes/typed/coordination/v1"
	"k8s.io/utils/clock"
)

const (
	// leaseDurationSeconds is the node Lease's leaseDurationSeconds, as
	// upstream's nodeLeaseDurationSeconds; it is renewed every quarter of it.
	leaseDurationSeconds = 40
	// leaseUpdateRetries is how many times a renewal re-reads the Lease after
	// a conflict before it gives up until the next period.
	leaseUpdateRetries = 5
)

// nodeLease renews a node's heartbeat Lease in kube-node-lease: named as the
// node, held by it, owned by the Node object so that it goes when the Node
// does. Not safe for concurrent use.
type nodeLease struct {
	client coordclient.LeaseInterface
	name   string
	clock  clock.PassiveClock
	// last is the Lease as last written. Renewals update it without a read
	// first, as nobody else writes a node's Lease; a conflict re-reads it.
	last *coordinationv1.Lease
}

// renew sets the Lease's renewTime to now, creating the Lease if it is
// missing, with owner (which must have a UID) as its owner.
func (l *nodeLease) renew(ctx context.Context, owner *corev1.Node) error {
	if l.last != nil {
		l.set(l.last, owner)
		updated, err := l.client.Update(ctx, l.last, metav1.UpdateOptions{})
		if err == nil {
			l.keep(updated)
			return nil
		}
		if !apierrors.IsConflict(err) && !apierrors.IsNotFound(err) {
			return fmt.Errorf("renew lease %s: %w", l.name, err)
		}
		l.last = nil
	}
	for range leaseUpdateRetries {
		lease, err := l.client.Get(ctx, l.name, metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			lease = &coordinationv1.Lease{ObjectMeta: metav1.ObjectMeta{Name: l.name, Namespace: corev1.NamespaceNodeLease}}
			l.set(lease, owner)
			created, err := l.client.Create(ctx, lease, metav1.CreateOptions{})
			if apierrors.IsAlreadyExists(err) {
				continue
			}
			if err != nil {
				return fmt.Errorf("create lease %s: %w", l.name, err)
			}
			l.keep(created)
			return nil
		}
		if err != nil {
			return fmt.Errorf("get lease %s: %w", l.name, err)
		}
		// Kept before the update: if the update fails for another reason
		// than a conflict (the API server overloaded: 429, a timeout), the
		// next renewal updates what was read without reading it again, as
		// upstream's lease controller does. Else every renewal after one
		// conflict read first until an update got through: on an
		// overloaded server, ~190 lease reads/s for ~50 renewals/s.
		l.keep(lease)
		l.set(lease, owner)
		updated, err := l.client.Update(ctx, lease, metav1.UpdateOptions{})
		if apierrors.IsConflict(err) || apierrors.IsNotFound(err) {
			l.last = nil
			continue
		}
		if err != nil {
			return fmt.Errorf("renew lease %s: %w", l.name, err)
		}
		l.keep(updated)
		return nil
	}
	return fmt.Errorf("renew lease %s: %d conflicts", l.name, leaseUpdateRetries)
}

// keep caches lease as the last written, without its managed fields (an
// update without them leaves the stored ones as they are).
func (l *nodeLease) keep(lease *coordinationv1.Lease) {
	lease.ManagedFields = nil
	l.last = lease
}

// set asserts what the agent owns of lease: holder, duration, renew time and
// the Node owner reference (replacing one to an earlier Node of the same name).
func (l *nodeLease) set(lease *coordinationv1.Lease, owner *corev1.Node) {
	holder, duration := l.name, int32(leaseDurationSeconds)
	lease.Spec.HolderIdentity = &holder
	lease.Spec.LeaseDurationSeconds = &duration
	lease.Spec.RenewTime = &metav1.MicroTime{Time: l.clock.Now()}
	ref := metav1.OwnerReference{APIVersion: "v1", Kind: "Node", Name: owner.Name, UID: owner.UID}
	for i, r := range lease.OwnerReferences {
		if r.APIVersion == ref.APIVersion && r.Kind == ref.Kind && r.Name == ref.Name {
			lease.OwnerReferences[i] = ref
			return
		}
	}
	lease.OwnerReferences = append(lease.OwnerReferences, ref)
}
