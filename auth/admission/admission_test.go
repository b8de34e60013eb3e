package admission

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apiserver/pkg/authorization/authorizerfactory"
	"k8s.io/apiserver/pkg/util/webhook"
	dynamicfake "k8s.io/client-go/dynamic/fake"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	basecompatibility "k8s.io/component-base/compatibility"
)

// TestOrder: the chain holds upstream's plugins in upstream's order, each
// initialized.
func TestOrder(t *testing.T) {
	// Not the fake clientset: the mutating policy plugin asks discovery for
	// an OpenAPI v3 client, which the fake lacks. Nothing is sent.
	client, err := kubernetes.NewForConfig(&rest.Config{Host: "https://127.0.0.1:1"})
	if err != nil {
		t.Fatal(err)
	}
	stop := make(chan struct{})
	defer close(stop)
	chain, err := plugins(Config{
		Client:           client,
		Dynamic:          dynamicfake.NewSimpleDynamicClient(runtime.NewScheme()),
		Informers:        informers.NewSharedInformerFactory(client, 0),
		Authorizer:       authorizerfactory.NewAlwaysAllowAuthorizer(),
		RESTMapper:       meta.NewDefaultRESTMapper(nil),
		ServiceResolver:  webhook.NewDefaultServiceResolver(),
		AuthResolver:     webhook.NewDefaultAuthenticationInfoResolverWrapper(nil, nil, nil, nil),
		EffectiveVersion: basecompatibility.NewEffectiveVersionFromString("1.37.2", "", ""),
		Drained:          stop,
	})
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, p := range chain {
		names = append(names, p.name)
	}
	want := []string{"NamespaceLifecycle", "LimitRanger", "ServiceAccount", "NodeRestriction", "TaintNodesByCondition",
		"PodSecurity", "Priority", "DefaultTolerationSeconds", "DefaultStorageClass", "StorageObjectInUseProtection", "RuntimeClass",
		"CertificateApproval", "CertificateSigning", "CertificateSubjectRestriction",
		"MutatingAdmissionPolicy", "MutatingAdmissionWebhook", "ValidatingAdmissionPolicy", "ValidatingAdmissionWebhook", "ResourceQuota"}
	if diff := cmp.Diff(want, names); diff != "" {
		t.Errorf("order (-want +got):\n%s", diff)
	}
	if _, err := New(Config{}); err == nil {
		t.Error("New without a client and informers succeeded")
	}
}
