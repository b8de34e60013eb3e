package registry

import (
	"context"
	"fmt"
	"math"
	"slices"
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
	// warnOnlyTokenSeconds is what the kubelet asks for a projected
	// token; such a token bound to a pod lasts extendedTokenSeconds.
	warnOnlyTokenSeconds = 3600 + 7
	extendedTokenSeconds = 365 * 24 * 60 * 60
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
// namespace, bound to the object spec.boundObjectRef names, if any, as
// upstream's TokenRequest does.
func (r *TokenREST) Create(ctx context.Context, name string, obj runtime.Object, createValidation rest.ValidateObjectFunc, options *metav1.CreateOptions) (runtime.Object, error) {
	req := obj.(*authenticationv1.TokenRequest).DeepCopy()
	ns, _ := genericapirequest.NamespaceFrom(ctx)
	gk := authenticationv1.SchemeGroupVersion.WithKind("TokenRequest").GroupKind()
	if req.Name != "" && req.Name != name {
		return nil, apierrors.NewInvalid(gk, name, field.ErrorList{field.Invalid(field.NewPath("metadata", "name"), req.Name, "must match the service account name if specified")})
	}
	if req.Namespace != "" && req.Namespace != ns {
		return nil, apierrors.NewInvalid(gk, name, field.ErrorList{field.Invalid(field.NewPath("metadata", "namespace"), req.Namespace, "must match the service account namespace if specified")})
	}
	saObj, err := r.accounts.Get(ctx, name, &metav1.GetOptions{})
	if err != nil {
		return nil, err
	}
	sa := saObj.(*corev1.ServiceAccount)
	if req.UID != "" && req.UID != sa.UID {
		return nil, apierrors.NewConflict(schema.GroupResource{Group: authenticationv1.GroupName, Resource: "TokenRequest"}, name,
			fmt.Errorf("the UID in the token request (%s) does not match the UID of the service account (%s)", req.UID, sa.UID))
	}
	if req.Spec.ExpirationSeconds == nil || *req.Spec.ExpirationSeconds == 0 {
		s := int64(defaultTokenSeconds)
		req.Spec.ExpirationSeconds = &s
	}
	if len(req.Spec.Audiences) == 0 {
		req.Spec.Audiences = r.env.Tokens.APIAudiences()
	}
	req.Name, req.Namespace, req.UID = sa.Name, ns, sa.UID
	now := time.Now()
	req.CreationTimestamp = metav1.NewTime(now)
	req.Status = authenticationv1.TokenRequestStatus{}
	if errs := validateTokenRequest(req); len(errs) > 0 {
		return nil, apierrors.NewInvalid(gk, "", errs)
	}
	if createValidation != nil {
		if err := createValidation(ctx, req.DeepCopy()); err != nil {
			return nil, err
		}
	}
	claims := serviceaccount.Claims{
		Namespace:      ns,
		ServiceAccount: serviceaccount.Ref{Name: sa.Name, UID: sa.UID},
		Audiences:      req.Spec.Audiences,
		ExpiresAt:      now.Add(time.Duration(*req.Spec.ExpirationSeconds) * time.Second),
	}
	if ref := req.Spec.BoundObjectRef; ref != nil {
		if err := r.bind(ctx, ns, name, ref, &claims); err != nil {
			return nil, err
		}
		// A pod's projected token asked for with the kubelet's 3607 s
		// lasts a year, and only warns after the hour, so that clients
		// that read it once keep working (upstream's
		// --service-account-extend-token-expiration, on by default).
		if claims.Pod != nil && *req.Spec.ExpirationSeconds == warnOnlyTokenSeconds && slices.Equal(req.Spec.Audiences, r.env.Tokens.APIAudiences()) {
			claims.WarnAfter = claims.ExpiresAt
			claims.ExpiresAt = now.Add(extendedTokenSeconds * time.Second)
		}
	}
	token, err := r.env.Tokens.Issue(claims)
	if err != nil {
		return nil, apierrors.NewInternalError(fmt.Errorf("sign service account token: %w", err))
	}
	req.Status = authenticationv1.TokenRequestStatus{Token: token, ExpirationTimestamp: metav1.NewTime(now.Add(time.Duration(*req.Spec.ExpirationSeconds) * time.Second))}
	return req, nil
}

// bind reads the object ref names, checks it, and puts it into claims: a
// pod running as the service account (and the node it runs on), a secret,
// or a node.
func (r *TokenREST) bind(ctx context.Context, ns, account string, ref *authenticationv1.BoundObjectReference, claims *serviceaccount.Claims) error {
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
		return err
	}
	m := obj.(metav1.Object)
	if ref.UID != "" && ref.UID != m.GetUID() {
		return apierrors.NewConflict(schema.GroupResource{Resource: ref.Kind}, ref.Name,
			fmt.Errorf("the UID in the bound object reference (%s) does not match the UID in record. The object might have been deleted and then recreated", ref.UID))
	}
	b := &serviceaccount.Ref{Name: m.GetName(), UID: m.GetUID()}
	switch ref.Kind {
	case "Pod":
		pod := obj.(*corev1.Pod)
		if pod.Spec.ServiceAccountName != account {
			return apierrors.NewBadRequest(fmt.Sprintf("cannot bind token for serviceaccount %q to pod running with different serviceaccount name.", account))
		}
		claims.Pod = b
		if pod.Spec.NodeName != "" {
			// The node's name even if the node is gone, its uid if not.
			claims.Node = &serviceaccount.Ref{Name: pod.Spec.NodeName}
			if node, err := r.env.Get(genericapirequest.WithNamespace(ctx, ""), schema.GroupResource{Resource: "nodes"}, pod.Spec.NodeName); err == nil {
				claims.Node.UID = node.(metav1.Object).GetUID()
			} else if !apierrors.IsNotFound(err) {
				return apierrors.NewInternalError(err)
			}
		}
	case "Secret":
		claims.Secret = b
	case "Node":
		claims.Node = b
	}
	return nil
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
