package registry

import (
	"context"
	"fmt"
	"net/http"

	authenticationv1 "k8s.io/api/authentication/v1"
	authorizationv1 "k8s.io/api/authorization/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"k8s.io/apiserver/pkg/authentication/authenticator"
	"k8s.io/apiserver/pkg/authentication/user"
	"k8s.io/apiserver/pkg/authorization/authorizer"
	genericapirequest "k8s.io/apiserver/pkg/endpoints/request"
	"k8s.io/apiserver/pkg/registry/rest"
)

// Reviews returns the storage of the review resources: create-only questions to
// the server's own authenticator and authorizer (kubectl auth whoami and can-i).
func Reviews(authn authenticator.Request, authz authorizer.Authorizer) map[schema.GroupVersion]map[string]rest.Storage {
	return map[schema.GroupVersion]map[string]rest.Storage{
		authenticationv1.SchemeGroupVersion: {
			"tokenreviews":       &review{kind: "TokenReview", singular: "tokenreview", new: func() runtime.Object { return &authenticationv1.TokenReview{} }, answer: tokenReview(authn)},
			"selfsubjectreviews": &review{kind: "SelfSubjectReview", singular: "selfsubjectreview", new: func() runtime.Object { return &authenticationv1.SelfSubjectReview{} }, answer: selfSubjectReview},
		},
		authorizationv1.SchemeGroupVersion: {
			"subjectaccessreviews":      &review{kind: "SubjectAccessReview", singular: "subjectaccessreview", new: func() runtime.Object { return &authorizationv1.SubjectAccessReview{} }, answer: subjectAccessReview(authz)},
			"selfsubjectaccessreviews":  &review{kind: "SelfSubjectAccessReview", singular: "selfsubjectaccessreview", new: func() runtime.Object { return &authorizationv1.SelfSubjectAccessReview{} }, answer: selfSubjectAccessReview(authz)},
			"localsubjectaccessreviews": &review{kind: "LocalSubjectAccessReview", singular: "localsubjectaccessreview", namespaced: true, new: func() runtime.Object { return &authorizationv1.LocalSubjectAccessReview{} }, answer: localSubjectAccessReview(authz)},
			"selfsubjectrulesreviews":   &review{kind: "SelfSubjectRulesReview", singular: "selfsubjectrulesreview", new: func() runtime.Object { return &authorizationv1.SelfSubjectRulesReview{} }, answer: selfSubjectRulesReview(authz)},
		},
	}
}

// review is a create-only resource whose answer is computed, never stored.
type review struct {
	kind, singular string
	namespaced     bool
	new            func() runtime.Object
	answer         func(ctx context.Context, obj runtime.Object) (runtime.Object, error)
}

var (
	_ rest.Creater              = &review{}
	_ rest.Scoper               = &review{}
	_ rest.SingularNameProvider = &review{}
)

func (r *review) New() runtime.Object     { return r.new() }
func (r *review) Destroy()                {}
func (r *review) NamespaceScoped() bool   { return r.namespaced }
func (r *review) GetSingularName() string { return r.singular }

// Create answers the review.
func (r *review) Create(ctx context.Context, obj runtime.Object, createValidation rest.ValidateObjectFunc, options *metav1.CreateOptions) (runtime.Object, error) {
	if createValidation != nil {
		if err := createValidation(ctx, obj.DeepCopyObject()); err != nil {
			return nil, err
		}
	}
	return r.answer(ctx, obj)
}

func requester(ctx context.Context) (user.Info, error) {
	u, ok := genericapirequest.UserFrom(ctx)
	if !ok {
		return nil, apierrors.NewBadRequest("no user present on request")
	}
	return u, nil
}

func selfSubjectReview(ctx context.Context, obj runtime.Object) (runtime.Object, error) {
	u, err := requester(ctx)
	if err != nil {
		return nil, err
	}
	out := obj.(*authenticationv1.SelfSubjectReview)
	out.Status.UserInfo = userInfo(u)
	return out, nil
}

func userInfo(u user.Info) authenticationv1.UserInfo {
	info := authenticationv1.UserInfo{Username: u.GetName(), UID: u.GetUID(), Groups: u.GetGroups()}
	if extra := u.GetExtra(); len(extra) > 0 {
		info.Extra = map[string]authenticationv1.ExtraValue{}
		for k, v := range extra {
			info.Extra[k] = v
		}
	}
	return info
}

func tokenReview(authn authenticator.Request) func(ctx context.Context, obj runtime.Object) (runtime.Object, error) {
	return func(ctx context.Context, obj runtime.Object) (runtime.Object, error) {
		tr := obj.(*authenticationv1.TokenReview)
		if tr.Spec.Token == "" {
			return nil, apierrors.NewBadRequest("token is required for TokenReview in authentication")
		}
		// Audiences the reviewer names replace the API server's own.
		if len(tr.Spec.Audiences) > 0 {
			ctx = authenticator.WithAudiences(ctx, tr.Spec.Audiences)
		}
		req := (&http.Request{Header: http.Header{}}).WithContext(ctx)
		req.Header.Set("Authorization", "Bearer "+tr.Spec.Token)
		resp, ok, err := authn.AuthenticateRequest(req)
		tr.Status = authenticationv1.TokenReviewStatus{Authenticated: ok && err == nil}
		if err != nil {
			tr.Status.Error = err.Error()
		}
		if tr.Status.Authenticated && resp != nil {
			tr.Status.User = userInfo(resp.User)
			tr.Status.Audiences = resp.Audiences
		}
		return tr, nil
	}
}

