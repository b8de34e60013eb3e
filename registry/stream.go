package registry

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	utilnet "k8s.io/apimachinery/pkg/util/net"
	"k8s.io/apimachinery/pkg/util/proxy"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"k8s.io/apiserver/pkg/authorization/authorizer"
	genericapirequest "k8s.io/apiserver/pkg/endpoints/request"
	genericregistry "k8s.io/apiserver/pkg/registry/generic/registry"
	genericrest "k8s.io/apiserver/pkg/registry/generic/rest"
	"k8s.io/apiserver/pkg/registry/rest"
	translator "k8s.io/apiserver/pkg/util/proxy"
	"k8s.io/streaming/pkg/httpstream/wsstream"
)

// defaultKubeletPort is the port of a node whose status names none.
const defaultKubeletPort = 10250

// nodeAddressTypes is the order node addresses are preferred in when the
// API server connects to a node agent.
var nodeAddressTypes = []corev1.NodeAddressType{
	corev1.NodeInternalIP, corev1.NodeInternalDNS, corev1.NodeHostName, corev1.NodeExternalIP, corev1.NodeExternalDNS,
}

// nodeLocation returns the URL of node name's agent endpoint (scheme and
// host; the caller adds path and query) and the transport that reaches it.
func (e *Env) nodeLocation(ctx context.Context, name string) (*url.URL, http.RoundTripper, error) {
	if e.NodeTransport == nil {
		return nil, nil, apierrors.NewServiceUnavailable("the API server has no connection to node agents")
	}
	node, err := e.Node(ctx, name)
	if err != nil {
		return nil, nil, err
	}
	host := ""
	for _, t := range nodeAddressTypes {
		for _, a := range node.Status.Addresses {
			if a.Type == t && a.Address != "" && host == "" {
				host = a.Address
			}
		}
	}
	if host == "" {
		return nil, nil, apierrors.NewBadRequest(fmt.Sprintf("node %s has no address", name))
	}
	port := int(node.Status.DaemonEndpoints.KubeletEndpoint.Port)
	if port <= 0 {
		port = defaultKubeletPort
	}
	return &url.URL{Scheme: "https", Host: net.JoinHostPort(host, strconv.Itoa(port))}, e.NodeTransport, nil
}

// podContainer returns the container a log, exec or attach request is
// about: the one named, or the pod's only container, with upstream's errors.
func podContainer(pod *corev1.Pod, name string) (string, error) {
	var names []string
	for _, list := range [][]corev1.Container{pod.Spec.InitContainers, pod.Spec.Containers} {
		for _, c := range list {
			names = append(names, c.Name)
		}
	}
	for _, c := range pod.Spec.EphemeralContainers {
		names = append(names, c.Name)
	}
	if name == "" {
		switch len(pod.Spec.Containers) {
		case 1:
			return pod.Spec.Containers[0].Name, nil
		case 0:
			return "", apierrors.NewBadRequest(fmt.Sprintf("a container name must be specified for pod %s", pod.Name))
		}
		return "", apierrors.NewBadRequest(fmt.Sprintf("a container name must be specified for pod %s, choose one of: %s", pod.Name, names))
	}
	for _, n := range names {
		if n == name {
			return name, nil
		}
	}
	return "", apierrors.NewBadRequest(fmt.Sprintf("container %s is not valid for pod %s", name, pod.Name))
}

// getPod reads pod name of the request's namespace from the pods' store.
func getPod(ctx context.Context, pods *genericregistry.Store, name string) (*corev1.Pod, error) {
	obj, err := pods.Get(ctx, name, &metav1.GetOptions{})
	if err != nil {
		return nil, err
	}
	pod, ok := obj.(*corev1.Pod)
	if !ok {
		return nil, apierrors.NewInternalError(fmt.Errorf("unexpected object %T", obj))
	}
	return pod, nil
}

// LogREST serves pods/log: the node agent's /containerLogs, streamed.
type LogREST struct {
	pods *genericregistry.Store
	env  *Env
}

