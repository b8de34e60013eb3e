package containerd

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/client-go/kubernetes"
	corelisters "k8s.io/client-go/listers/core/v1"

	"github.com/kubelite/kubelite/nodeagent/runtime"
	"github.com/kubelite/kubelite/nodeagent/volumes"
)

// resolveEnv is c's environment as "NAME=value", as upstream builds it:
// envFrom's configMaps and secrets first (keys that are not valid names
// skipped), then env in order, each value expanding $(VAR) against the
// variables before it; a later variable of the same name replaces an
// earlier one. configMaps, secrets and the node's allocatable (for
// resourceFieldRef limits the container does not set) are read through
// client; with a nil client, variables from those sources are left out.
// Services come from the lister services when it is not nil. A
// source that is missing and not optional is a runtime.ConfigError with
// upstream's message.
func resolveEnv(ctx context.Context, client kubernetes.Interface, services corelisters.ServiceLister, pod *corev1.Pod, c *corev1.Container, sb *sandbox) ([]string, error) {
	vars := map[string]string{}
	var names []string
	set := func(k, v string) {
		if _, ok := vars[k]; !ok {
			names = append(names, k)
		}
		vars[k] = v
	}
	configMaps := map[string]*corev1.ConfigMap{}
	secrets := map[string]*corev1.Secret{}
	getConfigMap := func(name string) (*corev1.ConfigMap, error) {
		if cm, ok := configMaps[name]; ok {
			return cm, nil
		}
		cm, err := client.CoreV1().ConfigMaps(pod.Namespace).Get(ctx, name, metav1.GetOptions{})
		if err != nil && !apierrors.IsNotFound(err) {
			return nil, err
		}
		configMaps[name] = cm
		return cm, nil
	}
	getSecret := func(name string) (*corev1.Secret, error) {
		if s, ok := secrets[name]; ok {
			return s, nil
		}
		s, err := client.CoreV1().Secrets(pod.Namespace).Get(ctx, name, metav1.GetOptions{})
		if err != nil && !apierrors.IsNotFound(err) {
			return nil, err
		}
		secrets[name] = s
		return s, nil
	}
	configErr := func(format string, args ...any) error {
		return &runtime.ConfigError{Err: fmt.Errorf(format, args...)}
	}
	if client != nil {
		svcEnv, err := serviceEnv(ctx, client, services, pod)
		if err != nil {
			return nil, err
		}
		for _, kv := range svcEnv {
			set(kv[0], kv[1])
		}
		for _, from := range c.EnvFrom {
			data := map[string]string{}
			switch {
			case from.ConfigMapRef != nil:
				cm, err := getConfigMap(from.ConfigMapRef.Name)
				if err != nil {
					return nil, err
				}
				if cm == nil {
					if from.ConfigMapRef.Optional != nil && *from.ConfigMapRef.Optional {
						continue
					}
					return nil, configErr("configmap %q not found", from.ConfigMapRef.Name)
				}
				data = cm.Data
			case from.SecretRef != nil:
				s, err := getSecret(from.SecretRef.Name)
				if err != nil {
					return nil, err
				}
				if s == nil {
					if from.SecretRef.Optional != nil && *from.SecretRef.Optional {
						continue
					}
					return nil, configErr("secret %q not found", from.SecretRef.Name)
				}
				for k, v := range s.Data {
					data[k] = string(v)
				}
			}
			keys := make([]string, 0, len(data))
			for k := range data {
				keys = append(keys, k)
			}
			slices.Sort(keys)
			for _, k := range keys {
				name := from.Prefix + k
				if len(validation.IsEnvVarName(name)) > 0 {
					continue // upstream records an event and skips it
				}
				set(name, data[k])
			}
		}
	}
	for _, e := range c.Env {
		v := e.Value
		if src := e.ValueFrom; src != nil {
			var ok bool
			switch {
			case src.FieldRef != nil:
				v, ok = podField(pod, sb, src.FieldRef.FieldPath)
			case client == nil:
			case src.ResourceFieldRef != nil:
				var err error
				if v, err = volumes.ResourceValue(ctx, client, pod, c.Name, src.ResourceFieldRef); err != nil {
					return nil, configErr("%v", err)
				}
				ok = true
			case src.ConfigMapKeyRef != nil:
				ref := src.ConfigMapKeyRef
				optional := ref.Optional != nil && *ref.Optional
				cm, err := getConfigMap(ref.Name)
				if err != nil {
					return nil, err
				}
				switch {
				case cm == nil && !optional:
					return nil, configErr("configmap %q not found", ref.Name)
				case cm != nil:
					v, ok = cm.Data[ref.Key]
					if !ok && !optional {
						return nil, configErr("couldn't find key %s in ConfigMap %s/%s", ref.Key, pod.Namespace, ref.Name)
					}
				}
			case src.SecretKeyRef != nil:
				ref := src.SecretKeyRef
				optional := ref.Optional != nil && *ref.Optional
				s, err := getSecret(ref.Name)
				if err != nil {
					return nil, err
				}
				switch {
				case s == nil && !optional:
					return nil, configErr("secret %q not found", ref.Name)
				case s != nil:
					var b []byte
					b, ok = s.Data[ref.Key]
					if !ok && !optional {
						return nil, configErr("couldn't find key %s in Secret %s/%s", ref.Key, pod.Namespace, ref.Name)
					}
					v = string(b)
				}
			}
			if !ok {
				continue
			}
		} else {
			v = expand(v, vars)
		}
		set(e.Name, v)
	}
	out := make([]string, len(names))
	for i, k := range names {
		out[i] = k + "=" + vars[k]
	}
	return out, nil
}

