// Package apiservice implements the API server's APIService controller, which
// keeps the apiregistration.k8s.io APIServices what upstream's aggregator
// keeps them:
//
//   - registration: every group version the server serves itself gets a
//     local APIService named "<version>.<group>" ("v1." for the core group)
//     with upstream's priorities, labelled automanaged "onstart"; every
//     served version of a CustomResourceDefinition gets one labelled
//     automanaged "true", which goes when the CRD stops serving it.
//     "onstart" APIServices are synced once per server start, so API servers
//     of different releases sharing one etcd do not fight over them; an
//     APIService without the label is the user's and is left alone.
//   - availability: a local APIService (no service reference) is Available
//     with reason Local. One that names a Service is checked as upstream
//     checks it (ServiceNotFound, ServicePortError, EndpointsNotFound,
//     MissingEndpoints) and rechecked periodically; kubelite does not proxy to
//     aggregated API servers yet, so an APIService whose Service and endpoints
//     are in place is still not Available, with reason ProxyNotSupported.
//
// Discovery never lists a group served only through a non-local APIService,
// so a missing or broken aggregated API server cannot break discovery.
package apiservice