var (
	_ rest.GetterWithOptions = &LogREST{}
	_ rest.StorageMetadata   = &LogREST{}
)

// New returns an empty Pod, the parent's kind.
func (r *LogREST) New() runtime.Object { return &corev1.Pod{} }

// Destroy does nothing: the pod store owns the storage.
func (r *LogREST) Destroy() {}

// ProducesMIMETypes says a log is text.
func (r *LogREST) ProducesMIMETypes(string) []string { return []string{"text/plain"} }

// ProducesObject says a log is a string.
func (r *LogREST) ProducesObject(string) any { return "" }

// NewGetOptions returns the options a log request decodes into.
func (r *LogREST) NewGetOptions() (runtime.Object, bool, string) {
	return &corev1.PodLogOptions{}, false, ""
}

// Get validates opts and returns a stream of the container's log from its
// node; a pod on no node yet has an empty log.
func (r *LogREST) Get(ctx context.Context, name string, options runtime.Object) (runtime.Object, error) {
	opts, ok := options.(*corev1.PodLogOptions)
	if !ok {
		return nil, apierrors.NewBadRequest(fmt.Sprintf("invalid options object: %T", options))
	}
	if errs := validatePodLogOptions(opts); len(errs) > 0 {
		return nil, apierrors.NewInvalid(corev1.SchemeGroupVersion.WithKind("PodLogOptions").GroupKind(), name, errs)
	}
	pod, err := getPod(ctx, r.pods, name)
	if err != nil {
		return nil, err
	}
	container, err := podContainer(pod, opts.Container)
	if err != nil {
		return nil, err
	}
	streamer := &genericrest.LocationStreamer{
		ContentType:     "text/plain",
		Flush:           opts.Follow,
		ResponseChecker: genericrest.NewGenericHttpResponseChecker(corev1.Resource("pods/log"), name),
		RedirectChecker: genericrest.PreventRedirects,
	}
	if pod.Spec.NodeName == "" {
		return streamer, nil
	}
	loc, transport, err := r.env.nodeLocation(ctx, pod.Spec.NodeName)
	if err != nil {
		return nil, err
	}
	q := url.Values{}
	for k, on := range map[string]bool{"follow": opts.Follow, "previous": opts.Previous, "timestamps": opts.Timestamps} {
		if on {
			q.Set(k, "true")
		}
	}
	for k, v := range map[string]*int64{"sinceSeconds": opts.SinceSeconds, "tailLines": opts.TailLines, "limitBytes": opts.LimitBytes} {
		if v != nil {
			q.Set(k, strconv.FormatInt(*v, 10))
		}
	}
	if opts.SinceTime != nil {
		q.Set("sinceTime", opts.SinceTime.Format(time.RFC3339))
	}
	if opts.Stream != nil {
		q.Set("stream", *opts.Stream)
	}
	loc.Path = fmt.Sprintf("/containerLogs/%s/%s/%s", pod.Namespace, pod.Name, container)
	loc.RawQuery = q.Encode()
	streamer.Location, streamer.Transport = loc, transport
	return streamer, nil
}

// validatePodLogOptions checks a log request's options as upstream does.
func validatePodLogOptions(opts *corev1.PodLogOptions) field.ErrorList {
	var errs field.ErrorList
	if opts.TailLines != nil && *opts.TailLines < 0 {
		errs = append(errs, field.Invalid(field.NewPath("tailLines"), *opts.TailLines, "must be greater than or equal to 0"))
	}
	if opts.LimitBytes != nil && *opts.LimitBytes < 1 {
		errs = append(errs, field.Invalid(field.NewPath("limitBytes"), *opts.LimitBytes, "must be greater than 0"))
	}
	switch {
	case opts.SinceSeconds != nil && opts.SinceTime != nil:
		errs = append(errs, field.Forbidden(field.NewPath(""), "at most one of `sinceTime` or `sinceSeconds` may be specified"))
	case opts.SinceSeconds != nil && *opts.SinceSeconds < 1:
		errs = append(errs, field.Invalid(field.NewPath("sinceSeconds"), *opts.SinceSeconds, "must be greater than 0"))
	}
	if opts.Stream != nil {
		valid := []string{corev1.LogStreamStdout, corev1.LogStreamStderr, corev1.LogStreamAll}
		switch s := *opts.Stream; {
		case s != corev1.LogStreamStdout && s != corev1.LogStreamStderr && s != corev1.LogStreamAll:
			errs = append(errs, field.NotSupported(field.NewPath("stream"), s, valid))
		case s != corev1.LogStreamAll && opts.TailLines != nil:
			errs = append(errs, field.Forbidden(field.NewPath(""), "`tailLines` and specific `stream` are mutually exclusive for now"))
		}
	}
	return errs
}