// serviceEnv are the variables that describe services to a pod, as
// upstream's kubelet sets them: the "kubernetes" service of the default
// namespace always, and with enableServiceLinks (the default) every
// service of the pod's namespace that has a cluster IP; for each,
// <NAME>_SERVICE_HOST and _SERVICE_PORT(_<PORT NAME>), and Docker-link
// style <NAME>_PORT(_<port>_<PROTO>(_PROTO|_PORT|_ADDR)).
//
// The services are read from lister when it is not nil (a synced informer's,
// as upstream's kubelet reads them), else listed through client.
func serviceEnv(ctx context.Context, client kubernetes.Interface, lister corelisters.ServiceLister, pod *corev1.Pod) ([][2]string, error) {
	list := func() ([]corev1.Service, error) {
		if lister == nil {
			l, err := client.CoreV1().Services(pod.Namespace).List(ctx, metav1.ListOptions{})
			if err != nil {
				return nil, err
			}
			return l.Items, nil
		}
		l, err := lister.Services(pod.Namespace).List(labels.Everything())
		var out []corev1.Service
		for _, s := range l {
			out = append(out, *s)
		}
		return out, err
	}
	master := func() (*corev1.Service, error) {
		if lister == nil {
			return client.CoreV1().Services(metav1.NamespaceDefault).Get(ctx, "kubernetes", metav1.GetOptions{})
		}
		return lister.Services(metav1.NamespaceDefault).Get("kubernetes")
	}
	var services []corev1.Service
	links := pod.Spec.EnableServiceLinks == nil || *pod.Spec.EnableServiceLinks
	if links {
		var err error
		if services, err = list(); err != nil {
			return nil, fmt.Errorf("list services for the environment: %w", err)
		}
	}
	if !links || pod.Namespace != metav1.NamespaceDefault {
		m, err := master()
		switch {
		case err == nil:
			services = append(services, *m)
		case !apierrors.IsNotFound(err):
			return nil, fmt.Errorf("get the kubernetes service for the environment: %w", err)
		}
	}
	slices.SortStableFunc(services, func(a, b corev1.Service) int { return strings.Compare(a.Name, b.Name) })
	var out [][2]string
	add := func(k, v string) { out = append(out, [2]string{k, v}) }
	for _, s := range services {
		ip := s.Spec.ClusterIP
		if ip == "" || ip == corev1.ClusterIPNone || len(s.Spec.Ports) == 0 {
			continue
		}
		name := strings.ToUpper(strings.ReplaceAll(s.Name, "-", "_"))
		add(name+"_SERVICE_HOST", ip)
		add(name+"_SERVICE_PORT", strconv.Itoa(int(s.Spec.Ports[0].Port)))
		for _, p := range s.Spec.Ports {
			if p.Name != "" {
				add(name+"_SERVICE_PORT_"+strings.ToUpper(strings.ReplaceAll(p.Name, "-", "_")), strconv.Itoa(int(p.Port)))
			}
		}
		host := ip
		if strings.Contains(ip, ":") {
			host = "[" + ip + "]"
		}
		first := s.Spec.Ports[0]
		add(name+"_PORT", fmt.Sprintf("%s://%s:%d", strings.ToLower(string(first.Protocol)), host, first.Port))
		for _, p := range s.Spec.Ports {
			proto := string(p.Protocol)
			prefix := fmt.Sprintf("%s_PORT_%d_%s", name, p.Port, strings.ToUpper(proto))
			add(prefix, fmt.Sprintf("%s://%s:%d", strings.ToLower(proto), host, p.Port))
			add(prefix+"_PROTO", strings.ToLower(proto))
			add(prefix+"_PORT", strconv.Itoa(int(p.Port)))
			add(prefix+"_ADDR", ip)
		}
	}
	return out, nil
}