func subjectAccessReview(authz authorizer.Authorizer) func(ctx context.Context, obj runtime.Object) (runtime.Object, error) {
	return func(ctx context.Context, obj runtime.Object) (runtime.Object, error) {
		sar := obj.(*authorizationv1.SubjectAccessReview)
		if sar.Spec.User == "" && len(sar.Spec.Groups) == 0 {
			return nil, apierrors.NewInvalid(authorizationv1.SchemeGroupVersion.WithKind("SubjectAccessReview").GroupKind(), "",
				field.ErrorList{field.Invalid(field.NewPath("spec", "user"), sar.Spec.User, "at least one of user or group must be specified")})
		}
		u := &user.DefaultInfo{Name: sar.Spec.User, UID: sar.Spec.UID, Groups: sar.Spec.Groups}
		u.Extra = map[string][]string{}
		for k, v := range sar.Spec.Extra {
			u.Extra[k] = v
		}
		sar.Status = decide(ctx, authz, u, sar.Spec.ResourceAttributes, sar.Spec.NonResourceAttributes)
		return sar, nil
	}
}

func selfSubjectAccessReview(authz authorizer.Authorizer) func(ctx context.Context, obj runtime.Object) (runtime.Object, error) {
	return func(ctx context.Context, obj runtime.Object) (runtime.Object, error) {
		ssar := obj.(*authorizationv1.SelfSubjectAccessReview)
		u, err := requester(ctx)
		if err != nil {
			return nil, err
		}
		if (ssar.Spec.ResourceAttributes == nil) == (ssar.Spec.NonResourceAttributes == nil) {
			return nil, apierrors.NewBadRequest("exactly one of resourceAttributes or nonResourceAttributes is required")
		}
		ssar.Status = decide(ctx, authz, u, ssar.Spec.ResourceAttributes, ssar.Spec.NonResourceAttributes)
		return ssar, nil
	}
}

func localSubjectAccessReview(authz authorizer.Authorizer) func(ctx context.Context, obj runtime.Object) (runtime.Object, error) {
	return func(ctx context.Context, obj runtime.Object) (runtime.Object, error) {
		lsar := obj.(*authorizationv1.LocalSubjectAccessReview)
		ns, _ := genericapirequest.NamespaceFrom(ctx)
		if lsar.Spec.ResourceAttributes == nil || lsar.Spec.ResourceAttributes.Namespace != ns {
			return nil, apierrors.NewBadRequest(fmt.Sprintf("spec.resourceAttributes.namespace must match the request's namespace %q", ns))
		}
		u := &user.DefaultInfo{Name: lsar.Spec.User, UID: lsar.Spec.UID, Groups: lsar.Spec.Groups, Extra: map[string][]string{}}
		for k, v := range lsar.Spec.Extra {
			u.Extra[k] = v
		}
		lsar.Status = decide(ctx, authz, u, lsar.Spec.ResourceAttributes, nil)
		return lsar, nil
	}
}

// decide asks the authorizer about one request of u.
func decide(ctx context.Context, authz authorizer.Authorizer, u user.Info, ra *authorizationv1.ResourceAttributes, nra *authorizationv1.NonResourceAttributes) authorizationv1.SubjectAccessReviewStatus {
	attrs := authorizer.AttributesRecord{User: u}
	if ra != nil {
		attrs.Verb, attrs.Namespace, attrs.APIGroup, attrs.APIVersion = ra.Verb, ra.Namespace, ra.Group, ra.Version
		attrs.Resource, attrs.Subresource, attrs.Name, attrs.ResourceRequest = ra.Resource, ra.Subresource, ra.Name, true
	}
	if nra != nil {
		attrs.Verb, attrs.Path = nra.Verb, nra.Path
	}
	decision, reason, err := authz.Authorize(ctx, attrs)
	status := authorizationv1.SubjectAccessReviewStatus{
		Allowed: decision == authorizer.DecisionAllow,
		Denied:  decision == authorizer.DecisionDeny,
		Reason:  reason,
	}
	if err != nil {
		status.EvaluationError = err.Error()
	}
	return status
}

func selfSubjectRulesReview(authz authorizer.Authorizer) func(ctx context.Context, obj runtime.Object) (runtime.Object, error) {
	return func(ctx context.Context, obj runtime.Object) (runtime.Object, error) {
		ssrr := obj.(*authorizationv1.SelfSubjectRulesReview)
		u, err := requester(ctx)
		if err != nil {
			return nil, err
		}
		resolver, ok := authz.(authorizer.RuleResolver)
		if !ok {
			ssrr.Status = authorizationv1.SubjectRulesReviewStatus{Incomplete: true, EvaluationError: "the authorizer cannot list rules"}
			return ssrr, nil
		}
		resourceInfo, nonResourceInfo, incomplete, err := resolver.RulesFor(ctx, u, ssrr.Spec.Namespace)
		ssrr.Status = authorizationv1.SubjectRulesReviewStatus{Incomplete: incomplete}
		if err != nil {
			ssrr.Status.EvaluationError = err.Error()
		}
		for _, r := range resourceInfo {
			ssrr.Status.ResourceRules = append(ssrr.Status.ResourceRules, authorizationv1.ResourceRule{
				Verbs: r.GetVerbs(), APIGroups: r.GetAPIGroups(), Resources: r.GetResources(), ResourceNames: r.GetResourceNames(),
			})
		}
		for _, r := range nonResourceInfo {
			ssrr.Status.NonResourceRules = append(ssrr.Status.NonResourceRules, authorizationv1.NonResourceRule{Verbs: r.GetVerbs(), NonResourceURLs: r.GetNonResourceURLs()})
		}
		return ssrr, nil
	}
}
