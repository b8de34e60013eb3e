package registry

import (
	"context"

	certificatesv1 "k8s.io/api/certificates/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/validation/field"
	genericapirequest "k8s.io/apiserver/pkg/endpoints/request"
	genericregistry "k8s.io/apiserver/pkg/registry/generic/registry"
	"k8s.io/apiserver/pkg/registry/rest"
	"sigs.k8s.io/structured-merge-diff/v6/fieldpath"

	"github.com/kubelite/kubelite/registry/validation"
)

// prepareCertificateSigningRequest records who asks: the requester's name, uid,
// groups and extra attributes, which signers and approvers rely on.
func prepareCertificateSigningRequest(ctx context.Context, obj runtime.Object) {
	csr := obj.(*certificatesv1.CertificateSigningRequest)
	csr.Spec.Username, csr.Spec.UID, csr.Spec.Groups, csr.Spec.Extra = "", "", nil, nil
	if u, ok := genericapirequest.UserFrom(ctx); ok {
		csr.Spec.Username = u.GetName()
		csr.Spec.UID = u.GetUID()
		csr.Spec.Groups = u.GetGroups()
		if extra := u.GetExtra(); len(extra) > 0 {
			csr.Spec.Extra = map[string]certificatesv1.ExtraValue{}
			for k, v := range extra {
				csr.Spec.Extra[k] = v
			}
		}
	}
}

// extendCertificateSigningRequests adds certificatesigningrequests/approval, whose
// updates change only the Approved and Denied conditions.
func extendCertificateSigningRequests(env *Env, store *genericregistry.Store, storage map[string]rest.Storage) error {
	approval := *store
	as := approvalStrategy{strategy: store.UpdateStrategy.(strategy)}
	approval.UpdateStrategy = as
	approval.ResetFieldsStrategy = as
	approval.BeginCreate, approval.BeginUpdate = nil, nil
	storage["certificatesigningrequests/approval"] = &StatusREST{store: &approval}
	return nil
}

// approvalStrategy keeps everything of a CSR but its approval conditions.
type approvalStrategy struct {
	strategy
}

func isApproval(t certificatesv1.RequestConditionType) bool {
	return t == certificatesv1.CertificateApproved || t == certificatesv1.CertificateDenied
}

func (approvalStrategy) PrepareForUpdate(ctx context.Context, obj, old runtime.Object) {
	csr, oldCSR := obj.(*certificatesv1.CertificateSigningRequest), old.(*certificatesv1.CertificateSigningRequest)
	var conditions []certificatesv1.CertificateSigningRequestCondition
	for _, c := range csr.Status.Conditions {
		if isApproval(c.Type) {
			conditions = append(conditions, c)
		}
	}
	for _, c := range oldCSR.Status.Conditions {
		if !isApproval(c.Type) {
			conditions = append(conditions, c)
		}
	}
	keepMeta := csr.ObjectMeta
	*csr = *oldCSR.DeepCopy()
	csr.ObjectMeta = keepMeta
	csr.Status.Conditions = conditions
}

func (approvalStrategy) ValidateUpdate(ctx context.Context, obj, old runtime.Object) field.ErrorList {
	return validation.CertificateSigningRequestApprovalUpdate(obj.(*certificatesv1.CertificateSigningRequest), old.(*certificatesv1.CertificateSigningRequest))
}

func (approvalStrategy) GetResetFields() map[fieldpath.APIVersion]*fieldpath.Set {
	return map[fieldpath.APIVersion]*fieldpath.Set{
		"certificates.k8s.io/v1": fieldpath.NewSet(fieldpath.MakePathOrDie("spec")),
	}
}