// streamKind is one of the streaming subresources of pods.
type streamKind string

const (
	streamExec        streamKind = "exec"
	streamAttach      streamKind = "attach"
	streamPortForward streamKind = "portforward"
)

// StreamREST serves pods/exec, pods/attach and pods/portforward: the
// request is proxied, upgraded, to the node agent. WebSocket requests of
// the v5 remotecommand protocol are translated to SPDY, and WebSocket
// port-forward requests tunnelled over SPDY, as upstream's API server does.
type StreamREST struct {
	pods *genericregistry.Store
	env  *Env
	kind streamKind
}

var _ rest.Connecter = &StreamREST{}

// New returns an empty options object of the subresource.
func (r *StreamREST) New() runtime.Object {
	obj, _, _ := r.NewConnectOptions()
	return obj
}

// Destroy does nothing: the pod store owns the storage.
func (r *StreamREST) Destroy() {}

// ConnectMethods are GET (WebSocket) and POST (SPDY).
func (r *StreamREST) ConnectMethods() []string { return []string{"GET", "POST"} }

// NewConnectOptions returns the options the request's query decodes into.
func (r *StreamREST) NewConnectOptions() (runtime.Object, bool, string) {
	switch r.kind {
	case streamExec:
		return &corev1.PodExecOptions{}, false, ""
	case streamAttach:
		return &corev1.PodAttachOptions{}, false, ""
	}
	return &corev1.PodPortForwardOptions{}, false, ""
}

// Connect returns the handler that proxies the session to the pod's node.
func (r *StreamREST) Connect(ctx context.Context, name string, options runtime.Object, responder rest.Responder) (http.Handler, error) {
	if err := r.authorizeCreate(ctx); err != nil {
		return nil, err
	}
	pod, err := getPod(ctx, r.pods, name)
	if err != nil {
		return nil, err
	}
	q := url.Values{}
	var path string
	var streams translator.Options
	switch opts := options.(type) {
	case *corev1.PodExecOptions:
		streams = translator.Options{Stdin: opts.Stdin, Stdout: opts.Stdout, Stderr: opts.Stderr, Tty: opts.TTY}
		if path, err = r.containerPath(pod, opts.Container); err != nil {
			return nil, err
		}
		for _, c := range opts.Command {
			q.Add("command", c)
		}
	case *corev1.PodAttachOptions:
		streams = translator.Options{Stdin: opts.Stdin, Stdout: opts.Stdout, Stderr: opts.Stderr, Tty: opts.TTY}
		if path, err = r.containerPath(pod, opts.Container); err != nil {
			return nil, err
		}
	case *corev1.PodPortForwardOptions:
		path = fmt.Sprintf("/portForward/%s/%s", pod.Namespace, pod.Name)
		if len(opts.Ports) > 0 {
			ports := make([]string, len(opts.Ports))
			for i, p := range opts.Ports {
				ports[i] = strconv.Itoa(int(p))
			}
			q.Set(corev1.PortHeader, strings.Join(ports, ","))
		}
	default:
		return nil, apierrors.NewBadRequest(fmt.Sprintf("invalid options object: %T", options))
	}
	for k, on := range map[string]bool{corev1.ExecStdinParam: streams.Stdin, corev1.ExecStdoutParam: streams.Stdout,
		corev1.ExecStderrParam: streams.Stderr, corev1.ExecTTYParam: streams.Tty} {
		if on {
			q.Set(k, "1")
		}
	}
	if pod.Spec.NodeName == "" {
		return nil, apierrors.NewBadRequest(fmt.Sprintf("pod %s does not have a host assigned", name))
	}
	loc, transport, err := r.env.nodeLocation(ctx, pod.Spec.NodeName)
	if err != nil {
		return nil, err
	}
	loc.Path, loc.RawQuery = path, q.Encode()
	handler := proxy.NewUpgradeAwareHandler(loc, transport, false, true, proxy.NewErrorResponder(responder))
	if r.kind == streamPortForward {
		return translator.NewTranslatingHandler(handler, translator.NewTunnelingHandler(handler),
			wsstream.IsWebSocketRequestWithTunnelingProtocol), nil
	}
	return translator.NewTranslatingHandler(handler, translator.NewStreamTranslatorHandler(loc, transport, 0, streams),
		wsstream.IsWebSocketRequestWithStreamCloseProtocol), nil
}

