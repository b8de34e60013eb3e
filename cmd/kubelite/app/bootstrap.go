package app

import (
	"context"
	"errors"
	"fmt"
	"net"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	schedulingv1 "k8s.io/api/scheduling/v1"
	storagev1 "k8s.io/api/storage/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	apimeta "k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes"
	"k8s.io/klog/v2"
	"k8s.io/utils/ptr"

	"github.com/kubelite/kubelite/auth/admission/storage"
	rbacbootstrap "github.com/kubelite/kubelite/auth/rbac/bootstrap"
	"github.com/kubelite/kubelite/controllers/clusterdns"
	"github.com/kubelite/kubelite/controllers/persistentvolume/localpath"
)

// systemNamespaces exist from the first start on, as in every Kubernetes cluster.
var systemNamespaces = []string{
	metav1.NamespaceDefault, metav1.NamespaceSystem, metav1.NamespacePublic, corev1.NamespaceNodeLease,
}

// bootstrap creates the objects every cluster has: the system namespaces, the
// system priority classes, the default RBAC policy, the API priority and
// fairness configuration, the default ServiceCIDR, the default StorageClass,
// and the kubernetes Service in default (whose endpoints the endpoint
// reconciler writes).
func bootstrap(ctx context.Context, client kubernetes.Interface, cfg APIServerConfig) error {
	var last error
	err := wait.PollUntilContextTimeout(ctx, 100*time.Millisecond, time.Minute, true, func(ctx context.Context) (bool, error) {
		if last = ensureBootstrap(ctx, client, cfg); last != nil {
			klog.FromContext(ctx).V(2).Info("bootstrap not done yet", "err", last)
			return false, nil
		}
		return true, nil
	})
	if err != nil && last != nil {
		return fmt.Errorf("bootstrap: %w", last)
	}
	return err
}

// ensureBootstrap makes what bootstrap makes, the independent parts at once:
// each is a few API round trips that mostly wait on etcd's commits, and all
// of it runs before the server reports ready (one after the other, 0.36 s of
// a cold start's 0.8 s). The Services wait for the namespaces they live in;
// the RBAC policy creates the namespaces of its roles itself if they are not
// there yet.
func ensureBootstrap(ctx context.Context, client kubernetes.Interface, cfg APIServerConfig) error {
	var namespaces []func() error
	for _, name := range systemNamespaces {
		namespaces = append(namespaces, func() error {
			ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}}
			if _, err := client.CoreV1().Namespaces().Create(ctx, ns, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
				return fmt.Errorf("create namespace %s: %w", name, err)
			}
			return nil
		})
	}
	return concurrently(
		func() error {
			if err := concurrently(namespaces...); err != nil {
				return err
			}
			return concurrently(
				func() error { return ensureClusterDNSService(ctx, client, cfg.ClusterDNS) },
				func() error { return ensureKubernetesService(ctx, client, cfg) },
			)
		},
		func() error {
			for _, pc := range systemPriorityClasses() {
				if _, err := client.SchedulingV1().PriorityClasses().Create(ctx, pc, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
					return fmt.Errorf("create priority class %s: %w", pc.Name, err)
				}
			}
			return nil
		},
		func() error {
			if err := rbacbootstrap.Reconcile(ctx, client); err != nil {
				return fmt.Errorf("default RBAC policy: %w", err)
			}
			return nil
		},
		func() error {
			if err := ensureFlowControl(ctx, client); err != nil {
				return fmt.Errorf("API priority and fairness configuration: %w", err)
			}
			return nil
		},
		func() error { return ensureDefaultServiceCIDR(ctx, client, cfg.ServiceCIDR) },
		func() error { return ensureDefaultStorageClass(ctx, client) },
	)
}

// concurrently runs fns at once and returns their errors joined.
func concurrently(fns ...func() error) error {
	errs := make([]error, len(fns))
	var wg sync.WaitGroup
	for i, fn := range fns {
		wg.Go(func() { errs[i] = fn() })
	}
	wg.Wait()
	return errors.Join(errs...)
}

// ensureKubernetesService creates the kubernetes Service in default when it
// is absent. Its endpoints are the endpoint reconciler's
// (endpointreconciler.go).
func ensureKubernetesService(ctx context.Context, client kubernetes.Interface, cfg APIServerConfig) error {
	ip, err := firstIP(cfg.ServiceCIDR)
	if err != nil {
		return err
	}
	svc := &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{
			Name: "kubernetes", Namespace: metav1.NamespaceDefault,
			Labels: map[string]string{"component": "apiserver", "provider": "kubernetes"},
		},
		Spec: corev1.ServiceSpec{
			ClusterIP: ip.String(),
			Ports: []corev1.ServicePort{{
				Name: "https", Protocol: corev1.ProtocolTCP, Port: 443,
				TargetPort: intstr.FromInt32(int32(cfg.SecurePort)),
			}},
			SessionAffinity: corev1.ServiceAffinityNone,
			Type:            corev1.ServiceTypeClusterIP,
		},
	}
	services := client.CoreV1().Services(metav1.NamespaceDefault)
	if _, err := services.Get(ctx, svc.Name, metav1.GetOptions{}); apierrors.IsNotFound(err) {
		if _, err := services.Create(ctx, svc, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
			return fmt.Errorf("create kubernetes service: %w", err)
		}
	} else if err != nil {
		return fmt.Errorf("get kubernetes service: %w", err)
	}
	return nil
}

