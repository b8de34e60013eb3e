package registry

import (
	"context"
	"testing"

	certificatesv1 "k8s.io/api/certificates/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apiserver/pkg/authentication/user"
	"k8s.io/apiserver/pkg/authorization/authorizer"
	genericapirequest "k8s.io/apiserver/pkg/endpoints/request"
)

// signers allows "sign" on the signer names it lists.
type signers map[string]bool

func (s signers) Authorize(ctx context.Context, a authorizer.Attributes) (authorizer.Decision, string, error) {
	if a.GetVerb() == "sign" && a.GetAPIGroup() == "certificates.k8s.io" && a.GetResource() == "signers" && s[a.GetName()] {
		return authorizer.DecisionAllow, "", nil
	}
	return authorizer.DecisionNoOpinion, "", nil
}

func TestAuthorizePodCertificateStatus(t *testing.T) {
	old := &certificatesv1.PodCertificateRequest{Spec: certificatesv1.PodCertificateRequestSpec{SignerName: "example.com/signer"}}
	denied := old.DeepCopy()
	denied.Status.Conditions = []metav1.Condition{{Type: "Denied", Status: metav1.ConditionTrue}}
	ctx := genericapirequest.WithUser(context.Background(), &user.DefaultInfo{Name: "signer-bot"})
	tests := []struct {
		name    string
		allowed signers
		obj     *certificatesv1.PodCertificateRequest
		wantErr bool
	}{
		{"exact signer", signers{"example.com/signer": true}, denied, false},
		{"domain wildcard", signers{"example.com/*": true}, denied, false},
		{"other signer", signers{"example.com/other": true}, denied, true},
		{"no status change needs no permission", signers{}, old.DeepCopy(), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			errs := authorizePodCertificateStatus(ctx, tt.allowed, tt.obj, old)
			if (len(errs) > 0) != tt.wantErr {
				t.Fatalf("errors %v, want error %v", errs, tt.wantErr)
			}
			if tt.wantErr && errs[0].Field != "spec.signerName" {
				t.Errorf("error at %s, want spec.signerName", errs[0].Field)
			}
		})
	}
}