// containerPath is the agent's path of an exec or attach of container.
func (r *StreamREST) containerPath(pod *corev1.Pod, container string) (string, error) {
	c, err := podContainer(pod, container)
	if err != nil {
		return "", err
	}
	return fmt.Sprintf("/%s/%s/%s/%s", r.kind, pod.Namespace, pod.Name, c), nil
}

// authorizeCreate requires the create verb on the subresource also of
// WebSocket requests, which arrive as GET, as upstream's
// AuthorizePodWebsocketUpgradeCreatePermission does.
func (r *StreamREST) authorizeCreate(ctx context.Context) error {
	info, ok := genericapirequest.RequestInfoFrom(ctx)
	u, uok := genericapirequest.UserFrom(ctx)
	if r.env.Authorizer == nil || !ok || !uok || info.Verb == "create" {
		return nil
	}
	attrs := authorizer.AttributesRecord{
		User: u, Verb: "create", Namespace: info.Namespace, APIGroup: info.APIGroup, APIVersion: info.APIVersion,
		Resource: info.Resource, Subresource: info.Subresource, Name: info.Name, ResourceRequest: true,
	}
	decision, reason, err := r.env.Authorizer.Authorize(ctx, attrs)
	if decision == authorizer.DecisionAllow {
		return nil
	}
	if err != nil && reason == "" {
		reason = err.Error()
	}
	return apierrors.NewForbidden(corev1.Resource(info.Resource+"/"+info.Subresource), info.Name, fmt.Errorf("%s", reason))
}

// NodeProxyREST serves nodes/proxy: any request, passed to the node agent.
type NodeProxyREST struct {
	env *Env
}

var _ rest.Connecter = &NodeProxyREST{}

// New returns an empty NodeProxyOptions.
func (r *NodeProxyREST) New() runtime.Object { return &corev1.NodeProxyOptions{} }

// Destroy does nothing.
func (r *NodeProxyREST) Destroy() {}

// ConnectMethods are the methods a proxy passes on.
func (r *NodeProxyREST) ConnectMethods() []string {
	return []string{"GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"}
}

// NewConnectOptions returns the options, whose path is the rest of the URL.
func (r *NodeProxyREST) NewConnectOptions() (runtime.Object, bool, string) {
	return &corev1.NodeProxyOptions{}, true, "path"
}

// Connect proxies to path on the node's agent.
func (r *NodeProxyREST) Connect(ctx context.Context, name string, options runtime.Object, responder rest.Responder) (http.Handler, error) {
	opts, ok := options.(*corev1.NodeProxyOptions)
	if !ok {
		return nil, apierrors.NewBadRequest(fmt.Sprintf("invalid options object: %T", options))
	}
	loc, transport, err := r.env.nodeLocation(ctx, name)
	if err != nil {
		return nil, err
	}
	loc.Path = opts.Path
	if !strings.HasPrefix(loc.Path, "/") {
		loc.Path = "/" + loc.Path
	}
	return proxy.NewUpgradeAwareHandler(loc, transport, true, false, proxy.NewErrorResponder(responder)), nil
}