// defaultStorageClass is the class of claims that name none: volumes from
// the built-in local-path provisioner on the node of the claim's first pod,
// deleted with their claim, as k3s's default class.
func defaultStorageClass() *storagev1.StorageClass {
	return &storagev1.StorageClass{
		ObjectMeta: metav1.ObjectMeta{
			Name:        "local-path",
			Annotations: map[string]string{storage.IsDefaultClassAnn: "true"},
		},
		Provisioner:       localpath.Name,
		ReclaimPolicy:     ptr.To(corev1.PersistentVolumeReclaimDelete),
		VolumeBindingMode: ptr.To(storagev1.VolumeBindingWaitForFirstConsumer),
	}
}

// ensureDefaultStorageClass creates the default StorageClass when it is
// absent; one the admin changed is left as it is.
func ensureDefaultStorageClass(ctx context.Context, client kubernetes.Interface) error {
	want := defaultStorageClass()
	classes := client.StorageV1().StorageClasses()
	if _, err := classes.Get(ctx, want.Name, metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		if err != nil {
			return fmt.Errorf("get default storage class: %w", err)
		}
		return nil
	}
	if _, err := classes.Create(ctx, want, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("create default storage class: %w", err)
	}
	return nil
}

// defaultServiceCIDRName names the ServiceCIDR of the --service-cluster-ip-range.
const defaultServiceCIDRName = "kubernetes"

// ensureDefaultServiceCIDR writes the ServiceCIDR that holds the range cluster
// IPs are allocated from, and marks it Ready as upstream's default ServiceCIDR
// controller does. One whose range differs (the flag changed) is left alone.
func ensureDefaultServiceCIDR(ctx context.Context, client kubernetes.Interface, cidr *net.IPNet) error {
	cidrs := client.NetworkingV1().ServiceCIDRs()
	want := []string{cidr.String()}
	cur, err := cidrs.Get(ctx, defaultServiceCIDRName, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		cur, err = cidrs.Create(ctx, &networkingv1.ServiceCIDR{
			ObjectMeta: metav1.ObjectMeta{Name: defaultServiceCIDRName},
			Spec:       networkingv1.ServiceCIDRSpec{CIDRs: want},
		}, metav1.CreateOptions{})
	}
	if err != nil {
		return fmt.Errorf("default service CIDR: %w", err)
	}
	if !equality.Semantic.DeepEqual(cur.Spec.CIDRs, want) {
		klog.FromContext(ctx).Info("default ServiceCIDR does not match the service cluster IP range", "serviceCIDR", cur.Spec.CIDRs, "flag", want)
		return nil
	}
	if cond := apimeta.FindStatusCondition(cur.Status.Conditions, networkingv1.ServiceCIDRConditionReady); cond != nil && cond.Status != metav1.ConditionUnknown {
		return nil
	}
	apimeta.SetStatusCondition(&cur.Status.Conditions, metav1.Condition{
		Type:    networkingv1.ServiceCIDRConditionReady,
		Status:  metav1.ConditionTrue,
		Message: "Kubernetes default Service CIDR is ready",
	})
	if _, err := cidrs.UpdateStatus(ctx, cur, metav1.UpdateOptions{}); err != nil {
		return fmt.Errorf("default service CIDR status: %w", err)
	}
	return nil
}

// systemCriticalPriority is the lowest priority of the system classes; user
// classes stay below a billion.
const systemCriticalPriority = 2 * 1000000000

// systemPriorityClasses are the two classes every cluster has for its own
// critical pods.
func systemPriorityClasses() []*schedulingv1.PriorityClass {
	return []*schedulingv1.PriorityClass{
		{
			ObjectMeta:  metav1.ObjectMeta{Name: "system-node-critical"},
			Value:       systemCriticalPriority + 1000,
			Description: "Used for system critical pods that must not be moved from their current node.",
		},
		{
			ObjectMeta:  metav1.ObjectMeta{Name: "system-cluster-critical"},
			Value:       systemCriticalPriority,
			Description: "Used for system critical pods that must run in the cluster, but can be moved to another node if necessary.",
		},
	}
}

// firstIP returns the first usable address of cidr, the kubernetes Service's IP.
func firstIP(cidr *net.IPNet) (net.IP, error) {
	ip := make(net.IP, len(cidr.IP))
	copy(ip, cidr.IP)
	for i := len(ip) - 1; i >= 0; i-- {
		ip[i]++
		if ip[i] != 0 {
			break
		}
	}
	if !cidr.Contains(ip) {
		return nil, fmt.Errorf("service CIDR %v has no usable address", cidr)
	}
	return ip, nil
}

// ensureClusterDNSService creates kube-system/kube-dns at ip (when set and
// missing); the clusterdns controller writes its endpoints. An existing
// one is left alone.
func ensureClusterDNSService(ctx context.Context, client kubernetes.Interface, ip net.IP) error {
	if ip == nil {
		return nil
	}
	services := client.CoreV1().Services(metav1.NamespaceSystem)
	if _, err := services.Get(ctx, clusterdns.ServiceName, metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		return err
	}
	_, err := services.Create(ctx, clusterdns.Service(ip.String()), metav1.CreateOptions{})
	switch {
	case err == nil, apierrors.IsAlreadyExists(err):
	case apierrors.IsInvalid(err):
		// The address is taken or outside the range: the cluster runs on,
		// without cluster DNS, rather than not at all.
		klog.FromContext(ctx).Error(err, "No kube-dns Service: pods resolve no cluster names", "clusterIP", ip)
	default:
		return fmt.Errorf("create kube-dns service: %w", err)
	}
	return nil
}
