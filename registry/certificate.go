package registry

import (
	"context"
	"errors"
	"fmt"

	certificatesv1 "k8s.io/api/certificates/v1"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"k8s.io/apiserver/pkg/authorization/authorizer"
	genericapirequest "k8s.io/apiserver/pkg/endpoints/request"
	genericregistry "k8s.io/apiserver/pkg/registry/generic/registry"
	"k8s.io/apiserver/pkg/registry/rest"
	"sigs.k8s.io/structured-merge-diff/v6/fieldpath"

	"github.com/kubelite/kubelite/auth/admission/certificates"
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

// prepareCertificateSigningRequestUpdate keeps a CSR's spec and status on a
// write to the main resource: after creation a CSR changes only through its
// subresources.
func prepareCertificateSigningRequestUpdate(obj, old runtime.Object) {
	csr, oldCSR := obj.(*certificatesv1.CertificateSigningRequest), old.(*certificatesv1.CertificateSigningRequest)
	csr.Spec = *oldCSR.Spec.DeepCopy()
	csr.Status = *oldCSR.Status.DeepCopy()
}

// prepareCertificateSigningRequestStatusUpdate keeps the Approved and Denied
// conditions of a CSR as they were when a status write leaves their number
// unchanged (adding or removing one is left to validation to refuse), and
// stamps the conditions' times.
func prepareCertificateSigningRequestStatusUpdate(obj, old runtime.Object) {
	csr, oldCSR := obj.(*certificatesv1.CertificateSigningRequest), old.(*certificatesv1.CertificateSigningRequest)
	for _, t := range []certificatesv1.RequestConditionType{certificatesv1.CertificateApproved, certificatesv1.CertificateDenied} {
		was, is := conditionIndices(oldCSR, t), conditionIndices(csr, t)
		if len(was) != len(is) {
			continue
		}
		for i, j := range is {
			csr.Status.Conditions[j] = *oldCSR.Status.Conditions[was[i]].DeepCopy()
		}
	}
	stampConditions(csr, oldCSR, metav1.Now())
}

func conditionIndices(csr *certificatesv1.CertificateSigningRequest, t certificatesv1.RequestConditionType) []int {
	var out []int
	for i, c := range csr.Status.Conditions {
		if c.Type == t {
			out = append(out, i)
		}
	}
	return out
}

// stampConditions sets lastUpdateTime to now where it is missing, and a
// missing lastTransitionTime to that of the old condition with the same type
// and status, or else to now.
func stampConditions(csr, old *certificatesv1.CertificateSigningRequest, now metav1.Time) {
	for i := range csr.Status.Conditions {
		c := &csr.Status.Conditions[i]
		if c.LastUpdateTime.IsZero() {
			c.LastUpdateTime = now
		}
		if !c.LastTransitionTime.IsZero() {
			continue
		}
		c.LastTransitionTime = now
		for _, o := range old.Status.Conditions {
			if o.Type == c.Type && o.Status == c.Status && !o.LastTransitionTime.IsZero() {
				c.LastTransitionTime = o.LastTransitionTime
				break
			}
		}
	}
}

// approvalStrategy changes only a CSR's conditions, all of them: the Approved
// and Denied conditions a signer's approver sets, and any other it writes.
type approvalStrategy struct {
	strategy
}

func (approvalStrategy) PrepareForUpdate(ctx context.Context, obj, old runtime.Object) {
	csr, oldCSR := obj.(*certificatesv1.CertificateSigningRequest), old.(*certificatesv1.CertificateSigningRequest)
	stampConditions(csr, oldCSR, metav1.Now())
	conditions := csr.Status.Conditions
	csr.Spec = *oldCSR.Spec.DeepCopy()
	csr.Status = *oldCSR.Status.DeepCopy()
	csr.Status.Conditions = conditions
}

func (approvalStrategy) ValidateUpdate(ctx context.Context, obj, old runtime.Object) field.ErrorList {
	return validation.CertificateSigningRequestApprovalUpdate(obj.(*certificatesv1.CertificateSigningRequest), old.(*certificatesv1.CertificateSigningRequest))
}

func (approvalStrategy) GetResetFields() map[fieldpath.APIVersion]*fieldpath.Set {
	return map[fieldpath.APIVersion]*fieldpath.Set{
		"certificates.k8s.io/v1": fieldpath.NewSet(fieldpath.MakePathOrDie("spec"), fieldpath.MakePathOrDie("status", "certificate")),
	}
}

// authorizePodCertificateStatus lets only a signer of the request's signer
// name change a pod certificate request's status: the caller needs the
// "sign" verb on certificates.k8s.io signers named after it, or after its
// domain with a "/*" wildcard.
func authorizePodCertificateStatus(ctx context.Context, authz authorizer.UnconditionalAuthorizer, obj, old runtime.Object) field.ErrorList {
	req, oldReq := obj.(*certificatesv1.PodCertificateRequest), old.(*certificatesv1.PodCertificateRequest)
	if apiequality.Semantic.DeepEqual(req.Status, oldReq.Status) {
		return nil
	}
	fp := field.NewPath("spec", "signerName")
	u, ok := genericapirequest.UserFrom(ctx)
	if !ok {
		return field.ErrorList{field.InternalError(fp, errors.New(`cannot determine calling user to perform "sign" check`))}
	}
	signer := oldReq.Spec.SignerName
	if certificates.MayForSigner(ctx, authz, u, "sign", signer) {
		return nil
	}
	return field.ErrorList{field.Forbidden(fp, fmt.Sprintf("User %q is not permitted to %q for signer %q", u.GetName(), "sign", signer))}
}
