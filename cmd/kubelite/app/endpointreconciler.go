package app

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"time"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes"
	"k8s.io/klog/v2"
	"k8s.io/utils/ptr"

	"github.com/kubelite/kubelite/storage"
)

// The kubernetes Service's endpoints name every live API server, as
// upstream's lease endpoint reconciler keeps them: each server records its
// advertised address in etcd under apiServerLeasePrefix with a TTL
// (storage.APIServerLeases), renews it every endpointReconcileInterval, and
// writes the Endpoints and EndpointSlice from the list of live addresses.
// A server that dies drops out when its key expires; one that stops, or
// leaves with `server --remove`, deletes its key at once. Every server
// watches the keys, so that each change reaches the endpoints at once.

const (
	// apiServerLeasePrefix holds the keys, beside the resources' under
	// /registry (upstream's /masterleases/ under its prefix).
	apiServerLeasePrefix = "/registry/masterleases/"
	// endpointReconcileInterval and apiServerLeaseTTL are upstream's
	// defaults (kube-apiserver's --endpoint-reconciler-type=lease).
	endpointReconcileInterval = 10 * time.Second
	apiServerLeaseTTL         = 15 * time.Second
	// endpointRetry is how soon a failed update of the endpoints is
	// tried again.
	endpointRetry = time.Second
)

// endpointReconciler keeps this server's lease and the kubernetes
// Service's endpoints.
type endpointReconciler struct {
	client kubernetes.Interface
	leases *storage.APIServerLeases
	ip     net.IP
	port   int32
	// interval is how often the lease is renewed and the endpoints checked.
	interval time.Duration
}

// newEndpointReconciler is nil when the advertised address is not
// routable: Endpoints may not name loopback, and pods could not use it.
func newEndpointReconciler(client kubernetes.Interface, leases *storage.APIServerLeases, ip net.IP, port int) *endpointReconciler {
	if ip == nil || ip.IsLoopback() || ip.IsUnspecified() {
		return nil
	}
	return &endpointReconciler{client: client, leases: leases, ip: ip, port: int32(port), interval: endpointReconcileInterval}
}

// start records this server and writes the endpoints, retrying for up to a
// minute; then it keeps them in the background until ctx is done, when it
// removes this server's record.
func (r *endpointReconciler) start(ctx context.Context) error {
	var last error
	err := wait.PollUntilContextTimeout(ctx, 100*time.Millisecond, time.Minute, true, func(ctx context.Context) (bool, error) {
		if last = r.leases.Update(ctx, r.ip); last == nil {
			last = r.reconcile(ctx)
		}
		return last == nil, nil
	})
	if err != nil && last != nil {
		return fmt.Errorf("kubernetes service endpoints: %w", last)
	}
	if err != nil {
		return err
	}
	go r.run(ctx)
	return nil
}

func (r *endpointReconciler) run(ctx context.Context) {
	logger := klog.FromContext(ctx)
	changes := r.leases.Changes(ctx)
	tick := time.NewTicker(r.interval)
	defer tick.Stop()
	// A reconcile that failed (no etcd leader for a moment, as when a
	// member leaves) is retried in a second, not at the next tick: the
	// change that asked for it will not come again.
	var retry <-chan time.Time
	for {
		select {
		case <-ctx.Done():
			r.stop(logger)
			return
		case <-tick.C:
			if err := r.leases.Update(ctx, r.ip); err != nil {
				logger.Error(err, "Could not renew this API server's lease")
				continue
			}
		case <-changes:
		case <-retry:
		}
		retry = nil
		if err := r.reconcile(ctx); err != nil && ctx.Err() == nil {
			logger.Error(err, "Could not update the kubernetes Service's endpoints")
			retry = time.After(endpointRetry)
		}
	}
}

// stop removes this server's lease and, while the server still answers,
// the endpoints' address (the others' watches do it otherwise).
func (r *endpointReconciler) stop(logger klog.Logger) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	if err := r.leases.Remove(ctx, r.ip); err != nil {
		logger.Error(err, "Could not remove this API server's lease")
		return
	}
	_ = r.reconcile(ctx)
}

// reconcile writes the endpoints from the live servers' addresses.
func (r *endpointReconciler) reconcile(ctx context.Context) error {
	ips, err := r.leases.List(ctx)
	if err != nil {
		return err
	}
	if len(ips) == 0 {
		// As upstream: never erase every address on the word of an empty list.
		return errors.New("no API server is recorded as alive: the endpoints stay as they are")
	}
	return writeKubernetesEndpoints(ctx, r.client, ips, r.port)
}

