package bootstrap

import (
	certificatesv1 "k8s.io/api/certificates/v1"
	certificatesv1beta1 "k8s.io/api/certificates/v1beta1"
	rbacv1 "k8s.io/api/rbac/v1"
)

// systemRoles returns the roles of cluster components and add-ons: the
// node, the proxy, the scheduler, the controller manager, certificate
// approvers and a few well-known integrations.
func systemRoles() []rbacv1.ClusterRole {
	return []rbacv1.ClusterRole{
		clusterRole("system:heapster",
			read().in(core).on("events", "pods", "nodes", "namespaces"),
			read().in(extensions).on("deployments"),
		),
		clusterRole("system:node", nodeRules()...),
		// Not bound by default: where node-problem-detector runs varies.
		clusterRole("system:node-problem-detector",
			allow("get").in(core).on("nodes"),
			allow("patch").in(core).on("nodes/status"),
			emitEvents(),
		),
		// Lets a node request its client certificate and wait for it.
		clusterRole("system:node-bootstrapper",
			allow("create", "get", "list", "watch").in(certificates).on("certificatesigningrequests"),
		),
		// Delegated authentication and authorization; these creates do not
		// mutate anything.
		clusterRole("system:auth-delegator",
			allow("create").in(authentication).on("tokenreviews"),
			allow("create").in(authorization).on("subjectaccessreviews"),
		),
		// The aggregator must see every service to know whether the ones its
		// API services point to exist.
		clusterRole("system:kube-aggregator",
			read().in(core).on("services", "endpoints"),
		),
		clusterRole("system:kube-controller-manager", controllerManagerRules()...),
		clusterRole("system:kube-dns",
			allow("list", "watch").in(core).on("endpoints", "services"),
		),
		// An external persistent volume provisioner; update on claims is for
		// its lock annotations, watch on events for provisioning results.
		clusterRole("system:persistent-volume-provisioner",
			allow("get", "list", "watch", "create", "delete").in(core).on("persistentvolumes"),
			allow("get", "list", "watch", "update").in(core).on("persistentvolumeclaims"),
			read().in(storage).on("storageclasses"),
			allow("watch").in(core).on("events"),
			emitEvents(),
		),
		// The CSR approver approves node client certificates requested by a
		// bootstrapping node (nodeclient) or by the node itself (selfnodeclient)
		// for holders of these roles.
		clusterRole("system:certificates.k8s.io:certificatesigningrequests:nodeclient",
			allow("create").in(certificates).on("certificatesigningrequests/nodeclient"),
		),
		clusterRole("system:certificates.k8s.io:certificatesigningrequests:selfnodeclient",
			allow("create").in(certificates).on("certificatesigningrequests/selfnodeclient"),
		),
		clusterRole("system:volume-scheduler",
			readUpdate().in(core).on("persistentvolumes"),
			read().in(storage).on("storageclasses"),
			readUpdate().in(core).on("persistentvolumeclaims"),
		),
		approverRole("legacy-unknown", certificatesv1beta1.LegacyUnknownSignerName),
		approverRole("kubelet-serving", certificatesv1.KubeletServingSignerName),
		approverRole("kube-apiserver-client", certificatesv1.KubeAPIServerClientSignerName),
		approverRole("kube-apiserver-client-kubelet", certificatesv1.KubeAPIServerClientKubeletSignerName),
		// Reads the service account issuer's OIDC discovery documents; the
		// slash-ended paths serve clients generated from older OpenAPI docs.
		clusterRole("system:service-account-issuer-discovery",
			allow("get").urls(
				"/.well-known/openid-configuration",
				"/.well-known/openid-configuration/",
				"/openid/v1/jwks",
				"/openid/v1/jwks/",
			),
		),
		// Full access to the kubelet API.
		clusterRole("system:kubelet-api-admin",
			read().in(core).on("nodes"),
			allow("proxy").in(core).on("nodes"),
			allow("*").in(core).on("nodes/proxy", "nodes/metrics", "nodes/stats", "nodes/log"),
			allow("*").in(core).on("nodes/pods", "nodes/healthz", "nodes/configz"),
		),
		// kube-proxy.
		clusterRole("system:node-proxier",
			allow("list", "watch").in(core).on("services", "endpoints"),
			read().in(core).on("nodes"),
			emitEvents(),
			allow("list", "watch").in(networking).on("servicecidrs"),
			allow("list", "watch").in(discovery).on("endpointslices"),
		),
		clusterRole("system:kube-scheduler", schedulerRules()...),
		clusterRole("system:cluster-trust-bundle-discovery",
			read().in(certificates).on("clustertrustbundles"),
		),
	}
}

// approverRole lets the CSR approver approve certificates for one signer.
func approverRole(name, signer string) rbacv1.ClusterRole {
	return clusterRole("system:certificates.k8s.io:"+name+"-approver",
		allow("approve").in(certificates).onNamed("signers", signer),
	)
}

