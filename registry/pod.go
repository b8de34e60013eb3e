package registry

import (
	"context"
	"crypto/tls"
	"fmt"
	"net/http"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	genericregistry "k8s.io/apiserver/pkg/registry/generic/registry"
	"k8s.io/apiserver/pkg/registry/rest"
	"k8s.io/apiserver/pkg/storage"
	"k8s.io/apiserver/pkg/util/dryrun"
	"k8s.io/client-go/tools/cache"

	"github.com/kubelite/kubelite/registry/validation"
)

// preparePod starts a new pod Pending, with its QoS class computed.
func preparePod(_ context.Context, obj runtime.Object) {
	pod := obj.(*corev1.Pod)
	pod.Status = corev1.PodStatus{Phase: corev1.PodPending, QOSClass: qosClass(&pod.Spec)}
	if len(pod.Spec.SchedulingGates) > 0 {
		pod.Status.Conditions = []corev1.PodCondition{{
			Type:    corev1.PodScheduled,
			Status:  corev1.ConditionFalse,
			Reason:  corev1.PodReasonSchedulingGated,
			Message: "Scheduling is blocked due to non-empty scheduling gates",
		}}
	}
}

// podGracefulDelete gives a running, scheduled pod its grace period: the node
// agent finishes the deletion. Unscheduled and finished pods go at once.
func podGracefulDelete(obj runtime.Object, options *metav1.DeleteOptions) bool {
	pod := obj.(*corev1.Pod)
	var period int64
	switch {
	case options.GracePeriodSeconds != nil:
		period = *options.GracePeriodSeconds
	case pod.Spec.TerminationGracePeriodSeconds != nil:
		period = *pod.Spec.TerminationGracePeriodSeconds
	}
	if pod.Spec.NodeName == "" || pod.Status.Phase == corev1.PodSucceeded || pod.Status.Phase == corev1.PodFailed {
		period = 0
	}
	if period < 0 {
		period = 1
	}
	options.GracePeriodSeconds = &period
	return true
}

// qosClass computes the pod's quality of service class from its containers'
// requests and limits, as the node agent will treat it.
func qosClass(spec *corev1.PodSpec) corev1.PodQOSClass {
	requests := corev1.ResourceList{}
	limits := corev1.ResourceList{}
	zero := resource.Quantity{}
	anyRequest := false
	guaranteed := true
	containers := append(append([]corev1.Container{}, spec.Containers...), spec.InitContainers...)
	for _, c := range containers {
		for name, q := range c.Resources.Requests {
			if name != corev1.ResourceCPU && name != corev1.ResourceMemory {
				continue
			}
			if q.Cmp(zero) > 0 {
				anyRequest = true
				add(requests, name, q)
			}
		}
		seen := 0
		for name, q := range c.Resources.Limits {
			if name != corev1.ResourceCPU && name != corev1.ResourceMemory {
				continue
			}
			if q.Cmp(zero) > 0 {
				anyRequest = true
				seen++
				add(limits, name, q)
			}
		}
		if seen < 2 {
			guaranteed = false
		}
	}
	if !anyRequest {
		return corev1.PodQOSBestEffort
	}
	if guaranteed {
		for name, l := range limits {
			if r, ok := requests[name]; ok && r.Cmp(l) != 0 {
				guaranteed = false
			}
		}
	}
	if guaranteed && len(limits) == 2 {
		return corev1.PodQOSGuaranteed
	}
	return corev1.PodQOSBurstable
}

func add(list corev1.ResourceList, name corev1.ResourceName, q resource.Quantity) {
	cur := list[name]
	cur.Add(q)
	list[name] = cur
}

// podIndexers index the watch cache by node, so each node agent's watch is cheap.
func podIndexers() *cache.Indexers {
	return &cache.Indexers{
		"f:spec.nodeName": func(obj interface{}) ([]string, error) {
			pod, ok := obj.(*corev1.Pod)
			if !ok {
				return nil, fmt.Errorf("not a pod: %T", obj)
			}
			return []string{pod.Spec.NodeName}, nil
		},
	}
}

// extendPods adds pods/binding and pods/eviction.
// newPodTransport returns the transport of pods/proxy. Pods serving https
// present certificates no one can verify: as upstream's proxy transport, it
// does not.
func newPodTransport() *http.Transport {
	return &http.Transport{
		TLSClientConfig:     &tls.Config{InsecureSkipVerify: true}, //nolint:gosec // see above
		TLSHandshakeTimeout: 10 * time.Second,
		IdleConnTimeout:     90 * time.Second,
	}
}