// writeKubernetesEndpoints makes the kubernetes Service's Endpoints and
// EndpointSlice name ips (sorted), of the first one's family, on port.
func writeKubernetesEndpoints(ctx context.Context, client kubernetes.Interface, ips []net.IP, port int32) error {
	ipv4 := ips[0].To4() != nil
	var addrs []corev1.EndpointAddress
	var sliceAddrs []discoveryv1.Endpoint
	for _, ip := range ips {
		if (ip.To4() != nil) != ipv4 {
			continue
		}
		addrs = append(addrs, corev1.EndpointAddress{IP: ip.String()})
		sliceAddrs = append(sliceAddrs, discoveryv1.Endpoint{
			Addresses:  []string{ip.String()},
			Conditions: discoveryv1.EndpointConditions{Ready: ptr.To(true)},
		})
	}
	want := &corev1.Endpoints{
		ObjectMeta: metav1.ObjectMeta{Name: "kubernetes", Namespace: metav1.NamespaceDefault,
			Labels: map[string]string{"endpointslice.kubernetes.io/skip-mirror": "true"}},
		Subsets: []corev1.EndpointSubset{{
			Addresses: addrs,
			Ports:     []corev1.EndpointPort{{Name: "https", Port: port, Protocol: corev1.ProtocolTCP}},
		}},
	}
	eps := client.CoreV1().Endpoints(metav1.NamespaceDefault)
	cur, err := eps.Get(ctx, "kubernetes", metav1.GetOptions{})
	switch {
	case apierrors.IsNotFound(err):
		_, err = eps.Create(ctx, want, metav1.CreateOptions{})
	case err == nil:
		if !equality.Semantic.DeepEqual(cur.Subsets, want.Subsets) || cur.Labels["endpointslice.kubernetes.io/skip-mirror"] != "true" {
			cur.Subsets = want.Subsets
			if cur.Labels == nil {
				cur.Labels = map[string]string{}
			}
			cur.Labels["endpointslice.kubernetes.io/skip-mirror"] = "true"
			_, err = eps.Update(ctx, cur, metav1.UpdateOptions{})
		}
	}
	if err != nil {
		return fmt.Errorf("kubernetes endpoints: %w", err)
	}
	return writeKubernetesSlice(ctx, client, ipv4, sliceAddrs, port)
}

// writeKubernetesSlice writes the EndpointSlice of the kubernetes Service,
// the same addresses and port as its Endpoints, as upstream's endpoint
// reconciler does. It carries no managed-by label: no controller owns it.
func writeKubernetesSlice(ctx context.Context, client kubernetes.Interface, ipv4 bool, endpoints []discoveryv1.Endpoint, port int32) error {
	addrType := discoveryv1.AddressTypeIPv4
	if !ipv4 {
		addrType = discoveryv1.AddressTypeIPv6
	}
	want := &discoveryv1.EndpointSlice{
		ObjectMeta: metav1.ObjectMeta{Name: "kubernetes", Namespace: metav1.NamespaceDefault,
			Labels: map[string]string{discoveryv1.LabelServiceName: "kubernetes"}},
		AddressType: addrType,
		Endpoints:   endpoints,
		Ports: []discoveryv1.EndpointPort{{
			Name: ptr.To("https"), Port: ptr.To(port), Protocol: ptr.To(corev1.ProtocolTCP),
		}},
	}
	slices := client.DiscoveryV1().EndpointSlices(metav1.NamespaceDefault)
	cur, err := slices.Get(ctx, want.Name, metav1.GetOptions{})
	switch {
	case apierrors.IsNotFound(err):
		_, err = slices.Create(ctx, want, metav1.CreateOptions{})
	case err == nil:
		if cur.AddressType != want.AddressType {
			// The address type is immutable: replace the slice.
			if err = slices.Delete(ctx, cur.Name, metav1.DeleteOptions{}); err == nil {
				_, err = slices.Create(ctx, want, metav1.CreateOptions{})
			}
		} else if !equality.Semantic.DeepEqual([]any{cur.Endpoints, cur.Ports, cur.Labels}, []any{want.Endpoints, want.Ports, want.Labels}) {
			cur.Endpoints, cur.Ports, cur.Labels = want.Endpoints, want.Ports, want.Labels
			_, err = slices.Update(ctx, cur, metav1.UpdateOptions{})
		}
	}
	if err != nil {
		return fmt.Errorf("kubernetes endpoint slice: %w", err)
	}
	return nil
}

// removeAPIServerLease deletes the lease of the server whose etcd member
// was self, through the other members' client URLs: `server --remove`
// takes the server out of the kubernetes Service's endpoints at once.
func removeAPIServerLease(ctx context.Context, self storage.Member, others []string, files storage.TLSFiles) error {
	var ip net.IP
	for _, p := range self.PeerURLs {
		if u, err := url.Parse(p); err == nil {
			if ip = net.ParseIP(u.Hostname()); ip != nil {
				break
			}
		}
	}
	if ip == nil {
		return fmt.Errorf("etcd member %s advertises no address in %v", self.Name, self.PeerURLs)
	}
	c, err := storage.NewClient(ctx, others, files)
	if err != nil {
		return err
	}
	defer c.Close()
	// The others may have no leader for a moment (the removed member led):
	// a delete then fails at once, so it is tried again until the lease
	// would have expired anyway.
	leases := storage.NewAPIServerLeases(c, apiServerLeasePrefix, apiServerLeaseTTL)
	var last error
	err = wait.PollUntilContextTimeout(ctx, 200*time.Millisecond, apiServerLeaseTTL, true, func(ctx context.Context) (bool, error) {
		last = leases.Remove(ctx, ip)
		return last == nil, nil
	})
	if err != nil && last != nil {
		return last
	}
	return err
}