// nodeRules are what a kubelet needs to run its pods. The Node authorizer
// and the NodeRestriction admission plugin narrow most of them to the
// node's own objects and the objects its pods reference.
func nodeRules() []rbacv1.PolicyRule {
	return []rbacv1.PolicyRule{
		// API access checks; these creates do not mutate anything.
		allow("create").in(authentication).on("tokenreviews"),
		allow("create").in(authorization).on("subjectaccessreviews", "localsubjectaccessreviews"),
		// Service environment variables.
		read().in(core).on("services"),
		// Register the node and report its status.
		allow("create", "get", "list", "watch").in(core).on("nodes"),
		allow("update", "patch").in(core).on("nodes/status"),
		allow("update", "patch").in(core).on("nodes"),
		allow("create", "update", "patch").in(core, events).on("events"),
		// Pods bound to the node, mirror pods, pod status and evictions.
		read().in(core).on("pods"),
		allow("create", "delete").in(core).on("pods"),
		allow("update", "patch").in(core).on("pods/status"),
		allow("create").in(core).on("pods/eviction"),
		// Volumes, image pull secrets and environment from secrets and
		// config maps.
		read().in(core).on("secrets", "configmaps"),
		allow("get").in(core).on("persistentvolumeclaims", "persistentvolumes"),
		allow("get").in(core).on("endpoints"),
		// Client certificate rotation.
		allow("create", "get", "list", "watch").in(certificates).on("certificatesigningrequests"),
		// The node lease.
		allow("get", "create", "update", "patch", "delete").in(coordination).on("leases"),
		allow("get").in(storage).on("volumeattachments"),
		// Projected service account tokens.
		allow("create").in(core).on("serviceaccounts/token"),
		// Volume expansion on the node.
		allow("get", "update", "patch").in(core).on("persistentvolumeclaims/status"),
		// CSI drivers and the node's CSINode object.
		read().in(storage).on("csidrivers"),
		allow("get", "create", "update", "patch", "delete").in(storage).on("csinodes"),
		read().in(node).on("runtimeclasses"),
		// Dynamic resource allocation.
		allow("get").in(resource).on("resourceclaims"),
		allow("deletecollection").in(resource).on("resourceslices"),
		// pemTrustAnchors volumes.
		read().in(certificates).on("clustertrustbundles"),
		// Service account tokens for image credential providers.
		allow("get").in(core).on("serviceaccounts"),
		// podCertificate volumes.
		allow("get", "list", "watch", "create").in(certificates).on("podcertificaterequests"),
	}
}

// controllerManagerRules let kube-controller-manager start its shared
// informers and create the per-controller service account credentials.
func controllerManagerRules() []rbacv1.PolicyRule {
	return []rbacv1.PolicyRule{
		emitEvents(),
		// Leader election.
		allow("create").in(coordination).on("leases"),
		allow("get", "update").in(coordination).onNamed("leases", "kube-controller-manager"),
		// Service accounts and their credentials.
		allow("create").in(core).on("secrets", "serviceaccounts"),
		allow("delete").in(core).on("secrets"),
		allow("get").in(core).on("namespaces", "secrets", "serviceaccounts", "configmaps"),
		allow("update").in(core).on("secrets", "serviceaccounts"),
		// API access checks; these creates do not mutate anything.
		allow("create").in(authentication).on("tokenreviews"),
		allow("create").in(authorization).on("subjectaccessreviews"),
		// Every shared informer.
		allow("list", "watch").in(anyGroup).on("*"),
		allow("create").in(core).on("serviceaccounts/token"),
	}
}

// schedulerRules are what kube-scheduler reads and writes to place pods.
func schedulerRules() []rbacv1.PolicyRule {
	return []rbacv1.PolicyRule{
		emitEvents(),
		// Leader election.
		allow("create").in(coordination).on("leases"),
		allow("get", "update", "list", "watch").in(coordination).onNamed("leases", "kube-scheduler"),
		readWrite().in(coordination).on("leasecandidates"),
		// Nodes and pods, binding and status.
		read().in(core).on("nodes"),
		allow("get", "list", "watch", "delete").in(core).on("pods"),
		allow("create").in(core).on("pods/binding", "bindings"),
		allow("patch", "update").in(core).on("pods/status"),
		// What selects pods.
		read().in(core).on("services", "replicationcontrollers"),
		read().in(apps, extensions).on("replicasets"),
		read().in(apps).on("statefulsets"),
		// What pods use or what applies to them.
		read().in(policy).on("poddisruptionbudgets"),
		read().in(core).on("persistentvolumeclaims", "persistentvolumes"),
		// API access checks; these creates do not mutate anything.
		allow("create").in(authentication).on("tokenreviews"),
		allow("create").in(authorization).on("subjectaccessreviews"),
		// Volume limits and topology.
		read().in(storage).on("csinodes"),
		read().in(storage).on("volumeattachments"),
		// Namespace selectors in pod affinity.
		read().in(core).on("namespaces"),
		read().in(storage).on("csidrivers"),
		read().in(storage).on("csistoragecapacities"),
		// Dynamic resource allocation.
		read().in(resource).on("deviceclasses"),
		readUpdate().in(resource).on("resourceclaims"),
		readUpdate().in(resource).on("resourceclaims/status"),
		allow("update").in(core).on("pods/finalizers"),
		read().in(resource).on("resourceslices"),
		allow("create", "delete").in(resource).on("resourceclaims"),
		read().in(resource).on("devicetaintrules"),
		allow("update", "patch").in(resource).on("resourceclaims/binding"),
	}
}

// NodeRules are the rules of the system:node role, which the Node
// authorizer grants every node.
func NodeRules() []rbacv1.PolicyRule { return nodeRules() }
