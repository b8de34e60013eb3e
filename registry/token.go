package registry

import (
	"context"
	"fmt"
	"math"
	"time"

	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/validation/field"
	genericapirequest "k8s.io/apiserver/pkg/endpoints/request"
	genericregistry "k8s.io/apiserver/pkg/registry/generic/registry"
	"k8s.io/apiserver/pkg/registry/rest"

	"github.com/kubelite/kubelite/auth/serviceaccount"
)

// Token lifetimes a TokenRequest may ask for, as upstream bounds them.
const (
	minTokenSeconds     = 10 * 60
	maxTokenSeconds     = math.MaxUint32
	defaultTokenSeconds = 3600
)

// extendServiceAccounts adds serviceaccounts/token, the TokenRequest API,
// when the server has a token issuer.
func extendServiceAccounts(env *Env, store *genericregistry.Store, storage map[string]rest.Storage) error {
	if env.Tokens != nil {
		storage["serviceaccounts/token"] = &TokenREST{env: env, accounts: store}
	}
	return nil
}

// TokenREST serves serviceaccounts/token: a TokenRequest posted for a
// service account comes back with a signed token in its status.
type TokenREST struct {
	env      *Env
	accounts *genericregistry.Store
}

var (
	_ rest.NamedCreater                   = &TokenREST{}
	_ rest.GroupVersionKindProvider       = &TokenREST{}
	_ rest.SubresourceObjectMetaPreserver = &TokenREST{}
)

func (r *TokenREST) New() runtime.Object { return &authenticationv1.TokenRequest{} }
func (r *TokenREST) Destroy()            {}

// GroupVersionKind: the subresource of a core resource speaks authentication.k8s.io.
func (r *TokenREST) GroupVersionKind(schema.GroupVersion) schema.GroupVersionKind {
	return authenticationv1.SchemeGroupVersion.WithKind("TokenRequest")
}

// PreserveRequestObjectMetaSystemFieldsOnSubresourceCreate keeps the
// request's metadata as the client sent it (it is not stored).
func (r *TokenREST) PreserveRequestObjectMetaSystemFieldsOnSubresourceCreate() bool { return true }

// Create issues a token for the service account name in the request's
// namespace, bound to the object spec.boundObjectRef names, if any.
func (r *TokenREST) Create(ctx context.Context, name string, obj runtime.Object, createValidation rest.ValidateObjectFunc, options *metav1.CreateOptions) (runtime.Object, error) {
	req := obj.(*authenticationv1.TokenRequest).DeepCopy()
	ns, _ := genericapirequest.NamespaceFrom(ctx)
	if req.Spec.ExpirationSeconds == nil || *req.Spec.ExpirationSeconds == 0 {
		s := int64(defaultTokenSeconds)
		req.Spec.ExpirationSeconds = &s
	}
	if len(req.Spec.Audiences) == 0 {
		req.Spec.Audiences = r.env.Tokens.APIAudiences()
	}
	if errs := validateTokenRequest(req); len(errs) > 0 {
		return nil, apierrors.NewInvalid(authenticationv1.SchemeGroupVersion.WithKind("TokenRequest").GroupKind(), name, errs)
	}
	if createValidation != nil {
		if err := createValidation(ctx, req); err != nil {
			return nil, err
		}
	}
	saObj, err := r.accounts.Get(ctx, name, &metav1.GetOptions{})
	if err != nil {
		return nil, err
	}
	sa := saObj.(*corev1.ServiceAccount)
	claims := serviceaccount.Claims{
		Namespace:      ns,
		ServiceAccount: serviceaccount.Ref{Name: sa.Name, UID: sa.UID},
		Audiences:      req.Spec.Audiences,
		ExpiresAt:      time.Now().Add(time.Duration(*req.Spec.ExpirationSeconds) * time.Second),
	}
	if ref := req.Spec.BoundObjectRef; ref != nil {
		bound, err := r.boundObject(ctx, ns, ref)
		if err != nil {
			return nil, err
		}
		b := &serviceaccount.Ref{Name: bound.GetName(), UID: bound.GetUID()}
		switch ref.Kind {
		case "Pod":
			claims.Pod = b
		case "Secret":
			claims.Secret = b
		case "Node":
			claims.Node = b
		}
	}
	token, err := r.env.Tokens.Issue(claims)
	if err != nil {
		return nil, apierrors.NewInternalError(fmt.Errorf("sign service account token: %w", err))
	}
	req.Name, req.Namespace = sa.Name, ns
	req.CreationTimestamp = metav1.Now()
	req.Status = authenticationv1.TokenRequestStatus{Token: token, ExpirationTimestamp: metav1.NewTime(claims.ExpiresAt)}
	return req, nil
}

// boundObject reads the object a token is to be bound to and checks its uid.
func (r *TokenREST) boundObject(ctx context.Context, ns string, ref *authenticationv1.BoundObjectReference) (metav1.Object, error) {
	var gr schema.GroupResource
	switch ref.Kind {
	case "Pod":
		gr = schema.GroupResource{Resource: "pods"}
	case "Secret":
		gr = schema.GroupResource{Resource: "secrets"}
	case "Node":
		gr = schema.GroupResource{Resource: "nodes"}
		ctx = genericapirequest.WithNamespace(ctx, "")
	}
	obj, err := r.env.Get(ctx, gr, ref.Name)
	if err != nil {
		return nil, err
	}
	m := obj.(metav1.Object)
	if ref.UID != "" && ref.UID != m.GetUID() {
		return nil, apierrors.NewConflict(gr, ref.Name, fmt.Errorf("the UID in the bound object reference (%s) does not match the UID in record (%s); the object might have been deleted and then recreated", ref.UID, m.GetUID()))
	}
	return m, nil
}

// validateTokenRequest checks a defaulted TokenRequest as upstream does.
func validateTokenRequest(req *authenticationv1.TokenRequest) field.ErrorList {
	var errs field.ErrorList
	spec := field.NewPath("spec")
	if s := *req.Spec.ExpirationSeconds; s < minTokenSeconds {
		errs = append(errs, field.Invalid(spec.Child("expirationSeconds"), s, "may not specify a duration less than 10 minutes"))
	} else if s > maxTokenSeconds {
		errs = append(errs, field.Invalid(spec.Child("expirationSeconds"), s, "may not specify a duration larger than 2^32 seconds"))
	}
	if ref := req.Spec.BoundObjectRef; ref != nil {
		p := spec.Child("boundObjectRef")
		switch ref.Kind {
		case "Pod", "Secret", "Node":
		default:
			errs = append(errs, field.NotSupported(p.Child("kind"), ref.Kind, []string{"Pod", "Secret", "Node"}))
		}
		if ref.APIVersion != "v1" {
			errs = append(errs, field.NotSupported(p.Child("apiVersion"), ref.APIVersion, []string{"v1"}))
		}
		if ref.Name == "" {
			errs = append(errs, field.Required(p.Child("name"), ""))
		}
	}
	return errs
}
