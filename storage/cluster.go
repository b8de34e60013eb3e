package storage

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
	"go.etcd.io/etcd/client/pkg/v3/transport"
	clientv3 "go.etcd.io/etcd/client/v3"
	"go.etcd.io/etcd/server/v3/embed"
)

// TLSFiles are the PEM files of a TLS identity: the CA it trusts, and its
// certificate and key. The zero value means no TLS.
type TLSFiles struct {
	CAFile, CertFile, KeyFile string
}

// Empty reports whether no file is set.
func (t TLSFiles) Empty() bool { return t == TLSFiles{} }

// MemberConfig makes an embedded etcd one member of a cluster of servers.
type MemberConfig struct {
	// Name is the member's name, unique in the cluster. Required.
	Name string
	// AdvertiseIP is the address the other members and their clients reach
	// this one at. Required.
	AdvertiseIP net.IP
	// TLS is the member's identity: a certificate of the etcd CA valid for
	// AdvertiseIP and 127.0.0.1, for serving and as a client, which it
	// presents to peers and requires of them and of its clients. Required.
	TLS TLSFiles
	// InitialCluster lists the members of the cluster this one joins,
	// itself included ("name=https://ip:port,..."), as the members that added
	// it say (AddMember). Empty: a new cluster of this member alone, or the
	// cluster of the data dir when it holds one.
	InitialCluster string
}

// Validate reports what is missing, without side effects.
func (m MemberConfig) Validate() error {
	var errs []error
	if m.Name == "" {
		errs = append(errs, errors.New("etcd member name is required"))
	}
	if m.AdvertiseIP == nil || m.AdvertiseIP.IsUnspecified() {
		errs = append(errs, errors.New("etcd member needs an advertise address"))
	}
	if m.TLS.CAFile == "" || m.TLS.CertFile == "" || m.TLS.KeyFile == "" {
		errs = append(errs, errors.New("etcd member needs its CA, certificate and key"))
	}
	return errors.Join(errs...)
}

// PeerURL is the member's advertised peer URL on peerPort.
func (m MemberConfig) PeerURL(peerPort int) string {
	return (&url.URL{Scheme: "https", Host: net.JoinHostPort(m.AdvertiseIP.String(), strconv.Itoa(peerPort))}).String()
}

// configure makes ec a TLS member: clients on loopback and the advertised
// address, peers on the advertised address. It returns the loopback client
// URL, the one this process uses.
func (m MemberConfig) configure(ec *embed.Config, clientPort, peerPort int) url.URL {
	local := url.URL{Scheme: "https", Host: net.JoinHostPort("127.0.0.1", strconv.Itoa(clientPort))}
	public := url.URL{Scheme: "https", Host: net.JoinHostPort(m.AdvertiseIP.String(), strconv.Itoa(clientPort))}
	peer, _ := url.Parse(m.PeerURL(peerPort))
	ec.Name = m.Name
	ec.ListenClientUrls = []url.URL{local}
	if !m.AdvertiseIP.IsLoopback() {
		ec.ListenClientUrls = append(ec.ListenClientUrls, public)
	}
	ec.AdvertiseClientUrls = []url.URL{public}
	ec.ListenPeerUrls = []url.URL{*peer}
	ec.AdvertisePeerUrls = []url.URL{*peer}
	tls := transport.TLSInfo{CertFile: m.TLS.CertFile, KeyFile: m.TLS.KeyFile, TrustedCAFile: m.TLS.CAFile, ClientCertAuth: true}
	ec.ClientTLSInfo = tls
	ec.PeerTLSInfo = tls
	if m.InitialCluster != "" {
		ec.InitialCluster = m.InitialCluster
		ec.ClusterState = embed.ClusterStateFlagExisting
	} else {
		ec.InitialCluster = ec.InitialClusterFromName(ec.Name)
	}
	ec.InitialClusterToken = "kubelite"
	// Members talk over a network: etcd's own ticks (100 ms heartbeat, 1 s
	// election timeout) rather than the lone member's 10 ms.
	ec.TickMs = 100
	ec.ElectionMs = 1000
	ec.PreVote = true
	return local
}

// advertisePeers makes the member's peer URLs in the cluster's membership
// the ones it now advertises: a data dir made by a lone loopback member
// (the single server's default, or a restored snapshot) names its
// loopback peer URL, which other members could not reach.
func (e *Etcd) advertisePeers(ctx context.Context) error {
	want := make([]string, 0, len(e.etcd.Config().AdvertisePeerUrls))
	for _, u := range e.etcd.Config().AdvertisePeerUrls {
		want = append(want, u.String())
	}
	self := e.etcd.Server.Cluster().Member(e.etcd.Server.MemberID())
	if self == nil || slices.Equal(self.PeerURLs, want) {
		return nil
	}
	c, err := NewClient(ctx, e.Endpoints(), e.TLS())
	if err != nil {
		return err
	}
	defer c.Close()
	if _, err := c.MemberUpdate(ctx, uint64(self.ID), want); err != nil {
		return fmt.Errorf("advertise etcd peer URLs %v: %w", want, err)
	}
	return nil
}

// Member is one member of the cluster as etcd lists it.
type Member struct {
	ID         uint64
	Name       string
	PeerURLs   []string
	ClientURLs []string
}

// Members lists the members of the cluster this server belongs to, as it
// knows them.
func (e *Etcd) Members() []Member {
	var out []Member
	for _, m := range e.etcd.Server.Cluster().Members() {
		out = append(out, Member{ID: uint64(m.ID), Name: m.Name, PeerURLs: m.PeerURLs, ClientURLs: m.ClientURLs})
	}
	return out
}