func extendPods(env *Env, store *genericregistry.Store, storage map[string]rest.Storage) error {
	storage["pods/binding"] = &BindingREST{store: store}
	storage["pods/eviction"] = &EvictionREST{pods: store, env: env}
	storage["pods/log"] = &LogREST{pods: store, env: env}
	storage["pods/proxy"] = podProxyREST(store)
	for _, k := range []streamKind{streamExec, streamAttach, streamPortForward} {
		storage["pods/"+string(k)] = &StreamREST{pods: store, env: env, kind: k}
	}
	return nil
}

// BindingREST serves pods/binding: the scheduler's way of setting a pod's node.
type BindingREST struct {
	store *genericregistry.Store
}

var _ rest.NamedCreater = &BindingREST{}

// New returns an empty Binding.
func (r *BindingREST) New() runtime.Object { return &corev1.Binding{} }

// Destroy does nothing: the pod store owns the storage.
func (r *BindingREST) Destroy() {}

// Create binds the named pod to binding.Target.Name, once: a bound pod cannot be
// bound again.
func (r *BindingREST) Create(ctx context.Context, name string, obj runtime.Object, createValidation rest.ValidateObjectFunc, options *metav1.CreateOptions) (runtime.Object, error) {
	binding, ok := obj.(*corev1.Binding)
	if !ok {
		return nil, apierrors.NewBadRequest(fmt.Sprintf("not a Binding object: %T", obj))
	}
	if name != binding.Name {
		return nil, apierrors.NewBadRequest("name in URL does not match name in Binding object")
	}
	if errs := validation.Binding(binding); len(errs) != 0 {
		return nil, apierrors.NewInvalid(corev1.SchemeGroupVersion.WithKind("Binding").GroupKind(), binding.Name, errs)
	}
	if createValidation != nil {
		if err := createValidation(ctx, binding.DeepCopyObject()); err != nil {
			return nil, err
		}
	}
	key, err := r.store.KeyFunc(ctx, binding.Name)
	if err != nil {
		return nil, err
	}
	var precond *storage.Preconditions
	if binding.UID != "" {
		precond = &storage.Preconditions{UID: &binding.UID}
	}
	err = r.store.Storage.GuaranteedUpdate(ctx, key, &corev1.Pod{}, false, precond,
		storage.SimpleUpdate(func(obj runtime.Object) (runtime.Object, error) {
			pod := obj.(*corev1.Pod)
			if pod.DeletionTimestamp != nil {
				return nil, apierrors.NewConflict(corev1.Resource("pods/binding"), binding.Name, fmt.Errorf("pod %s is being deleted, cannot be assigned to a host", pod.Name))
			}
			if pod.Spec.NodeName != "" {
				return nil, apierrors.NewConflict(corev1.Resource("pods/binding"), binding.Name, fmt.Errorf("pod %v is already assigned to node %q", pod.Name, pod.Spec.NodeName))
			}
			if len(pod.Spec.SchedulingGates) > 0 {
				return nil, apierrors.NewConflict(corev1.Resource("pods/binding"), binding.Name, fmt.Errorf("pod %v has non-empty .spec.schedulingGates", pod.Name))
			}
			pod.Spec.NodeName = binding.Target.Name
			for k, v := range binding.Annotations {
				if pod.Annotations == nil {
					pod.Annotations = map[string]string{}
				}
				pod.Annotations[k] = v
			}
			setCondition(&pod.Status, corev1.PodCondition{
				Type:               corev1.PodScheduled,
				Status:             corev1.ConditionTrue,
				LastTransitionTime: metav1.Now(),
			})
			return pod, nil
		}), dryrun.IsDryRun(options.DryRun), nil)
	if err != nil {
		return nil, err
	}
	return &metav1.Status{Status: metav1.StatusSuccess, Code: 201}, nil
}

func setCondition(status *corev1.PodStatus, c corev1.PodCondition) {
	for i := range status.Conditions {
		if status.Conditions[i].Type == c.Type {
			status.Conditions[i] = c
			return
		}
	}
	status.Conditions = append(status.Conditions, c)
}
