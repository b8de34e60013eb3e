package noderestriction

import (
	"context"
	"fmt"

	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	utilerrors "k8s.io/apimachinery/pkg/util/errors"
	"k8s.io/apiserver/pkg/admission"
	"k8s.io/apiserver/pkg/authorization/authorizer"
	"k8s.io/component-helpers/storage/ephemeral"
)

// SetAuthorizer takes the authorizer that decides which token audiences a
// node may ask for beyond those its pods use.
func (p *Plugin) SetAuthorizer(a authorizer.Authorizer) { p.authz = a }

// admitAudience lets a node ask for a token of a pod bound to it only for
// one audience (none: the API server's) that the pod uses, through a
// projected token volume or a CSI driver whose tokenRequests name it, or
// that the node is authorized to request-serviceaccounts-token-audience
// (upstream's ServiceAccountNodeAudienceRestriction, on since 1.33).
func (p *Plugin) admitAudience(ctx context.Context, tr *authenticationv1.TokenRequest, pod *corev1.Pod, a admission.Attributes) error {
	audience := ""
	switch len(tr.Spec.Audiences) {
	case 0:
	case 1:
		audience = tr.Spec.Audiences[0]
	default:
		return fmt.Errorf("node may only request 0 or 1 audiences")
	}
	used, err := p.podUsesAudience(pod, audience)
	if used {
		return nil
	}
	if err != nil {
		return fmt.Errorf("error validating audience %q: %w", audience, err)
	}
	attrs := authorizer.AttributesRecord{
		User: a.GetUserInfo(), Verb: "request-serviceaccounts-token-audience",
		APIGroup: a.GetResource().Group, APIVersion: a.GetResource().Version,
		Resource: audience, Namespace: a.GetNamespace(), Name: a.GetName(), ResourceRequest: true,
	}
	decision, _, err := p.authz.Authorize(ctx, attrs)
	if decision == authorizer.DecisionAllow {
		return nil
	}
	if err != nil {
		return fmt.Errorf("error authorizing %s to request tokens for audience %q: %w", a.GetUserInfo().GetName(), audience, err)
	}
	return fmt.Errorf("%s is not authorized to request tokens for audience %q", a.GetUserInfo().GetName(), audience)
}

// podUsesAudience reports whether a volume of pod asks for tokens of
// audience: a projected service account token, or a CSI volume (inline,
// through a claim or an ephemeral claim) whose driver requests them.
func (p *Plugin) podUsesAudience(pod *corev1.Pod, audience string) (bool, error) {
	var errs []error
	for i := range pod.Spec.Volumes {
		v := &pod.Spec.Volumes[i]
		if v.Projected != nil {
			for _, src := range v.Projected.Sources {
				if src.ServiceAccountToken != nil && src.ServiceAccountToken.Audience == audience {
					return true, nil
				}
			}
		}
		var driver string
		var err error
		switch {
		case v.Ephemeral != nil && v.Ephemeral.VolumeClaimTemplate != nil:
			driver, err = p.claimDriver(pod.Namespace, ephemeral.VolumeClaimName(pod, v))
		case v.PersistentVolumeClaim != nil:
			driver, err = p.claimDriver(pod.Namespace, v.PersistentVolumeClaim.ClaimName)
		case v.CSI != nil:
			driver = v.CSI.Driver
		}
		if err == nil && driver != "" {
			var requests bool
			if requests, err = p.driverRequests(driver, audience); requests {
				return true, nil
			}
		}
		if err != nil {
			errs = append(errs, err)
		}
	}
	return false, utilerrors.NewAggregate(errs)
}

// claimDriver is the CSI driver of the volume bound to a claim, if any.
func (p *Plugin) claimDriver(namespace, claim string) (string, error) {
	pvc, err := p.claims.PersistentVolumeClaims(namespace).Get(claim)
	if err != nil {
		return "", err
	}
	pv, err := p.volumes.Get(pvc.Spec.VolumeName)
	if err != nil {
		return "", err
	}
	if pv.Spec.CSI != nil {
		return pv.Spec.CSI.Driver, nil
	}
	return "", nil
}

// driverRequests reports whether the CSI driver asks for tokens of audience.
func (p *Plugin) driverRequests(driver, audience string) (bool, error) {
	d, err := p.csiDrivers.Get(driver)
	if err != nil {
		return false, err
	}
	for _, r := range d.Spec.TokenRequests {
		if r.Audience == audience {
			return true, nil
		}
	}
	return false, nil
}