// NewClient dials the etcd servers at endpoints with the TLS identity
// files (none when empty).
func NewClient(ctx context.Context, endpoints []string, files TLSFiles) (*clientv3.Client, error) {
	cfg := clientv3.Config{
		Endpoints:   endpoints,
		DialTimeout: 10 * time.Second,
		Logger:      quietLogger(&atomic.Bool{}),
		Context:     ctx,
	}
	if !files.Empty() {
		info := transport.TLSInfo{CertFile: files.CertFile, KeyFile: files.KeyFile, TrustedCAFile: files.CAFile}
		tls, err := info.ClientConfig()
		if err != nil {
			return nil, fmt.Errorf("etcd client TLS: %w", err)
		}
		cfg.TLS = tls
	}
	c, err := clientv3.New(cfg)
	if err != nil {
		return nil, fmt.Errorf("etcd client for %v: %w", endpoints, err)
	}
	return c, nil
}

// AddMember adds a member called name with peerURL to the cluster whose
// client URLs are endpoints, and returns the initial cluster it is to
// start with (MemberConfig.InitialCluster) and its ID. The member counts
// towards the quorum from now on: start it at once, or remove it.
func AddMember(ctx context.Context, endpoints []string, files TLSFiles, name, peerURL string) (initialCluster string, id uint64, err error) {
	c, err := NewClient(ctx, endpoints, files)
	if err != nil {
		return "", 0, err
	}
	defer c.Close()
	// etcd refuses a new member until every member has been connected for
	// a few seconds (a member that joined just now, too): retry that.
	var resp *clientv3.MemberAddResponse
	for deadline := time.Now().Add(time.Minute); ; {
		resp, err = c.MemberAdd(ctx, []string{peerURL})
		if !errors.Is(err, rpctypes.ErrUnhealthy) || time.Now().After(deadline) || ctx.Err() != nil {
			break
		}
		time.Sleep(time.Second)
	}
	if err != nil {
		return "", 0, fmt.Errorf("add etcd member %s (%s): %w", name, peerURL, err)
	}
	var parts []string
	for _, m := range resp.Members {
		n := m.Name
		if m.ID == resp.Member.ID {
			n = name
		}
		if n == "" {
			// Another member that was added but has not started yet: it
			// cannot be named, so this one cannot start beside it.
			_, _ = c.MemberRemove(ctx, resp.Member.ID)
			return "", 0, fmt.Errorf("add etcd member %s: member %x was added but has not started; remove it or start it first", name, m.ID)
		}
		for _, u := range m.PeerURLs {
			parts = append(parts, n+"="+u)
		}
	}
	return strings.Join(parts, ","), resp.Member.ID, nil
}

// RemoveMember removes the member with the given name (or, when name
// parses as one, the hex ID) from the cluster whose client URLs are
// endpoints. Removing the member the client speaks to works: the request
// goes through the leader.
func RemoveMember(ctx context.Context, endpoints []string, files TLSFiles, name string) (Member, error) {
	c, err := NewClient(ctx, endpoints, files)
	if err != nil {
		return Member{}, err
	}
	defer c.Close()
	return removeMember(ctx, c, name)
}

func removeMember(ctx context.Context, c *clientv3.Client, name string) (Member, error) {
	members, err := ListMembers(ctx, c)
	if err != nil {
		return Member{}, err
	}
	for _, m := range members {
		if m.Name == name || strconv.FormatUint(m.ID, 16) == name {
			if _, err := c.MemberRemove(ctx, m.ID); err != nil {
				return m, fmt.Errorf("remove etcd member %s: %w", m.Name, err)
			}
			return m, nil
		}
	}
	return Member{}, fmt.Errorf("no etcd member named %q", name)
}

// ListMembers lists the cluster's members through c.
func ListMembers(ctx context.Context, c *clientv3.Client) ([]Member, error) {
	resp, err := c.MemberList(ctx)
	if err != nil {
		return nil, fmt.Errorf("list etcd members: %w", err)
	}
	var out []Member
	for _, m := range resp.Members {
		out = append(out, Member{ID: m.ID, Name: m.Name, PeerURLs: m.PeerURLs, ClientURLs: m.ClientURLs})
	}
	return out, nil
}

// RemoveSelf removes the member the client at endpoint (a member's own
// client URL) is, through the other members, and returns it and the other
// members' client URLs.
func RemoveSelf(ctx context.Context, endpoint string, files TLSFiles) (Member, []string, error) {
	c, err := NewClient(ctx, []string{endpoint}, files)
	if err != nil {
		return Member{}, nil, err
	}
	defer c.Close()
	status, err := c.Status(ctx, endpoint)
	if err != nil {
		return Member{}, nil, fmt.Errorf("etcd member at %s: %w", endpoint, err)
	}
	members, err := ListMembers(ctx, c)
	if err != nil {
		return Member{}, nil, err
	}
	var self Member
	var others []string
	for _, m := range members {
		if m.ID == status.Header.MemberId {
			self = m
			continue
		}
		others = append(others, m.ClientURLs...)
	}
	if self.ID == 0 {
		return Member{}, nil, fmt.Errorf("etcd member at %s is not in its cluster's member list", endpoint)
	}
	if len(others) == 0 {
		return self, others, fmt.Errorf("etcd member %s is the cluster's last: there is nothing to leave", self.Name)
	}
	oc, err := NewClient(ctx, others, files)
	if err != nil {
		return self, others, err
	}
	defer oc.Close()
	if _, err := oc.MemberRemove(ctx, self.ID); err != nil {
		return self, others, fmt.Errorf("remove etcd member %s: %w", self.Name, err)
	}
	return self, others, nil
}
