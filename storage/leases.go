package storage

import (
	"context"
	"fmt"
	"net"
	"slices"
	"strings"
	"sync"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
)

// APIServerLeases records which API servers are alive, as upstream's lease
// endpoint reconciler does: each server keeps a key named by its address
// under a prefix, attached to an etcd lease of a TTL, and renews it while it
// runs. A server that dies stops renewing and its key expires; the servers
// that remain list the keys to write the kubernetes Service's endpoints.
type APIServerLeases struct {
	client *clientv3.Client
	prefix string
	ttl    time.Duration

	mu    sync.Mutex
	lease clientv3.LeaseID // the lease of this process's last Update; 0: none
}

// NewAPIServerLeases keeps the keys under prefix (for example
// "/registry/masterleases/") with client, each for ttl after its last
// Update (at least a second).
func NewAPIServerLeases(client *clientv3.Client, prefix string, ttl time.Duration) *APIServerLeases {
	if !strings.HasSuffix(prefix, "/") {
		prefix += "/"
	}
	return &APIServerLeases{client: client, prefix: prefix, ttl: max(ttl, time.Second)}
}

// Update records ip as alive for the TTL from now. Each update attaches
// the key to a fresh lease and revokes the one before, so that a server
// holds one lease at a time and its key outlives it by no more than the
// TTL whatever happened to the earlier ones (expired during a partition,
// say).
func (l *APIServerLeases) Update(ctx context.Context, ip net.IP) error {
	granted, err := l.client.Grant(ctx, int64(l.ttl/time.Second))
	if err != nil {
		return fmt.Errorf("grant a lease for %s: %w", ip, err)
	}
	if _, err := l.client.Put(ctx, l.prefix+ip.String(), ip.String(), clientv3.WithLease(granted.ID)); err != nil {
		_, _ = l.client.Revoke(context.WithoutCancel(ctx), granted.ID)
		return fmt.Errorf("record %s: %w", ip, err)
	}
	l.mu.Lock()
	old := l.lease
	l.lease = granted.ID
	l.mu.Unlock()
	if old != 0 {
		// The key moved to the new lease: revoking the old one deletes nothing.
		_, _ = l.client.Revoke(ctx, old)
	}
	return nil
}

// Remove deletes ip's key at once, as a server that leaves does.
func (l *APIServerLeases) Remove(ctx context.Context, ip net.IP) error {
	if _, err := l.client.Delete(ctx, l.prefix+ip.String()); err != nil {
		return fmt.Errorf("remove %s: %w", ip, err)
	}
	l.mu.Lock()
	old := l.lease
	l.lease = 0
	l.mu.Unlock()
	if old != 0 {
		_, _ = l.client.Revoke(ctx, old)
	}
	return nil
}

// List returns the addresses of the live servers, sorted (numerically, IPv4
// before IPv6).
func (l *APIServerLeases) List(ctx context.Context) ([]net.IP, error) {
	resp, err := l.client.Get(ctx, l.prefix, clientv3.WithPrefix())
	if err != nil {
		return nil, fmt.Errorf("list API server leases: %w", err)
	}
	var ips []net.IP
	for _, kv := range resp.Kvs {
		if ip := net.ParseIP(strings.TrimPrefix(string(kv.Key), l.prefix)); ip != nil {
			ips = append(ips, ip)
		}
	}
	slices.SortFunc(ips, func(a, b net.IP) int {
		a4, b4 := a.To4(), b.To4()
		switch {
		case a4 != nil && b4 == nil:
			return -1
		case a4 == nil && b4 != nil:
			return 1
		case a4 != nil:
			return slices.Compare(a4, b4)
		}
		return slices.Compare(a.To16(), b.To16())
	})
	return ips, nil
}

// Changes returns a channel that receives a value whenever a key is made or
// deleted (or expires), until ctx is done. It coalesces changes the reader
// has not taken yet into one value; when the watch breaks (etcd unreachable)
// it sends one too, so that the reader lists again.
func (l *APIServerLeases) Changes(ctx context.Context) <-chan struct{} {
	out := make(chan struct{}, 1)
	notify := func() {
		select {
		case out <- struct{}{}:
		default:
		}
	}
	go func() {
		for ctx.Err() == nil {
			wch := l.client.Watch(clientv3.WithRequireLeader(ctx), l.prefix, clientv3.WithPrefix())
			for resp := range wch {
				if resp.Err() != nil {
					break
				}
				for _, ev := range resp.Events {
					// A renewal puts the key again: only a new key or a
					// deleted (or expired) one changes the list.
					if ev.Type == clientv3.EventTypeDelete || ev.Kv.CreateRevision == ev.Kv.ModRevision {
						notify()
						break
					}
				}
			}
			notify()
			select {
			case <-ctx.Done():
			case <-time.After(time.Second):
			}
		}
	}()
	return out
}
