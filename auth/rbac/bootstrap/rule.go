package bootstrap

import (
	"slices"

	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// API groups the policy refers to.
const (
	core                  = ""
	admissionRegistration = "admissionregistration.k8s.io"
	apiExtensions         = "apiextensions.k8s.io"
	apps                  = "apps"
	authentication        = "authentication.k8s.io"
	authorization         = "authorization.k8s.io"
	autoscaling           = "autoscaling"
	batch                 = "batch"
	certificates          = "certificates.k8s.io"
	coordination          = "coordination.k8s.io"
	customMetrics         = "custom.metrics.k8s.io"
	discovery             = "discovery.k8s.io"
	events                = "events.k8s.io"
	extensions            = "extensions"
	externalMetrics       = "external.metrics.k8s.io"
	metrics               = "metrics.k8s.io"
	networking            = "networking.k8s.io"
	node                  = "node.k8s.io"
	policy                = "policy"
	rbac                  = "rbac.authorization.k8s.io"
	resource              = "resource.k8s.io"
	storage               = "storage.k8s.io"
	storageMigration      = "storagemigration.k8s.io"
	anyGroup              = "*"
)

// Metadata every bootstrap object carries.
const (
	// BootstrappingLabel marks an object as part of the default policy; its
	// value is always "rbac-defaults".
	BootstrappingLabel = "kubernetes.io/bootstrapping"
	bootstrappingValue = "rbac-defaults"

	// controllerPrefix starts the name of every controller role, binding and
	// (after it) service account.
	controllerPrefix = "system:controller:"
)

// grant is a rule under construction: the verbs it allows and the API groups
// it applies to. Finish it with on, onNamed or urls.
type grant struct {
	verbs  []string
	groups []string
}

// allow starts a rule that allows verbs.
func allow(verbs ...string) grant { return grant{verbs: verbs} }

// read allows get, list and watch.
func read() grant { return allow("get", "list", "watch") }

// write allows creating, changing and deleting objects, but not reading them.
func write() grant { return allow("create", "update", "patch", "delete", "deletecollection") }

// readWrite is read plus write.
func readWrite() grant {
	return allow("get", "list", "watch", "create", "update", "patch", "delete", "deletecollection")
}

// readUpdate is read plus update and patch.
func readUpdate() grant { return allow("get", "list", "watch", "update", "patch") }

// in sets the API groups the rule applies to.
func (g grant) in(groups ...string) grant {
	g.groups = groups
	return g
}

// on finishes a rule for every object of the given resources.
func (g grant) on(resources ...string) rbacv1.PolicyRule {
	return rbacv1.PolicyRule{
		Verbs:     sorted(g.verbs),
		APIGroups: sorted(g.groups),
		Resources: sorted(resources),
	}
}

// onNamed finishes a rule for the named objects of one resource.
func (g grant) onNamed(resource string, names ...string) rbacv1.PolicyRule {
	r := g.on(resource)
	r.ResourceNames = sorted(names)
	return r
}

// urls finishes a rule for non-resource URLs; the rule has no API groups.
func (g grant) urls(paths ...string) rbacv1.PolicyRule {
	return rbacv1.PolicyRule{Verbs: sorted(g.verbs), NonResourceURLs: sorted(paths)}
}

// emitEvents lets a component record events in either events API.
func emitEvents() rbacv1.PolicyRule {
	return allow("create", "update", "patch").in(core, events).on("events")
}

// sorted returns a sorted copy of list, so rules compare and print the same
// way upstream's do.
func sorted(list []string) []string {
	if len(list) == 0 {
		return nil
	}
	return slices.Sorted(slices.Values(list))
}

// defaultMeta returns the metadata of a bootstrap object: the bootstrapping
// label and the autoupdate annotation.
func defaultMeta(name string) metav1.ObjectMeta {
	return metav1.ObjectMeta{
		Name:        name,
		Labels:      map[string]string{BootstrappingLabel: bootstrappingValue},
		Annotations: map[string]string{rbacv1.AutoUpdateAnnotationKey: "true"},
	}
}

// clusterRole returns a bootstrap cluster role with the given rules.
func clusterRole(name string, rules ...rbacv1.PolicyRule) rbacv1.ClusterRole {
	return rbacv1.ClusterRole{ObjectMeta: defaultMeta(name), Rules: rules}
}

// Subjects of bindings.

func group(name string) rbacv1.Subject {
	return rbacv1.Subject{Kind: rbacv1.GroupKind, APIGroup: rbacv1.GroupName, Name: name}
}

func user(name string) rbacv1.Subject {
	return rbacv1.Subject{Kind: rbacv1.UserKind, APIGroup: rbacv1.GroupName, Name: name}
}

func serviceAccount(namespace, name string) rbacv1.Subject {
	return rbacv1.Subject{Kind: rbacv1.ServiceAccountKind, Namespace: namespace, Name: name}
}

// clusterRoleBinding binds the cluster role of the same name to subjects.
func clusterRoleBinding(role string, subjects ...rbacv1.Subject) rbacv1.ClusterRoleBinding {
	return rbacv1.ClusterRoleBinding{
		ObjectMeta: defaultMeta(role),
		RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: role},
		Subjects:   subjects,
	}
}
