//go:build tools

// Package tools records the upstream programs this module builds, so that
// `go mod tidy` keeps their dependencies in go.mod and go.sum. It is never
// compiled (the build tag "tools" is never set); tools/build.sh builds the
// programs themselves.
package tools

import (
	_ "github.com/onsi/ginkgo/v2/ginkgo"              // ginkgo CLI (parallel runs of e2e.test)
	_ "go.etcd.io/etcd/etcdctl/v3"                    // etcdctl, for the etcd image
	_ "go.etcd.io/etcd/etcdutl/v3"                    // etcdutl, for the etcd image
	_ "go.etcd.io/etcd/server/v3"                     // etcd server binary (package main)
	_ "k8s.io/kubernetes/cmd/kube-apiserver"          // upstream API server
	_ "k8s.io/kubernetes/cmd/kube-controller-manager" // upstream controllers (CLUSTER=upstream)
	_ "k8s.io/kubernetes/cmd/kube-proxy"              // upstream service proxy (BenchmarkProxySync's ratio)
	_ "k8s.io/kubernetes/cmd/kube-scheduler"          // upstream scheduler (CLUSTER=upstream)
	_ "k8s.io/kubernetes/test/e2e"                    // the e2e.test suite (built with go test -c)
	_ "k8s.io/kubernetes/test/images/agnhost"         // agnhost, for the agnhost, nautilus and kitten images
	_ "k8s.io/kubernetes/test/images/nonewprivs"      // nnp, for the nonewprivs image
	_ "k8s.io/sample-apiserver"                       // the sample-apiserver image's server
)
