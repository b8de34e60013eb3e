package app

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/x509"
	"fmt"
	"os"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	validatingpolicy "k8s.io/apiserver/pkg/admission/plugin/policy/validating"
	"k8s.io/apiserver/pkg/cel/openapi/resolver"
	"k8s.io/client-go/discovery/cached/memory"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/restmapper"
	bootstrapapi "k8s.io/cluster-bootstrap/token/api"

	"github.com/kubelite/kubelite/auth/serviceaccount"
	"github.com/kubelite/kubelite/controllers/admissionpolicystatus"
	"github.com/kubelite/kubelite/controllers/bootstraptoken"
	"github.com/kubelite/kubelite/controllers/certificates"
	saccontroller "github.com/kubelite/kubelite/controllers/serviceaccount"
)

// controllerRun is one controller of the controller manager.
type controllerRun = struct {
	name string
	run  func(context.Context) error
}

// authControllers are the controllers of credentials: CSR approving and
// signing (signing only with ClusterSigningCertFile and KeyFile), the
// bootstrap token signer and cleaner, the service account token
// controller (only with ServiceAccountKeyFile), and the admission policies'
// type checking. own are the informer
// factories of their own, for the caller to start and shut down: bootstrap
// and service account token Secrets and kube-public's cluster-info, not
// every Secret and ConfigMap.
func authControllers(client kubernetes.Interface, clients *controllerClients, factory informers.SharedInformerFactory, rootCA []byte, tuning ControllersConfig) (runs []controllerRun, own []informers.SharedInformerFactory, err error) {
	requests := factory.Certificates().V1().CertificateSigningRequests()
	approver, err := certificates.NewApprover(certificates.ApproverConfig{Client: clients.kube("certificate-controller"), Requests: requests})
	if err != nil {
		return nil, nil, err
	}
	runs = append(runs, controllerRun{"csrapproving", func(ctx context.Context) error { return approver.Run(ctx, 2) }})
	if tuning.ClusterSigningCertFile != "" {
		ca, key, err := loadSigningCA(tuning.ClusterSigningCertFile, tuning.ClusterSigningKeyFile)
		if err != nil {
			return nil, nil, err
		}
		signer, err := certificates.NewSigner(certificates.SignerConfig{Client: clients.kube("certificate-controller"), Requests: requests, CA: ca, Key: key, Duration: tuning.ClusterSigningDuration})
		if err != nil {
			return nil, nil, err
		}
		runs = append(runs, controllerRun{"csrsigning", func(ctx context.Context) error { return signer.Run(ctx, 2) }})
	}

	secrets := sharedInformers(client, informers.WithNamespace(metav1.NamespaceSystem),
		informers.WithTweakListOptions(func(o *metav1.ListOptions) {
			o.FieldSelector = fields.OneTermEqualSelector("type", string(bootstrapapi.SecretTypeBootstrapToken)).String()
		}))
	clusterInfo := sharedInformers(client, informers.WithNamespace(metav1.NamespacePublic),
		informers.WithTweakListOptions(func(o *metav1.ListOptions) {
			o.FieldSelector = fields.OneTermEqualSelector("metadata.name", bootstrapapi.ConfigMapClusterInfo).String()
		}))
	tokens := bootstraptoken.Config{Client: client, Secrets: secrets.Core().V1().Secrets(), ConfigMaps: clusterInfo.Core().V1().ConfigMaps()}
	// Upstream's two controllers, each as its service account.
	signerConfig, cleanerConfig := tokens, tokens
	signerConfig.Client, cleanerConfig.Client = clients.kube("bootstrap-signer"), clients.kube("token-cleaner")
	signer, err := bootstraptoken.NewSigner(signerConfig)
	if err != nil {
		return nil, nil, err
	}
	cleaner, err := bootstraptoken.NewCleaner(cleanerConfig)
	if err != nil {
		return nil, nil, err
	}
	runs = append(runs,
		controllerRun{"bootstrap-signer", func(ctx context.Context) error { return signer.Run(ctx, 1) }},
		controllerRun{"token-cleaner", func(ctx context.Context) error { return cleaner.Run(ctx, 1) }},
	)
	saTokens := sharedInformers(client,
		informers.WithTweakListOptions(func(o *metav1.ListOptions) {
			o.FieldSelector = fields.OneTermEqualSelector("type", string(corev1.SecretTypeServiceAccountToken)).String()
		}))
	if tuning.ServiceAccountKeyFile != "" {
		key, err := loadServiceAccountKey(tuning.ServiceAccountKeyFile)
		if err != nil {
			return nil, nil, err
		}
		signer, err := serviceaccount.NewLegacySigner(key)
		if err != nil {
			return nil, nil, err
		}
		tokens, err := saccontroller.NewTokens(saccontroller.TokensConfig{
			Client:          client,
			ServiceAccounts: factory.Core().V1().ServiceAccounts(),
			Secrets:         saTokens.Core().V1().Secrets(),
			Signer:          signer,
			RootCA:          rootCA,
		})
		if err != nil {
			return nil, nil, err
		}
		runs = append(runs, controllerRun{"serviceaccount-token", func(ctx context.Context) error { return tokens.Run(ctx, 2) }})
	}
	// Policies' type checking, against the schemas the API server
	// publishes (OpenAPI v3), fetched when a policy needs them.
	policyStatus, err := admissionpolicystatus.New(admissionpolicystatus.Config{
		Client:   clients.kube("validatingadmissionpolicy-status-controller"),
		Policies: factory.Admissionregistration().V1().ValidatingAdmissionPolicies(),
		Checker: &validatingpolicy.TypeChecker{
			SchemaResolver: &resolver.ClientDiscoveryResolver{Discovery: client.Discovery()},
			RestMapper:     restmapper.NewDeferredDiscoveryRESTMapper(memory.NewMemCacheClient(client.Discovery())),
		},
	})
	if err != nil {
		return nil, nil, err
	}
	runs = append(runs, controllerRun{admissionpolicystatus.Name, func(ctx context.Context) error { return policyStatus.Run(ctx, 5) }})
	return runs, []informers.SharedInformerFactory{secrets, clusterInfo, saTokens}, nil
}

// loadSigningCA reads the CA certificate and key that sign certificates.
func loadSigningCA(certFile, keyFile string) (*x509.Certificate, crypto.Signer, error) {
	certPEM, err := os.ReadFile(certFile)
	if err != nil {
		return nil, nil, fmt.Errorf("cluster signing certificate: %w", err)
	}
	cert, err := parseCert(certPEM)
	if err != nil {
		return nil, nil, fmt.Errorf("cluster signing certificate %s: %w", certFile, err)
	}
	keyPEM, err := os.ReadFile(keyFile)
	if err != nil {
		return nil, nil, fmt.Errorf("cluster signing key: %w", err)
	}
	key, err := parseKey(keyPEM)
	if err != nil {
		return nil, nil, fmt.Errorf("cluster signing key %s: %w", keyFile, err)
	}
	return cert, key, nil
}

// loadServiceAccountKey reads the key that signs service account tokens.
func loadServiceAccountKey(file string) (*ecdsa.PrivateKey, error) {
	data, err := os.ReadFile(file)
	if err != nil {
		return nil, fmt.Errorf("service account key: %w", err)
	}
	key, err := parseKey(data)
	if err != nil {
		return nil, fmt.Errorf("service account key %s: %w", file, err)
	}
	ec, ok := key.(*ecdsa.PrivateKey)
	if !ok {
		return nil, fmt.Errorf("service account key %s: not an ECDSA key", file)
	}
	return ec, nil
}
