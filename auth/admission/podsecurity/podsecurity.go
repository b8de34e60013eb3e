// Package podsecurity is the PodSecurity admission plugin: the Pod Security
// Standards of k8s.io/pod-security-admission, enforced, audited and warned
// about per namespace by its pod-security.kubernetes.io/{enforce,audit,warn}
// labels, on pods and on the workloads that hold a pod template. Changing a
// namespace's enforce label warns about the pods already in it that would
// not pass. The cluster default is upstream's: privileged at every level,
// nothing exempt.
//
// kubelite's objects are the v1 types the library evaluates, so the
// plugin hands them over as they are.
package podsecurity

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"

	admissionv1 "k8s.io/api/admission/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apiserver/pkg/admission"
	"k8s.io/apiserver/pkg/audit"
	"k8s.io/apiserver/pkg/warning"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/component-base/metrics/legacyregistry"
	psa "k8s.io/pod-security-admission/admission"
	psaconfig "k8s.io/pod-security-admission/admission/api/load"
	psaapi "k8s.io/pod-security-admission/api"
	"k8s.io/pod-security-admission/metrics"
	"k8s.io/pod-security-admission/policy"
)

// PluginName is the plugin's name in the admission chain.
const PluginName = "PodSecurity"

// Plugin is the PodSecurity admission plugin.
type Plugin struct {
	*admission.Handler
	delegate *psa.Admission
	client   kubernetes.Interface
	factory  informers.SharedInformerFactory
}

var _ admission.ValidationInterface = (*Plugin)(nil)

// The library's metrics register once per process, as upstream's.
var (
	recorder     *metrics.PrometheusRecorder
	recorderOnce sync.Once
)

func defaultRecorder() metrics.Recorder {
	recorderOnce.Do(func() {
		recorder = metrics.NewPrometheusRecorder(psaapi.GetAPIVersion())
		recorder.MustRegister(legacyregistry.MustRegister)
	})
	return recorder
}

// New returns the plugin configured by a PodSecurityConfiguration
// (pod-security.admission.config.k8s.io) read from config; nil config is
// upstream's default (enforce, audit and warn privileged, latest; no
// exemptions).
func New(config io.Reader) (*Plugin, error) {
	cfg, err := psaconfig.LoadFromReader(config)
	if err != nil {
		return nil, fmt.Errorf("%s configuration: %w", PluginName, err)
	}
	evaluator, err := policy.NewEvaluator(policy.DefaultChecks(), nil)
	if err != nil {
		return nil, err
	}
	return &Plugin{
		Handler: admission.NewHandler(admission.Create, admission.Update),
		delegate: &psa.Admission{
			Configuration:    cfg,
			Evaluator:        evaluator,
			Metrics:          defaultRecorder(),
			PodSpecExtractor: psa.DefaultPodSpecExtractor{},
		},
	}, nil
}

// SetExternalKubeInformerFactory takes the namespace and pod listers.
func (p *Plugin) SetExternalKubeInformerFactory(f informers.SharedInformerFactory) {
	p.factory = f
	p.SetReadyFunc(f.Core().V1().Namespaces().Informer().HasSynced)
}

// SetExternalKubeClientSet takes the client namespaces missing from the
// informer are read with.
func (p *Plugin) SetExternalKubeClientSet(c kubernetes.Interface) { p.client = c }

// ValidateInitialization completes the library's configuration.
func (p *Plugin) ValidateInitialization() error {
	if p.factory == nil || p.client == nil {
		return fmt.Errorf("%s: missing informers or client", PluginName)
	}
	p.delegate.PodLister = psa.PodListerFromInformer(p.factory.Core().V1().Pods().Lister())
	p.delegate.NamespaceGetter = psa.NamespaceGetterFromListerAndClient(p.factory.Core().V1().Namespaces().Lister(), p.client)
	if err := p.delegate.CompleteConfiguration(); err != nil {
		return fmt.Errorf("%s configuration error: %w", PluginName, err)
	}
	if err := p.delegate.ValidateConfiguration(); err != nil {
		return fmt.Errorf("%s invalid: %w", PluginName, err)
	}
	return nil
}

// Validate evaluates pods, pod templates and namespace label changes.
func (p *Plugin) Validate(ctx context.Context, a admission.Attributes, _ admission.ObjectInterfaces) error {
	gr := a.GetResource().GroupResource()
	if gr != corev1.Resource("pods") && gr != corev1.Resource("namespaces") && !p.delegate.PodSpecExtractor.HasPodSpec(gr) {
		return nil
	}
	result := p.delegate.Validate(ctx, attributes{a})
	for _, w := range result.Warnings {
		warning.AddWarning(ctx, "", w)
	}
	for k, v := range result.AuditAnnotations {
		audit.AddAuditAnnotation(ctx, psaapi.AuditAnnotationPrefix+k, v)
	}
	if result.Allowed {
		return nil
	}
	denied := admission.NewForbidden(a, errors.New("Not allowed by PodSecurity")).(*apierrors.StatusError)
	if r := result.Result; r != nil {
		if r.Message != "" {
			denied.ErrStatus.Message = r.Message
		}
		if r.Reason != "" {
			denied.ErrStatus.Reason = r.Reason
		}
		if r.Details != nil {
			denied.ErrStatus.Details = r.Details
		}
		if r.Code != 0 {
			denied.ErrStatus.Code = r.Code
		}
	}
	return denied
}

// attributes gives the library the request as it expects it.
type attributes struct{ admission.Attributes }

func (a attributes) GetOperation() admissionv1.Operation {
	return admissionv1.Operation(a.Attributes.GetOperation())
}
func (a attributes) GetObject() (runtime.Object, error)    { return a.Attributes.GetObject(), nil }
func (a attributes) GetOldObject() (runtime.Object, error) { return a.Attributes.GetOldObject(), nil }
func (a attributes) GetUserName() string                   { return a.GetUserInfo().GetName() }
