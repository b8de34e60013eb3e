package node

import (
	"context"
	"testing"

	corev1 "k8s.io/api/core/v1"
	storagev1 "k8s.io/api/storage/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apiserver/pkg/authentication/user"
	"k8s.io/apiserver/pkg/authorization/authorizer"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes/fake"

	"github.com/kubelite/kubelite/auth/rbac/bootstrap"
)

func TestAuthorize(t *testing.T) {
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "web"},
		Spec: corev1.PodSpec{
			NodeName:           "n1",
			ServiceAccountName: "web-sa",
			ImagePullSecrets:   []corev1.LocalObjectReference{{Name: "pull"}},
			Containers: []corev1.Container{{
				Name:    "c",
				EnvFrom: []corev1.EnvFromSource{{ConfigMapRef: &corev1.ConfigMapEnvSource{LocalObjectReference: corev1.LocalObjectReference{Name: "env-cm"}}}},
				Env: []corev1.EnvVar{{Name: "X", ValueFrom: &corev1.EnvVarSource{SecretKeyRef: &corev1.SecretKeySelector{
					LocalObjectReference: corev1.LocalObjectReference{Name: "env-secret"}, Key: "k"}}}},
			}},
			Volumes: []corev1.Volume{
				{Name: "data", VolumeSource: corev1.VolumeSource{PersistentVolumeClaim: &corev1.PersistentVolumeClaimVolumeSource{ClaimName: "data"}}},
				{Name: "scratch", VolumeSource: corev1.VolumeSource{Ephemeral: &corev1.EphemeralVolumeSource{}}},
				{Name: "p", VolumeSource: corev1.VolumeSource{Projected: &corev1.ProjectedVolumeSource{Sources: []corev1.VolumeProjection{
					{ConfigMap: &corev1.ConfigMapProjection{LocalObjectReference: corev1.LocalObjectReference{Name: "projected-cm"}}},
					{Secret: &corev1.SecretProjection{LocalObjectReference: corev1.LocalObjectReference{Name: "projected-secret"}}},
				}}}},
			},
		},
	}
	other := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "db"},
		Spec: corev1.PodSpec{NodeName: "n2", Volumes: []corev1.Volume{
			{Name: "s", VolumeSource: corev1.VolumeSource{Secret: &corev1.SecretVolumeSource{SecretName: "db-secret"}}}}},
	}
	objs := []runtime.Object{pod, other,
		&corev1.PersistentVolumeClaim{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "data"}, Spec: corev1.PersistentVolumeClaimSpec{VolumeName: "pv-data"}},
		&corev1.PersistentVolume{ObjectMeta: metav1.ObjectMeta{Name: "pv-data"}, Spec: corev1.PersistentVolumeSpec{PersistentVolumeSource: corev1.PersistentVolumeSource{
			CSI: &corev1.CSIPersistentVolumeSource{Driver: "d", NodePublishSecretRef: &corev1.SecretReference{Namespace: "ns", Name: "csi-secret"}}}}},
		&corev1.PersistentVolume{ObjectMeta: metav1.ObjectMeta{Name: "pv-other"}},
		&storagev1.VolumeAttachment{ObjectMeta: metav1.ObjectMeta{Name: "va1"}, Spec: storagev1.VolumeAttachmentSpec{NodeName: "n1"}},
		&storagev1.VolumeAttachment{ObjectMeta: metav1.ObjectMeta{Name: "va2"}, Spec: storagev1.VolumeAttachmentSpec{NodeName: "n2"}},
	}
	f := informers.NewSharedInformerFactory(fake.NewClientset(objs...), 0)
	a, err := New(f, bootstrap.NodeRules())
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	f.Start(ctx.Done())
	f.WaitForCacheSync(ctx.Done())

	n1 := &user.DefaultInfo{Name: "system:node:n1", Groups: []string{user.NodesGroup, user.AllAuthenticated}}
	res := func(verb, group, resource, sub, ns, name string) authorizer.AttributesRecord {
		return authorizer.AttributesRecord{User: n1, Verb: verb, APIGroup: group, Resource: resource, Subresource: sub, Namespace: ns, Name: name, ResourceRequest: true}
	}
	noRelation := "no relationship found between node 'n1' and this object"
	listOwnPods := res("list", "", "pods", "", "", "")
	listOwnPods.FieldSelectorRequirements = fields.OneTermEqualSelector("spec.nodeName", "n1").Requirements()
	listOtherPods := res("list", "", "pods", "", "", "")
	listOtherPods.FieldSelectorRequirements = fields.OneTermEqualSelector("spec.nodeName", "n2").Requirements()
	tests := []struct {
		name   string
		attrs  authorizer.AttributesRecord
		allow  bool
		reason string
	}{
		{"image pull secret", res("get", "", "secrets", "", "ns", "pull"), true, ""},
		{"env secret", res("get", "", "secrets", "", "ns", "env-secret"), true, ""},
		{"projected secret, watched", res("watch", "", "secrets", "", "ns", "projected-secret"), true, ""},
		{"secret of its volume", res("get", "", "secrets", "", "ns", "csi-secret"), true, ""},
		{"another node's pod's secret", res("get", "", "secrets", "", "ns", "db-secret"), false, noRelation},
		{"secret in another namespace", res("get", "", "secrets", "", "other", "pull"), false, noRelation},
		{"all secrets", res("list", "", "secrets", "", "ns", ""), false, "No Object name found"},
		{"writing a secret", res("update", "", "secrets", "", "ns", "pull"), false, "can only read resources of this type"},
		{"env config map", res("get", "", "configmaps", "", "ns", "env-cm"), true, ""},
		{"projected config map", res("get", "", "configmaps", "", "ns", "projected-cm"), true, ""},
		{"unrelated config map", res("get", "", "configmaps", "", "ns", "x"), false, noRelation},
		{"claim", res("get", "", "persistentvolumeclaims", "", "ns", "data"), true, ""},
		{"ephemeral claim", res("get", "", "persistentvolumeclaims", "", "ns", "web-scratch"), true, ""},
		{"claim status", res("patch", "", "persistentvolumeclaims", "status", "ns", "data"), true, ""},
		{"listing claims", res("list", "", "persistentvolumeclaims", "", "ns", ""), false, "can only get individual resources of this type"},
		{"bound volume", res("get", "", "persistentvolumes", "", "", "pv-data"), true, ""},
		{"other volume", res("get", "", "persistentvolumes", "", "", "pv-other"), false, noRelation},
		{"own attachment", res("get", "storage.k8s.io", "volumeattachments", "", "", "va1"), true, ""},
		{"other attachment", res("get", "storage.k8s.io", "volumeattachments", "", "", "va2"), false, noRelation},
		{"token of its pod's service account", res("create", "", "serviceaccounts", "token", "ns", "web-sa"), true, ""},
		{"token of another service account", res("create", "", "serviceaccounts", "token", "ns", "default"), false, noRelation},
		{"own pod", res("get", "", "pods", "", "ns", "web"), true, ""},
		{"other node's pod", res("get", "", "pods", "", "ns", "db"), false, noRelation},
		{"own pods by field selector", listOwnPods, true, ""},
		{"other node's pods by field selector", listOtherPods, false, "can only list/watch pods with spec.nodeName field selector"},
		{"pod status", res("patch", "", "pods", "status", "ns", "db"), true, ""},
		{"own node", res("get", "", "nodes", "", "", "n1"), true, ""},
		{"other node", res("get", "", "nodes", "", "", "n2"), false, "node 'n1' cannot read 'n2', only its own Node object"},
		{"all nodes", res("list", "", "nodes", "", "", ""), false, "node 'n1' cannot read all nodes, only its own Node object"},
		{"own lease", res("update", "coordination.k8s.io", "leases", "", "kube-node-lease", "n1"), true, ""},
		{"other lease", res("update", "coordination.k8s.io", "leases", "", "kube-node-lease", "n2"), false, "can only access node lease with the same name as the requesting node"},
		{"lease elsewhere", res("get", "coordination.k8s.io", "leases", "", "kube-system", "n1"), false, `can only access leases in the "kube-node-lease" system namespace`},
		{"services, by the node role", res("list", "", "services", "", "", ""), true, ""},
		{"deployments", res("list", "apps", "deployments", "", "", ""), false, ""},
	}
	for _, tt := range tests {
		d, reason, err := a.Authorize(ctx, tt.attrs)
		if (d == authorizer.DecisionAllow) != tt.allow || reason != tt.reason || err != nil {
			t.Errorf("%s: Authorize = %v, %q, %v; want allowed=%v, %q", tt.name, d, reason, err, tt.allow, tt.reason)
		}
	}

	// Users that are not nodes get no opinion, whatever they ask.
	for _, u := range []user.Info{
		&user.DefaultInfo{Name: "system:node:n1"},                                      // not in system:nodes
		&user.DefaultInfo{Name: "alice", Groups: []string{user.NodesGroup}},            // not named as a node
		&user.DefaultInfo{Name: "system:serviceaccount:ns:web-sa", Groups: []string{}}, // a pod's service account
	} {
		attrs := res("get", "", "secrets", "", "ns", "pull")
		attrs.User = u
		if d, reason, _ := a.Authorize(ctx, attrs); d != authorizer.DecisionNoOpinion || reason != "" {
			t.Errorf("%s: Authorize = %v, %q; want no opinion", u.GetName(), d, reason)
		}
	}
}
