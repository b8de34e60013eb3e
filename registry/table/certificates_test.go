package table

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	certificatesv1 "k8s.io/api/certificates/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
)

func TestCertificatesColumns(t *testing.T) {
	testColumns(t, []columnCase{
		{"certificatesigningrequests", CertificateSigningRequests(), []col{str("Name"), str("Age"), str("SignerName"), str("Requestor"), str("RequestedDuration"), str("Condition")}},
	})
}

func TestCertificateSigningRequestCells(t *testing.T) {
	cond := func(typ certificatesv1.RequestConditionType, status corev1.ConditionStatus) certificatesv1.CertificateSigningRequestCondition {
		return certificatesv1.CertificateSigningRequestCondition{Type: typ, Status: status}
	}
	approved := cond(certificatesv1.CertificateApproved, corev1.ConditionTrue)
	denied := cond(certificatesv1.CertificateDenied, corev1.ConditionTrue)
	failed := cond(certificatesv1.CertificateFailed, corev1.ConditionTrue)
	tests := []struct {
		name   string
		spec   certificatesv1.CertificateSigningRequestSpec
		status certificatesv1.CertificateSigningRequestStatus
		want   []interface{}
	}{{
		name: "pending kubelet client",
		spec: certificatesv1.CertificateSigningRequestSpec{SignerName: certificatesv1.KubeAPIServerClientKubeletSignerName, Username: "system:node:node-1", ExpirationSeconds: ptr.To[int32](86400)},
		want: []interface{}{"csr-x", "12m", "kubernetes.io/kube-apiserver-client-kubelet", "system:node:node-1", "24h", "Pending"},
	}, {
		name:   "approved and issued",
		spec:   certificatesv1.CertificateSigningRequestSpec{SignerName: "example.com/signer", Username: "alice", ExpirationSeconds: ptr.To[int32](600)},
		status: certificatesv1.CertificateSigningRequestStatus{Conditions: []certificatesv1.CertificateSigningRequestCondition{approved}, Certificate: []byte("PEM")},
		want:   []interface{}{"csr-x", "12m", "example.com/signer", "alice", "10m", "Approved,Issued"},
	}, {
		name:   "denied beats approved",
		spec:   certificatesv1.CertificateSigningRequestSpec{SignerName: "example.com/signer"},
		status: certificatesv1.CertificateSigningRequestStatus{Conditions: []certificatesv1.CertificateSigningRequestCondition{approved, denied}},
		want:   []interface{}{"csr-x", "12m", "example.com/signer", "", "<none>", "Denied"},
	}, {
		name:   "approved but failed",
		spec:   certificatesv1.CertificateSigningRequestSpec{SignerName: "example.com/signer"},
		status: certificatesv1.CertificateSigningRequestStatus{Conditions: []certificatesv1.CertificateSigningRequestCondition{approved, failed}},
		want:   []interface{}{"csr-x", "12m", "example.com/signer", "", "<none>", "Approved,Failed"},
	}, {
		name:   "failed, issued, no signer",
		status: certificatesv1.CertificateSigningRequestStatus{Conditions: []certificatesv1.CertificateSigningRequestCondition{failed}, Certificate: []byte("PEM")},
		want:   []interface{}{"csr-x", "12m", "<none>", "", "<none>", "Pending,Failed,Issued"},
	}, {
		name:   "condition counts whatever its status",
		spec:   certificatesv1.CertificateSigningRequestSpec{SignerName: "s"},
		status: certificatesv1.CertificateSigningRequestStatus{Conditions: []certificatesv1.CertificateSigningRequestCondition{cond(certificatesv1.CertificateApproved, corev1.ConditionFalse)}},
		want:   []interface{}{"csr-x", "12m", "s", "", "<none>", "Approved"},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			csr := &certificatesv1.CertificateSigningRequest{ObjectMeta: metav1.ObjectMeta{Name: "csr-x", CreationTimestamp: ago(12 * time.Minute)}, Spec: tt.spec, Status: tt.status}
			row := rowOf(t, CertificateSigningRequests(), csr)
			if diff := cmp.Diff(tt.want, row.Cells); diff != "" {
				t.Errorf("cells (-want +got):\n%s", diff)
			}
		})
	}
}

func TestPodCertificateTables(t *testing.T) {
	testColumns(t, []columnCase{
		{"clustertrustbundles", ClusterTrustBundles(), []col{str("Name"), str("SignerName")}},
		{"podcertificaterequests", PodCertificateRequests(), []col{str("Name"), str("PodName"), str("ServiceAccountName"), str("NodeName"), str("SignerName"), str("State"), str("UnverifiedUserAnnotations")}},
	})
	ctb := &certificatesv1.ClusterTrustBundle{ObjectMeta: metav1.ObjectMeta{Name: "roots"}}
	if diff := cmp.Diff([]interface{}{"roots", "<none>"}, rowOf(t, ClusterTrustBundles(), ctb).Cells); diff != "" {
		t.Errorf("trust bundle (-want +got):\n%s", diff)
	}
	pcr := &certificatesv1.PodCertificateRequest{ObjectMeta: metav1.ObjectMeta{Name: "pcr"}, Spec: certificatesv1.PodCertificateRequestSpec{
		PodName: "web", ServiceAccountName: "default", NodeName: "node-1", SignerName: "example.com/s",
		UnverifiedUserAnnotations: map[string]string{"example.com/b": "2", "example.com/a": "1"},
	}}
	if diff := cmp.Diff([]interface{}{"pcr", "web", "default", "node-1", "example.com/s", "Pending", "example.com/a=1,example.com/b=2"}, rowOf(t, PodCertificateRequests(), pcr).Cells); diff != "" {
		t.Errorf("pending request (-want +got):\n%s", diff)
	}
	pcr.Status.Conditions = []metav1.Condition{{Type: "Denied", Status: metav1.ConditionTrue}}
	pcr.Spec.UnverifiedUserAnnotations = nil
	if diff := cmp.Diff([]interface{}{"pcr", "web", "default", "node-1", "example.com/s", "Denied", "<none>"}, rowOf(t, PodCertificateRequests(), pcr).Cells); diff != "" {
		t.Errorf("denied request (-want +got):\n%s", diff)
	}
}
