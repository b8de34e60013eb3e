// Package serviceaccount is the ServiceAccount admission plugin: every new
// pod runs as a service account that exists, and gets the API credentials of
// that account mounted unless the pod or the account opts out.
//
// On pod create, in the mutating phase:
//   - spec.serviceAccountName defaults to "default";
//   - the account must exist, or the pod is Forbidden. The informer may lag
//     behind a new account, so a miss is looked up live: once, or for
//     "default", which the service account controller creates a moment after
//     its namespace, up to ten times 100-200 ms apart;
//   - when token automount applies (the pod's automountServiceAccountToken if
//     set, else the account's, else true), a projected volume
//     kube-api-access-<random> (a bound token, the kube-root-ca.crt bundle and
//     the namespace) is added and mounted read-only at
//     /var/run/secrets/kubernetes.io/serviceaccount in every container and
//     init container that has nothing mounted there; ephemeral containers get
//     no mount;
//   - a pod with no imagePullSecrets gets the account's.
//
// Mirror pods (annotated kubernetes.io/config.mirror) are never changed, and
// may reference no service account, secret or token projection.
//
// In the validating phase the account must still exist, and when it is
// annotated kubernetes.io/enforce-mountable-secrets=true the pod may use only
// the secrets the account lists (volumes and env of all containers) and
// the image pull secrets it lists; the same holds for the ephemeral
// containers an update of the ephemeralcontainers subresource adds.
package serviceaccount

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apiserver/pkg/admission"
	"k8s.io/apiserver/pkg/admission/initializer"
	"k8s.io/apiserver/pkg/storage/names"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	corelisters "k8s.io/client-go/listers/core/v1"
)

const (
	// PluginName is the plugin's name in the admission chain.
	PluginName = "ServiceAccount"
	// DefaultName is the service account of pods that name none.
	DefaultName = "default"
	// EnforceMountableSecretsAnnotation, "true" on a service account, limits
	// its pods to the secrets it lists.
	EnforceMountableSecretsAnnotation = "kubernetes.io/enforce-mountable-secrets"
	// VolumePrefix begins the name of the token volume.
	VolumePrefix = "kube-api-access-"
	// MountPath is where containers find the token, CA bundle and namespace.
	MountPath = "/var/run/secrets/kubernetes.io/serviceaccount"

	// defaultAttempts is how many live lookups the default account gets.
	defaultAttempts = 10
)

// Plugin is the ServiceAccount admission plugin.
type Plugin struct {
	*admission.Handler
	client   kubernetes.Interface
	accounts corelisters.ServiceAccountLister

	// generateName turns VolumePrefix into a unique volume name.
	generateName func(base string) string
	// retryInterval is the pause between live lookups of "default".
	retryInterval func() time.Duration
}

var (
	_ admission.MutationInterface                  = (*Plugin)(nil)
	_ admission.ValidationInterface                = (*Plugin)(nil)
	_ admission.InitializationValidator            = (*Plugin)(nil)
	_ initializer.WantsExternalKubeInformerFactory = (*Plugin)(nil)
	_ initializer.WantsExternalKubeClientSet       = (*Plugin)(nil)
)

// New returns the plugin; it needs a client and an informer factory (see
// ValidateInitialization) before it admits anything.
func New() *Plugin {
	return &Plugin{
		Handler:      admission.NewHandler(admission.Create, admission.Update),
		generateName: names.SimpleNameGenerator.GenerateName,
		retryInterval: func() time.Duration {
			return 100*time.Millisecond + rand.N(100*time.Millisecond)
		},
	}
}

// SetExternalKubeInformerFactory takes the ServiceAccount lister from f.
func (p *Plugin) SetExternalKubeInformerFactory(f informers.SharedInformerFactory) {
	inf := f.Core().V1().ServiceAccounts()
	p.SetReadyFunc(inf.Informer().HasSynced)
	p.accounts = inf.Lister()
}

// SetExternalKubeClientSet sets the client live lookups use.
func (p *Plugin) SetExternalKubeClientSet(c kubernetes.Interface) { p.client = c }

// ValidateInitialization reports a missing lister or client.
func (p *Plugin) ValidateInitialization() error {
	if p.accounts == nil {
		return errors.New("serviceaccount: missing ServiceAccount lister")
	}
	if p.client == nil {
		return errors.New("serviceaccount: missing client")
	}
	return nil
}

