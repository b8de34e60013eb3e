package admission_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"testing"
	"time"

	authenticationv1 "k8s.io/api/authentication/v1"
	certificatesv1 "k8s.io/api/certificates/v1"

	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	resourcev1 "k8s.io/api/resource/v1"
	storagev1 "k8s.io/api/storage/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/utils/ptr"

	"github.com/kubelite/kubelite/auth/nodetoken"
	"github.com/kubelite/kubelite/cmd/kubelite/app/testserver"
)

// TestNodeRestriction: a node identity may write only what concerns itself.
// The node client impersonates system:node:n1 in system:nodes; it is also in
// system:masters so that the authorizer lets every request through to
// admission, whose answers are under test.
func TestNodeRestriction(t *testing.T) {
	s := testserver.Start(t)
	ctx := context.Background()
	cfg := rest.CopyConfig(s.Config)
	cfg.Impersonate = rest.ImpersonationConfig{UserName: "system:node:n1", Groups: []string{"system:nodes", "system:masters"}}
	n1 := kubernetes.NewForConfigOrDie(cfg)
	forbidden := func(t *testing.T, err error, want string) {
		t.Helper()
		wantError(t, err, apierrors.IsForbidden, want)
	}

	// Nodes.
	_, err := n1.CoreV1().Nodes().Create(ctx, &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "n1",
		Labels: map[string]string{"node-restriction.kubernetes.io/pool": "gold"}}}, metav1.CreateOptions{})
	forbidden(t, err, `nodes "n1" is forbidden: node "n1" is not allowed to set the following labels: node-restriction.kubernetes.io/pool`)
	node, err := n1.CoreV1().Nodes().Create(ctx, &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "n1",
		Labels: map[string]string{corev1.LabelHostname: "n1", "example.com/free": "yes"}}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("node creating itself: %v", err)
	}
	if _, err := s.Client.CoreV1().Nodes().Create(ctx, &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "n2"}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	_, err = n1.CoreV1().Nodes().Patch(ctx, "n2", "application/merge-patch+json", []byte(`{"metadata":{"labels":{"a":"b"}}}`), metav1.PatchOptions{})
	forbidden(t, err, `nodes "n2" is forbidden: node "n1" is not allowed to modify node "n2"`)
	_, err = n1.CoreV1().Nodes().Patch(ctx, "n1", "application/merge-patch+json", []byte(`{"spec":{"taints":[{"key":"mine","effect":"NoSchedule"}]}}`), metav1.PatchOptions{})
	forbidden(t, err, `nodes "n1" is forbidden: node "n1" is not allowed to modify taints`)
	_, err = n1.CoreV1().Nodes().Patch(ctx, "n1", "application/merge-patch+json", []byte(`{"metadata":{"labels":{"node-role.kubernetes.io/control-plane":""}}}`), metav1.PatchOptions{})
	forbidden(t, err, `nodes "n1" is forbidden: is not allowed to modify labels: node-role.kubernetes.io/control-plane`)
	if _, err := n1.CoreV1().Nodes().Patch(ctx, "n1", "application/merge-patch+json", []byte(`{"metadata":{"labels":{"topology.kubernetes.io/zone":"z1"}}}`), metav1.PatchOptions{}); err != nil {
		t.Errorf("kubelet label: %v", err)
	}

	// Pods: only mirror pods of its own; status and deletion of its own.
	s.CreateNamespace(t, "nodes")
	pods := n1.CoreV1().Pods("nodes")
	_, err = pods.Create(ctx, pod("plain", func(p *corev1.Pod) { p.Spec.NodeName = "n1" }), metav1.CreateOptions{})
	forbidden(t, err, `pods "plain" is forbidden: pod does not have "kubernetes.io/config.mirror" annotation, node "n1" can only create mirror pods`)
	mirror := func(nodeName string) func(*corev1.Pod) {
		return func(p *corev1.Pod) {
			p.Annotations = map[string]string{corev1.MirrorPodAnnotationKey: "hash"}
			p.Spec.NodeName = nodeName
			p.Spec.AutomountServiceAccountToken = ptr.To(false)
			p.OwnerReferences = []metav1.OwnerReference{{APIVersion: "v1", Kind: "Node", Name: "n1", UID: node.UID, Controller: ptr.To(true)}}
		}
	}
	_, err = pods.Create(ctx, pod("elsewhere", mirror("n2")), metav1.CreateOptions{})
	forbidden(t, err, `pods "elsewhere" is forbidden: node "n1" can only create pods with spec.nodeName set to itself`)
	// (Secrets and service accounts the ServiceAccount plugin refuses first.)
	_, err = pods.Create(ctx, pod("config", mirror("n1"), func(p *corev1.Pod) {
		p.Spec.Volumes = []corev1.Volume{{Name: "c", VolumeSource: corev1.VolumeSource{ConfigMap: &corev1.ConfigMapVolumeSource{
			LocalObjectReference: corev1.LocalObjectReference{Name: "c"}}}}}
	}), metav1.CreateOptions{})
	forbidden(t, err, `pods "config" is forbidden: node "n1" can not create pods that reference configmaps (via configmap volumes)`)
	if _, err := pods.Create(ctx, pod("static", mirror("n1")), metav1.CreateOptions{}); err != nil {
		t.Errorf("mirror pod: %v", err)
	}

	other, err := s.Client.CoreV1().Pods("nodes").Create(ctx, pod("on-n2", func(p *corev1.Pod) { p.Spec.NodeName = "n2" }), metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Client.CoreV1().Pods("nodes").Create(ctx, pod("on-n1", func(p *corev1.Pod) { p.Spec.NodeName = "n1" }), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	other.Status.Message = "hello"
	_, err = pods.UpdateStatus(ctx, other, metav1.UpdateOptions{})
	forbidden(t, err, `pods "on-n2" is forbidden: node "n1" can only update pod status for pods with spec.nodeName set to itself`)
	_, err = pods.Patch(ctx, "on-n1", "application/merge-patch+json", []byte(`{"metadata":{"labels":{"a":"b"}}}`), metav1.PatchOptions{}, "status")
	forbidden(t, err, `pods "on-n1" is forbidden: node "n1" cannot update labels through pod status`)
	if _, err := pods.Patch(ctx, "on-n1", "application/merge-patch+json", []byte(`{"status":{"message":"fine"}}`), metav1.PatchOptions{}, "status"); err != nil {
		t.Errorf("own pod's status: %v", err)
	}
	err = pods.EvictV1(ctx, &policyv1.Eviction{ObjectMeta: metav1.ObjectMeta{Name: "on-n2", Namespace: "nodes"}})
	forbidden(t, err, `pods "on-n2" is forbidden: node n1 can only evict pods with spec.nodeName set to itself`)
	err = pods.Delete(ctx, "on-n2", metav1.DeleteOptions{})
	forbidden(t, err, `pods "on-n2" is forbidden: node "n1" can only delete pods with spec.nodeName set to itself`)
	if err := pods.Delete(ctx, "on-n1", metav1.DeleteOptions{}); err != nil {
		t.Errorf("deleting its own pod: %v", err)
	}

	// Leases: its own, in kube-node-lease.
	lease := func(name string) *coordinationv1.Lease {
		return &coordinationv1.Lease{ObjectMeta: metav1.ObjectMeta{Name: name}}
	}
	_, err = n1.CoordinationV1().Leases(corev1.NamespaceNodeLease).Create(ctx, lease("n2"), metav1.CreateOptions{})
	forbidden(t, err, `leases.coordination.k8s.io "n2" is forbidden: can only access node lease with the same name as the requesting node`)
	_, err = n1.CoordinationV1().Leases("default").Create(ctx, lease("n1"), metav1.CreateOptions{})
	forbidden(t, err, `leases.coordination.k8s.io "n1" is forbidden: can only access leases in the "kube-node-lease" system namespace`)
	if _, err := n1.CoordinationV1().Leases(corev1.NamespaceNodeLease).Create(ctx, lease("n1"), metav1.CreateOptions{}); err != nil {
		t.Errorf("own lease: %v", err)
	}

	// Service account tokens: only bound to a pod of its own.
	_, err = n1.CoreV1().ServiceAccounts("nodes").CreateToken(ctx, "default", &authenticationv1.TokenRequest{Spec: authenticationv1.TokenRequestSpec{
		BoundObjectRef: &authenticationv1.BoundObjectReference{APIVersion: "v1", Kind: "Pod", Name: "on-n2", UID: other.UID}}}, metav1.CreateOptions{})
	forbidden(t, err, `serviceaccounts "default" is forbidden: node requested token bound to a pod scheduled on a different node`)
	_, err = n1.CoreV1().ServiceAccounts("nodes").CreateToken(ctx, "default", &authenticationv1.TokenRequest{}, metav1.CreateOptions{})
	forbidden(t, err, `serviceaccounts "default" is forbidden: node requested token not bound to a pod`)

	// Token audiences: those its pods use, as the node itself (its token;
	// the impersonating client is in system:masters, whom the authorizer
	// lets ask for any audience).
	if _, err := s.Client.CoreV1().Secrets("kube-system").Create(ctx, &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Name: nodetoken.SecretPrefix + "n1"}, Type: nodetoken.SecretType,
		Data: map[string][]byte{nodetoken.NodeNameKey: []byte("n1"), nodetoken.SecretKey: []byte("n1secret")}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	asNode := rest.AnonymousClientConfig(s.Config)
	asNode.BearerToken = nodetoken.SecretPrefix + "n1.n1secret"
	n1Token := kubernetes.NewForConfigOrDie(asNode)
	vault, err := s.Client.CoreV1().Pods("nodes").Create(ctx, pod("vault", func(p *corev1.Pod) {
		p.Spec.NodeName = "n1"
		p.Spec.Volumes = []corev1.Volume{{Name: "vault", VolumeSource: corev1.VolumeSource{Projected: &corev1.ProjectedVolumeSource{
			Sources: []corev1.VolumeProjection{{ServiceAccountToken: &corev1.ServiceAccountTokenProjection{Audience: "vault", Path: "token"}}}}}}}
	}), metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	tokenFor := func(audiences ...string) error {
		_, err := n1Token.CoreV1().ServiceAccounts("nodes").CreateToken(ctx, "default", &authenticationv1.TokenRequest{Spec: authenticationv1.TokenRequestSpec{
			Audiences: audiences, BoundObjectRef: &authenticationv1.BoundObjectReference{APIVersion: "v1", Kind: "Pod", Name: "vault", UID: vault.UID}}}, metav1.CreateOptions{})
		return err
	}
	if err := wait.PollUntilContextTimeout(ctx, 100*time.Millisecond, 10*time.Second, true, func(context.Context) (bool, error) {
		return !apierrors.IsUnauthorized(tokenFor("vault")), nil
	}); err != nil {
		t.Fatalf("node token of n1 never accepted: %v", err)
	}
	if err := tokenFor("vault"); err != nil {
		t.Errorf("token for the audience of the pod's projected volume: %v", err)
	}
	if err := tokenFor(); err != nil {
		t.Errorf("token for the API server (the pod's kube-api-access volume): %v", err)
	}
	forbidden(t, tokenFor("elsewhere"), `serviceaccounts "default" is forbidden: system:node:n1 is not authorized to request tokens for audience "elsewhere"`)
	forbidden(t, tokenFor("vault", "elsewhere"), `serviceaccounts "default" is forbidden: node may only request 0 or 1 audiences`)

	// CSINodes: its own.
	_, err = n1.StorageV1().CSINodes().Create(ctx, &storagev1.CSINode{ObjectMeta: metav1.ObjectMeta{Name: "n2"}}, metav1.CreateOptions{})
	forbidden(t, err, `csinodes.storage.k8s.io "n2" is forbidden: can only access CSINode with the same name as the requesting node`)
	if _, err := n1.StorageV1().CSINodes().Create(ctx, &storagev1.CSINode{ObjectMeta: metav1.ObjectMeta{Name: "n1",
		OwnerReferences: []metav1.OwnerReference{{APIVersion: "v1", Kind: "Node", Name: "n1", UID: node.UID}}}}, metav1.CreateOptions{}); err != nil {
		t.Errorf("own CSINode: %v", err)
	}

	// ResourceSlices: of its own node.
	slice := func(name, nodeName string) *resourcev1.ResourceSlice {
		return &resourcev1.ResourceSlice{ObjectMeta: metav1.ObjectMeta{Name: name}, Spec: resourcev1.ResourceSliceSpec{
			Driver: "gpu.example.com", Pool: resourcev1.ResourcePool{Name: "p", ResourceSliceCount: 1}, NodeName: ptr.To(nodeName)}}
	}
	_, err = n1.ResourceV1().ResourceSlices().Create(ctx, slice("n2-gpus", "n2"), metav1.CreateOptions{})
	forbidden(t, err, `resourceslices.resource.k8s.io "n2-gpus" is forbidden: can only create ResourceSlice with the same NodeName as the requesting node`)
	if _, err := s.Client.ResourceV1().ResourceSlices().Create(ctx, slice("n2-gpus", "n2"), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	err = n1.ResourceV1().ResourceSlices().Delete(ctx, "n2-gpus", metav1.DeleteOptions{})
	forbidden(t, err, `resourceslices.resource.k8s.io "n2-gpus" is forbidden: can only delete ResourceSlice with the same NodeName as the requesting node`)
	if _, err := n1.ResourceV1().ResourceSlices().Create(ctx, slice("n1-gpus", "n1"), metav1.CreateOptions{}); err != nil {
		t.Errorf("own ResourceSlice: %v", err)
	}

	// CSRs to the kubelet signers: only for its own name.
	csr := func(name, cn string) *certificatesv1.CertificateSigningRequest {
		key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		der, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{Subject: pkix.Name{CommonName: cn, Organization: []string{"system:nodes"}}}, key)
		if err != nil {
			t.Fatal(err)
		}
		return &certificatesv1.CertificateSigningRequest{ObjectMeta: metav1.ObjectMeta{Name: name}, Spec: certificatesv1.CertificateSigningRequestSpec{
			Request:    pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: der}),
			SignerName: certificatesv1.KubeAPIServerClientKubeletSignerName,
			Usages:     []certificatesv1.KeyUsage{certificatesv1.UsageDigitalSignature, certificatesv1.UsageClientAuth}}}
	}
	_, err = n1.CertificatesV1().CertificateSigningRequests().Create(ctx, csr("for-n2", "system:node:n2"), metav1.CreateOptions{})
	forbidden(t, err, `certificatesigningrequests.certificates.k8s.io "for-n2" is forbidden: can only create a node CSR with CN=system:node:n1`)
	if _, err := n1.CertificatesV1().CertificateSigningRequests().Create(ctx, csr("for-n1", "system:node:n1"), metav1.CreateOptions{}); err != nil {
		t.Errorf("own CSR: %v", err)
	}

	// Anyone else is not restricted.
	if err := s.Client.CoreV1().Pods("nodes").Delete(ctx, "on-n2", metav1.DeleteOptions{}); err != nil {
		t.Errorf("admin deleting a pod: %v", err)
	}
}
