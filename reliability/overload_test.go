package reliability

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	authenticationv1 "k8s.io/api/authentication/v1"
	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	flowcontrolv1 "k8s.io/api/flowcontrol/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	certutil "k8s.io/client-go/util/cert"
	"k8s.io/client-go/util/keyutil"
	"k8s.io/utils/ptr"
)

// TestOverload floods the server with many more clients than it can serve at
// once (hundreds of goroutines listing as service accounts, each request on
// a connection of its own, retries off) while a node heartbeats, updating its
// Lease as system:node:<name>, and the admin reads. API priority and fairness
// must keep every heartbeat and every admin request answered and throttle
// the flood with 429s; no request may get a 5xx. The server is given 30
// seats (--max-requests-inflight=20, --max-mutating-requests-inflight=10),
// a server sized for the two cores it shares with the clients here, and the
// flood's service accounts a priority level of their own with short queues.
func TestOverload(t *testing.T) {
	flooders, floodFor := 200, 8*time.Second
	if full() {
		flooders, floodFor = 400, 60*time.Second
	}
	p := startProcess(t, "--max-requests-inflight=20", "--max-mutating-requests-inflight=10")
	admin := p.config()
	adminClient := kubernetes.NewForConfigOrDie(admin)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	must := func(_ any, err error) {
		t.Helper()
		if err != nil {
			t.Error(err)
		}
	}

	// The flood's objects and identities: ten service accounts that may list
	// ConfigMaps in the namespace "flood", which holds 300 of them.
	must(adminClient.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "flood"}}, metav1.CreateOptions{}))
	var wg sync.WaitGroup
	for i := range 300 {
		wg.Go(func() {
			cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("cm-%d", i)}, Data: map[string]string{"v": fmt.Sprintf("%01000d", i)}}
			must(adminClient.CoreV1().ConfigMaps("flood").Create(ctx, cm, metav1.CreateOptions{}))
		})
	}
	wg.Wait()
	must(adminClient.RbacV1().Roles("flood").Create(ctx, &rbacv1.Role{
		ObjectMeta: metav1.ObjectMeta{Name: "list"},
		Rules:      []rbacv1.PolicyRule{{APIGroups: []string{""}, Resources: []string{"configmaps"}, Verbs: []string{"list"}}},
	}, metav1.CreateOptions{}))
	must(adminClient.RbacV1().RoleBindings("flood").Create(ctx, &rbacv1.RoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: "list"},
		RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "Role", Name: "list"},
		Subjects:   []rbacv1.Subject{{Kind: rbacv1.GroupKind, APIGroup: rbacv1.GroupName, Name: "system:serviceaccounts:flood"}},
	}, metav1.CreateOptions{}))
	// The flood's priority level, as an operator would configure one for a
	// misbehaving workload: a few seats and short queues (upstream's default
	// workload-low level queues up to 300 requests per flow and lets each wait
	// 15 s before it rejects them).
	must(adminClient.FlowcontrolV1().PriorityLevelConfigurations().Create(ctx, &flowcontrolv1.PriorityLevelConfiguration{
		ObjectMeta: metav1.ObjectMeta{Name: "flood"},
		Spec: flowcontrolv1.PriorityLevelConfigurationSpec{
			Type: flowcontrolv1.PriorityLevelEnablementLimited,
			Limited: &flowcontrolv1.LimitedPriorityLevelConfiguration{
				NominalConcurrencyShares: ptr.To[int32](10),
				LendablePercent:          ptr.To[int32](0),
				LimitResponse: flowcontrolv1.LimitResponse{
					Type:    flowcontrolv1.LimitResponseTypeQueue,
					Queuing: &flowcontrolv1.QueuingConfiguration{Queues: 16, HandSize: 2, QueueLengthLimit: 10},
				},
			},
		},
	}, metav1.CreateOptions{}))
	must(adminClient.FlowcontrolV1().FlowSchemas().Create(ctx, &flowcontrolv1.FlowSchema{
		ObjectMeta: metav1.ObjectMeta{Name: "flood"},
		Spec: flowcontrolv1.FlowSchemaSpec{
			PriorityLevelConfiguration: flowcontrolv1.PriorityLevelConfigurationReference{Name: "flood"},
			MatchingPrecedence:         500,
			DistinguisherMethod:        &flowcontrolv1.FlowDistinguisherMethod{Type: flowcontrolv1.FlowDistinguisherMethodByUserType},
			Rules: []flowcontrolv1.PolicyRulesWithSubjects{{
				Subjects:      []flowcontrolv1.Subject{{Kind: flowcontrolv1.SubjectKindGroup, Group: &flowcontrolv1.GroupSubject{Name: "system:serviceaccounts:flood"}}},
				ResourceRules: []flowcontrolv1.ResourcePolicyRule{{Verbs: []string{"*"}, APIGroups: []string{"*"}, Resources: []string{"*"}, Namespaces: []string{"*"}}},
			}},
		},
	}, metav1.CreateOptions{}))
	var floodClients []rest.Interface
	for i := range 10 {
		sa := &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("flood-%d", i)}}
		must(adminClient.CoreV1().ServiceAccounts("flood").Create(ctx, sa, metav1.CreateOptions{}))
		tok, err := adminClient.CoreV1().ServiceAccounts("flood").CreateToken(ctx, sa.Name, &authenticationv1.TokenRequest{}, metav1.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		cfg := rest.AnonymousClientConfig(admin)
		cfg.BearerToken = tok.Status.Token
		// HTTP/1.1: a connection per request in flight, as from many clients.
		cfg.NextProtos = []string{"http/1.1"}
		cfg.QPS, cfg.Burst = -1, 0
		floodClients = append(floodClients, kubernetes.NewForConfigOrDie(cfg).CoreV1().RESTClient())
	}

	// The node: its certificate from the cluster CA, its Node and Lease.
	const nodeName = "reliability-node"
	must(adminClient.CoreV1().Nodes().Create(ctx, &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: nodeName}}, metav1.CreateOptions{}))
	node := kubernetes.NewForConfigOrDie(nodeConfig(t, p, admin, nodeName))
	leases := node.CoordinationV1().Leases(corev1.NamespaceNodeLease)
	holder, dur := nodeName, int32(40)
	lease, err := leases.Create(ctx, &coordinationv1.Lease{
		ObjectMeta: metav1.ObjectMeta{Name: nodeName},
		Spec:       coordinationv1.LeaseSpec{HolderIdentity: &holder, LeaseDurationSeconds: &dur},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("the node's lease: %v", err)
	}

	// The admin's requests and the node's heartbeats, before and during the flood.
	var adminLat, beatLat latencies
	var adminErr, beatErr atomic.Int64
	adminLoop := func(ctx context.Context, lat *latencies) {
		for ctx.Err() == nil {
			start := time.Now()
			_, err := adminClient.CoreV1().ConfigMaps("flood").Get(ctx, "cm-1", metav1.GetOptions{})
			if ctx.Err() != nil {
				return
			}
			if err != nil {
				adminErr.Add(1)
				t.Errorf("admin: %v", err)
			}
			lat.add(time.Since(start))
			time.Sleep(20 * time.Millisecond)
		}
	}
	beatLoop := func(ctx context.Context, lat *latencies) {
		for ctx.Err() == nil {
			now := metav1.NewMicroTime(time.Now())
			lease.Spec.RenewTime = &now
			start := time.Now()
			updated, err := leases.Update(ctx, lease, metav1.UpdateOptions{})
			if ctx.Err() != nil {
				return
			}
			if err != nil {
				beatErr.Add(1)
				t.Errorf("heartbeat: %v", err)
			} else {
				lease = updated
			}
			lat.add(time.Since(start))
			time.Sleep(200 * time.Millisecond)
		}
	}
	var idleAdmin, idleBeat latencies
	run(3*time.Second, func(ctx context.Context) { adminLoop(ctx, &idleAdmin) }, func(ctx context.Context) { beatLoop(ctx, &idleBeat) })

	var ok, throttled, other atomic.Int64
	floodCtx, stopFlood := context.WithCancel(ctx)
	for i := range flooders {
		wg.Go(func() {
			c := floodClients[i%len(floodClients)]
			for floodCtx.Err() == nil {
				err := c.Get().Namespace("flood").Resource("configmaps").MaxRetries(0).Do(floodCtx).Error()
				var code int32
				if status, isStatus := err.(apierrors.APIStatus); isStatus {
					code = status.Status().Code
				}
				switch {
				case floodCtx.Err() != nil:
				case err == nil:
					ok.Add(1)
				case code == http.StatusTooManyRequests:
					throttled.Add(1)
				default:
					if other.Add(1) == 1 {
						t.Logf("flood: first error other than 429: %d: %v", code, err)
					}
					if code >= 500 {
						t.Errorf("flood: %d: %v", code, err)
					}
				}
			}
		})
	}
	time.Sleep(2 * time.Second) // the flood builds up
	run(floodFor, func(ctx context.Context) { adminLoop(ctx, &adminLat) }, func(ctx context.Context) { beatLoop(ctx, &beatLat) })
	dump, err := adminClient.CoreV1().RESTClient().Get().AbsPath("/debug/api_priority_and_fairness/dump_priority_levels").DoRaw(ctx)
	if err != nil {
		t.Errorf("APF's state: %v", err)
	}
	stopFlood()
	wg.Wait()

	if p.exited() {
		t.Fatal("the server exited under the flood")
	}
	t.Logf("priority levels at the end of the flood:\n%s", dump)
	if throttled.Load() == 0 {
		t.Errorf("the flood was never throttled (%d answered): no overload", ok.Load())
	}
	if adminLat.n() == 0 || beatLat.n() == 0 {
		t.Fatalf("no admin request (%d) or heartbeat (%d) answered during the flood", adminLat.n(), beatLat.n())
	}
	if worst := beatLat.quantile(1); worst > 10*time.Second {
		t.Errorf("a heartbeat took %v, longer than a node's renew interval (10 s)", worst)
	}
	figure(t, "overload flooders=%d for=%v flood-answered=%d flood-429=%d flood-other-errors=%d admin-requests=%d admin-errors=%d admin-p50=%v admin-p99=%v (idle p99 %v) heartbeats=%d heartbeat-errors=%d heartbeat-p99=%v (idle p99 %v)",
		flooders, floodFor, ok.Load(), throttled.Load(), other.Load(), adminLat.n(), adminErr.Load(), adminLat.quantile(0.5), adminLat.quantile(0.99), idleAdmin.quantile(0.99),
		beatLat.n(), beatErr.Load(), beatLat.quantile(0.99), idleBeat.quantile(0.99))
}

