// Package stream is the node agent's endpoint: the HTTPS server on the
// kubelet port (status.daemonEndpoints.kubeletEndpoint.port) that the API
// server proxies pods/log, pods/exec, pods/attach, pods/portforward and
// nodes/proxy to, as upstream's kubelet serves them:
//
//	GET      /containerLogs/{namespace}/{pod}/{container}?follow=true&previous=true&tailLines=N&...
//	GET|POST /exec/{namespace}/{pod}[/{uid}]/{container}?command=...&input=1&output=1&error=1&tty=1
//	GET|POST /attach/{namespace}/{pod}[/{uid}]/{container}?input=1&output=1&error=1&tty=1
//	GET|POST /portForward/{namespace}/{pod}[/{uid}]?port=N
//	GET      /healthz
//
// exec and attach speak the SPDY remotecommand protocols (v1 to v4) and the
// older WebSocket ones; port-forward SPDY and WebSocket (k8s.io/cri-streaming
// serves both). Clients that speak the v5 WebSocket protocol (kubectl 1.30
// and later) reach it through the API server, which translates to SPDY, as
// upstream's does for kubelets that do not announce WebSocket support.
//
// Clients authenticate with a certificate of the cluster CA; each request is
// authorized by a SubjectAccessReview to the API server (resource nodes,
// subresource proxy, or healthz for /healthz), the answers cached as
// upstream's kubelet webhook authorizer does (allowed 5 minutes, denied 30
// seconds). One Server may serve many nodes (a host of simulated nodes):
// requests name pods, and the Finder says which runtime runs each.
package stream