func extendNodes(env *Env, _ *genericregistry.Store, storage map[string]rest.Storage) error {
	storage["nodes/proxy"] = &NodeProxyREST{env: env}
	return nil
}

// podProxyREST serves pods/proxy: any request, passed to the pod's address,
// "name", "name:port" or "scheme:name:port" naming the port (default: the
// first port a container declares) and scheme (http or https).
func podProxyREST(pods *genericregistry.Store) *proxyREST {
	return &proxyREST{
		kind:       "pod",
		newOptions: func() runtime.Object { return &corev1.PodProxyOptions{} },
		path: func(o runtime.Object) (string, bool) {
			if opts, ok := o.(*corev1.PodProxyOptions); ok {
				return opts.Path, true
			}
			return "", false
		},
		// Pods are reached from the API server's host, as upstream's
		// proxy transport does.
		transport: newPodTransport(),
		host: func(ctx context.Context, name, port string) (string, error) {
			pod, err := getPod(ctx, pods, name)
			if err != nil {
				return "", err
			}
			if port == "" {
				for _, c := range pod.Spec.Containers {
					if len(c.Ports) > 0 {
						port = strconv.Itoa(int(c.Ports[0].ContainerPort))
						break
					}
				}
			}
			var ip net.IP
			if len(pod.Status.PodIPs) > 0 {
				ip = net.ParseIP(pod.Status.PodIPs[0].IP)
			}
			if ip == nil || !ip.IsGlobalUnicast() {
				return "", apierrors.NewBadRequest("address not allowed")
			}
			host := ip.String()
			if port != "" {
				host = net.JoinHostPort(host, port)
			} else if ip.To4() == nil {
				host = "[" + host + "]"
			}
			return host, nil
		},
	}
}

// proxyREST serves a proxy subresource of pods or services: any request,
// passed on to the host that host finds from the name and port in the
// request's "name", "name:port" or "scheme:name:port".
type proxyREST struct {
	kind       string // "pod", "service": for messages
	newOptions func() runtime.Object
	// path returns the options' path, and whether they are of the kind.
	path      func(runtime.Object) (string, bool)
	host      func(ctx context.Context, name, port string) (string, error)
	transport http.RoundTripper
}

var _ rest.Connecter = &proxyREST{}

// New returns empty options.
func (r *proxyREST) New() runtime.Object { return r.newOptions() }

// Destroy does nothing: the resource's store owns the storage.
func (r *proxyREST) Destroy() {}

// ConnectMethods are the methods a proxy passes on.
func (r *proxyREST) ConnectMethods() []string { return (&NodeProxyREST{}).ConnectMethods() }

// NewConnectOptions returns the options, whose path is the rest of the URL.
func (r *proxyREST) NewConnectOptions() (runtime.Object, bool, string) {
	return r.newOptions(), true, "path"
}

// Connect proxies to the options' path on the host of id.
func (r *proxyREST) Connect(ctx context.Context, id string, options runtime.Object, responder rest.Responder) (http.Handler, error) {
	path, ok := r.path(options)
	if !ok {
		return nil, apierrors.NewBadRequest(fmt.Sprintf("invalid options object: %T", options))
	}
	scheme, name, port, valid := utilnet.SplitSchemeNamePort(id)
	if !valid {
		return nil, apierrors.NewBadRequest(fmt.Sprintf("invalid %s request %q", r.kind, id))
	}
	host, err := r.host(ctx, name, port)
	if err != nil {
		return nil, err
	}
	if scheme == "" {
		scheme = "http"
	}
	loc := &url.URL{Scheme: scheme, Host: host, Path: path}
	if !strings.HasPrefix(loc.Path, "/") {
		loc.Path = "/" + loc.Path
	}
	return proxy.NewUpgradeAwareHandler(loc, r.transport, true, false, proxy.NewErrorResponder(responder)), nil
}