// run runs each loop for d.
func run(d time.Duration, loops ...func(ctx context.Context)) {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	var wg sync.WaitGroup
	for _, l := range loops {
		wg.Go(func() { l(ctx) })
	}
	wg.Wait()
}

type latencies struct {
	mu sync.Mutex
	d  []time.Duration
}

func (l *latencies) add(d time.Duration) {
	l.mu.Lock()
	l.d = append(l.d, d)
	l.mu.Unlock()
}

func (l *latencies) n() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.d)
}

// quantile returns the q quantile (0..1), rounded to a tenth of a millisecond.
func (l *latencies) quantile(q float64) time.Duration {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.d) == 0 {
		return 0
	}
	s := slices.Clone(l.d)
	slices.Sort(s)
	i := int(q * float64(len(s)-1))
	return s[i].Round(100 * time.Microsecond)
}

// nodeConfig returns a client config that authenticates as system:node:name
// with a certificate from the cluster CA in the server's data dir, as a node
// agent's.
func nodeConfig(t *testing.T, p *process, admin *rest.Config, name string) *rest.Config {
	t.Helper()
	caPEM, err := os.ReadFile(filepath.Join(p.dataDir, "pki", "ca.crt"))
	if err != nil {
		t.Fatal(err)
	}
	cas, err := certutil.ParseCertsPEM(caPEM)
	if err != nil {
		t.Fatal(err)
	}
	caKey, err := keyutil.PrivateKeyFromFile(filepath.Join(p.dataDir, "pki", "ca.key"))
	if err != nil {
		t.Fatal(err)
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(time.Now().UnixNano()),
		Subject:      pkix.Name{CommonName: "system:node:" + name, Organization: []string{"system:nodes"}},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, cas[0], key.Public(), caKey.(crypto.Signer))
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	cfg := rest.AnonymousClientConfig(admin)
	cfg.CertData = pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	cfg.KeyData = pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER})
	cfg.QPS, cfg.Burst = -1, 0
	return cfg
}