// Admit defaults a new pod's service account, mounts its token and copies
// its image pull secrets, then validates the result.
func (p *Plugin) Admit(ctx context.Context, a admission.Attributes, o admission.ObjectInterfaces) error {
	pod, ok := podOf(a)
	if !ok || a.GetOperation() != admission.Create {
		return nil
	}
	if _, mirror := pod.Annotations[corev1.MirrorPodAnnotationKey]; mirror {
		return p.Validate(ctx, a, o)
	}
	if pod.Spec.ServiceAccountName == "" {
		pod.Spec.ServiceAccountName = DefaultName
		pod.Spec.DeprecatedServiceAccount = DefaultName //nolint:staticcheck // kept in step with serviceAccountName, as defaulting does
	}
	sa, err := p.serviceAccount(ctx, a.GetNamespace(), pod.Spec.ServiceAccountName)
	if err != nil {
		return admission.NewForbidden(a, fmt.Errorf("error looking up service account %s/%s: %w", a.GetNamespace(), pod.Spec.ServiceAccountName, err))
	}
	if automount(sa, pod) {
		mountToken(pod, p.generateName)
	}
	if len(pod.Spec.ImagePullSecrets) == 0 {
		pod.Spec.ImagePullSecrets = make([]corev1.LocalObjectReference, len(sa.ImagePullSecrets))
		for i, s := range sa.ImagePullSecrets {
			pod.Spec.ImagePullSecrets[i].Name = s.Name
		}
	}
	return p.Validate(ctx, a, o)
}

// Validate checks that a new pod's service account exists and, where the
// account asks for it, that the pod uses only the account's secrets.
func (p *Plugin) Validate(ctx context.Context, a admission.Attributes, _ admission.ObjectInterfaces) error {
	pod, ok := podOf(a)
	if !ok {
		return nil
	}
	if a.GetOperation() == admission.Update && a.GetSubresource() == "ephemeralcontainers" {
		return p.validateEphemeral(ctx, a, pod)
	}
	if a.GetOperation() != admission.Create {
		return nil
	}
	if _, mirror := pod.Annotations[corev1.MirrorPodAnnotationKey]; mirror {
		if err := validateMirror(pod); err != nil {
			return admission.NewForbidden(a, err)
		}
		return nil
	}
	if pod.Spec.ServiceAccountName == "" {
		return admission.NewForbidden(a, fmt.Errorf("no service account specified for pod %s/%s", a.GetNamespace(), pod.Name))
	}
	sa, err := p.serviceAccount(ctx, a.GetNamespace(), pod.Spec.ServiceAccountName)
	if err != nil {
		return admission.NewForbidden(a, fmt.Errorf("error looking up service account %s/%s: %v", a.GetNamespace(), pod.Spec.ServiceAccountName, err))
	}
	if enforceMountable(sa) {
		if err := onlyMountableSecrets(sa, pod); err != nil {
			return admission.NewForbidden(a, err)
		}
	}
	return nil
}

// validateEphemeral checks the ephemeral containers an update adds against
// the pod's service account.
func (p *Plugin) validateEphemeral(ctx context.Context, a admission.Attributes, pod *corev1.Pod) error {
	if pod.Spec.ServiceAccountName == "" {
		return admission.NewForbidden(a, fmt.Errorf("no service account specified for pod %s/%s", a.GetNamespace(), pod.Name))
	}
	sa, err := p.serviceAccount(ctx, a.GetNamespace(), pod.Spec.ServiceAccountName)
	if err != nil {
		return admission.NewForbidden(a, fmt.Errorf("error looking up service account %s/%s: %w", a.GetNamespace(), pod.Spec.ServiceAccountName, err))
	}
	if !enforceMountable(sa) {
		return nil
	}
	return ephemeralSecrets(sa, pod)
}

// podOf returns the pod of a request on pods or their ephemeralcontainers;
// other requests are not the plugin's.
func podOf(a admission.Attributes) (*corev1.Pod, bool) {
	if a.GetResource().GroupResource() != corev1.Resource("pods") {
		return nil, false
	}
	if sub := a.GetSubresource(); sub != "" && sub != "ephemeralcontainers" {
		return nil, false
	}
	pod, ok := a.GetObject().(*corev1.Pod)
	return pod, ok && pod != nil
}

// automount: the pod's choice wins, then the account's; the default is yes.
func automount(sa *corev1.ServiceAccount, pod *corev1.Pod) bool {
	if pod.Spec.AutomountServiceAccountToken != nil {
		return *pod.Spec.AutomountServiceAccountToken
	}
	if sa.AutomountServiceAccountToken != nil {
		return *sa.AutomountServiceAccountToken
	}
	return true
}

// serviceAccount returns the named account from the informer or, on a miss,
// from the API server.
func (p *Plugin) serviceAccount(ctx context.Context, ns, name string) (*corev1.ServiceAccount, error) {
	sa, err := p.accounts.ServiceAccounts(ns).Get(name)
	if err == nil {
		return sa, nil
	}
	if !apierrors.IsNotFound(err) {
		return nil, err
	}
	attempts := 1
	if name == DefaultName {
		attempts = defaultAttempts
	}
	for i := range attempts {
		if i > 0 {
			t := time.NewTimer(p.retryInterval())
			select {
			case <-ctx.Done():
				t.Stop()
				return nil, ctx.Err()
			case <-t.C:
			}
		}
		sa, err := p.client.CoreV1().ServiceAccounts(ns).Get(ctx, name, metav1.GetOptions{})
		if err == nil {
			return sa, nil
		}
		if !apierrors.IsNotFound(err) {
			return nil, err
		}
	}
	return nil, apierrors.NewNotFound(corev1.Resource("serviceaccount"), name)
}
