package serviceaccount

import (
	"context"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apiserver/pkg/admission"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes/fake"
	"k8s.io/utils/ptr"
)

func account(name string, mutate ...func(*corev1.ServiceAccount)) *corev1.ServiceAccount {
	sa := &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "ns"}}
	for _, m := range mutate {
		m(sa)
	}
	return sa
}

func pod(mutate ...func(*corev1.Pod)) *corev1.Pod {
	p := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "p", Namespace: "ns"},
		Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "app", Image: "x"}}},
	}
	for _, m := range mutate {
		m(p)
	}
	return p
}

// newPlugin returns a plugin whose informer holds cached and whose client
// serves live; volume names end in "xyz12".
func newPlugin(t *testing.T, cached []*corev1.ServiceAccount, live ...runtime.Object) (*Plugin, *fake.Clientset) {
	t.Helper()
	client := fake.NewClientset(live...)
	factory := informers.NewSharedInformerFactory(fake.NewClientset(), 0)
	p := New()
	p.SetExternalKubeClientSet(client)
	p.SetExternalKubeInformerFactory(factory)
	for _, sa := range cached {
		if err := factory.Core().V1().ServiceAccounts().Informer().GetIndexer().Add(sa); err != nil {
			t.Fatal(err)
		}
	}
	if err := p.ValidateInitialization(); err != nil {
		t.Fatal(err)
	}
	p.generateName = func(base string) string { return base + "xyz12" }
	p.retryInterval = func() time.Duration { return time.Millisecond }
	return p, client
}

func attrs(obj, old runtime.Object, op admission.Operation, sub string) admission.Attributes {
	return admission.NewAttributesRecord(obj, old, corev1.SchemeGroupVersion.WithKind("Pod"), "ns", "p",
		corev1.SchemeGroupVersion.WithResource("pods"), sub, op, nil, false, nil)
}

func admit(p *Plugin, a admission.Attributes) error {
	ctx := context.Background()
	if err := p.Admit(ctx, a, nil); err != nil {
		return err
	}
	return p.Validate(ctx, a, nil)
}

var tokenMount = corev1.VolumeMount{Name: "kube-api-access-xyz12", ReadOnly: true, MountPath: MountPath}

func TestDefaultAndMount(t *testing.T) {
	p, _ := newPlugin(t, []*corev1.ServiceAccount{account("default")})
	pd := pod(func(p *corev1.Pod) {
		p.Spec.InitContainers = []corev1.Container{{Name: "init", Image: "x"}}
		p.Spec.EphemeralContainers = []corev1.EphemeralContainer{{EphemeralContainerCommon: corev1.EphemeralContainerCommon{Name: "debug", Image: "x"}}}
	})
	if err := admit(p, attrs(pd, nil, admission.Create, "")); err != nil {
		t.Fatal(err)
	}
	if pd.Spec.ServiceAccountName != "default" || pd.Spec.DeprecatedServiceAccount != "default" { //nolint:staticcheck // checking it is kept in step
		t.Errorf("service account = %q/%q", pd.Spec.ServiceAccountName, pd.Spec.DeprecatedServiceAccount) //nolint:staticcheck
	}
	for _, c := range []corev1.Container{pd.Spec.Containers[0], pd.Spec.InitContainers[0]} {
		if diff := cmp.Diff([]corev1.VolumeMount{tokenMount}, c.VolumeMounts); diff != "" {
			t.Errorf("%s mounts (-want +got):\n%s", c.Name, diff)
		}
	}
	if len(pd.Spec.EphemeralContainers[0].VolumeMounts) != 0 {
		t.Errorf("ephemeral container got mounts %v", pd.Spec.EphemeralContainers[0].VolumeMounts)
	}
	want := []corev1.Volume{{
		Name: "kube-api-access-xyz12",
		VolumeSource: corev1.VolumeSource{Projected: &corev1.ProjectedVolumeSource{
			DefaultMode: ptr.To[int32](0o644),
			Sources: []corev1.VolumeProjection{
				{ServiceAccountToken: &corev1.ServiceAccountTokenProjection{Path: "token", ExpirationSeconds: ptr.To[int64](3607)}},
				{ConfigMap: &corev1.ConfigMapProjection{
					LocalObjectReference: corev1.LocalObjectReference{Name: "kube-root-ca.crt"},
					Items:                []corev1.KeyToPath{{Key: "ca.crt", Path: "ca.crt"}},
				}},
				{DownwardAPI: &corev1.DownwardAPIProjection{Items: []corev1.DownwardAPIVolumeFile{{
					Path: "namespace", FieldRef: &corev1.ObjectFieldSelector{APIVersion: "v1", FieldPath: "metadata.namespace"},
				}}}},
			},
		}},
	}}
	if diff := cmp.Diff(want, pd.Spec.Volumes); diff != "" {
		t.Errorf("volumes (-want +got):\n%s", diff)
	}
}

// TestAutomount is upstream's conformance table: the pod's choice wins over
// the account's, and the default is to mount.
func TestAutomount(t *testing.T) {
	accounts := []*corev1.ServiceAccount{
		account("default"),
		account("mount", func(sa *corev1.ServiceAccount) { sa.AutomountServiceAccountToken = ptr.To(true) }),
		account("nomount", func(sa *corev1.ServiceAccount) { sa.AutomountServiceAccountToken = ptr.To(false) }),
	}
	for _, tc := range []struct {
		account string
		pod     *bool
		want    bool
	}{
		{"default", nil, true}, {"mount", nil, true}, {"nomount", nil, false},
		{"default", ptr.To(true), true}, {"mount", ptr.To(true), true}, {"nomount", ptr.To(true), true},
		{"default", ptr.To(false), false}, {"mount", ptr.To(false), false}, {"nomount", ptr.To(false), false},
	} {
		p, _ := newPlugin(t, accounts)
		pd := pod(func(p *corev1.Pod) {
			p.Spec.ServiceAccountName = tc.account
			p.Spec.AutomountServiceAccountToken = tc.pod
		})
		if err := admit(p, attrs(pd, nil, admission.Create, "")); err != nil {
			t.Fatal(err)
		}
		got := len(pd.Spec.Containers[0].VolumeMounts) == 1 && len(pd.Spec.Volumes) == 1
		if got != tc.want {
			t.Errorf("account %s, pod automount %v: mounted = %v, want %v", tc.account, ptr.Deref(tc.pod, false), got, tc.want)
		}
	}
}

func TestMountKeepsWhatIsThere(t *testing.T) {
	p, _ := newPlugin(t, []*corev1.ServiceAccount{account("default")})
	own := corev1.VolumeMount{Name: "mine", MountPath: MountPath}
	pd := pod(func(p *corev1.Pod) {
		p.Spec.Containers = append(p.Spec.Containers, corev1.Container{Name: "own", Image: "x", VolumeMounts: []corev1.VolumeMount{own}})
		p.Spec.Volumes = []corev1.Volume{{Name: "mine", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}}}
	})
	if err := admit(p, attrs(pd, nil, admission.Create, "")); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]corev1.VolumeMount{own}, pd.Spec.Containers[1].VolumeMounts); diff != "" {
		t.Errorf("container with its own mount changed (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]corev1.VolumeMount{tokenMount}, pd.Spec.Containers[0].VolumeMounts); diff != "" {
		t.Errorf("other container (-want +got):\n%s", diff)
	}
	if len(pd.Spec.Volumes) != 2 {
		t.Errorf("volumes = %v", pd.Spec.Volumes)
	}

	// Every container mounts something there: no token volume at all.
	pd = pod(func(p *corev1.Pod) { p.Spec.Containers[0].VolumeMounts = []corev1.VolumeMount{own} })
	if err := admit(p, attrs(pd, nil, admission.Create, "")); err != nil {
		t.Fatal(err)
	}
	if len(pd.Spec.Volumes) != 0 {
		t.Errorf("volume added though no container needs it: %v", pd.Spec.Volumes)
	}

	// An existing kube-api-access- volume is reused, not doubled.
	existing := corev1.Volume{Name: "kube-api-access-old", VolumeSource: corev1.VolumeSource{Projected: TokenVolumeSource()}}
	pd = pod(func(p *corev1.Pod) { p.Spec.Volumes = []corev1.Volume{existing} })
	if err := admit(p, attrs(pd, nil, admission.Create, "")); err != nil {
		t.Fatal(err)
	}
	if len(pd.Spec.Volumes) != 1 || pd.Spec.Containers[0].VolumeMounts[0].Name != "kube-api-access-old" {
		t.Errorf("volumes %v, mounts %v", pd.Spec.Volumes, pd.Spec.Containers[0].VolumeMounts)
	}
}

func TestImagePullSecrets(t *testing.T) {
	sa := account("default", func(sa *corev1.ServiceAccount) {
		sa.ImagePullSecrets = []corev1.LocalObjectReference{{Name: "registry"}}
	})
	p, _ := newPlugin(t, []*corev1.ServiceAccount{sa})
	pd := pod()
	if err := admit(p, attrs(pd, nil, admission.Create, "")); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(sa.ImagePullSecrets, pd.Spec.ImagePullSecrets); diff != "" {
		t.Errorf("pull secrets (-want +got):\n%s", diff)
	}
	own := []corev1.LocalObjectReference{{Name: "mine"}}
	pd = pod(func(p *corev1.Pod) { p.Spec.ImagePullSecrets = own })
	if err := admit(p, attrs(pd, nil, admission.Create, "")); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(own, pd.Spec.ImagePullSecrets); diff != "" {
		t.Errorf("pod's own pull secrets replaced (-want +got):\n%s", diff)
	}
}

func TestMissingAccount(t *testing.T) {
	for _, tc := range []struct {
		name      string
		account   string
		wantGets  int
		wantError string
	}{
		{"named account: one live lookup", "robot", 1,
			`pods "p" is forbidden: error looking up service account ns/robot: serviceaccount "robot" not found`},
		{"default: ten live lookups", "", 10,
			`pods "p" is forbidden: error looking up service account ns/default: serviceaccount "default" not found`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, client := newPlugin(t, nil)
			err := admit(p, attrs(pod(func(p *corev1.Pod) { p.Spec.ServiceAccountName = tc.account }), nil, admission.Create, ""))
			if !apierrors.IsForbidden(err) || err.Error() != tc.wantError {
				t.Fatalf("error = %v\nwant Forbidden %q", err, tc.wantError)
			}
			if got := len(client.Actions()); got != tc.wantGets {
				t.Errorf("%d live lookups, want %d", got, tc.wantGets)
			}
		})
	}
	t.Run("found live", func(t *testing.T) {
		p, _ := newPlugin(t, nil, account("robot"))
		pd := pod(func(p *corev1.Pod) { p.Spec.ServiceAccountName = "robot" })
		if err := admit(p, attrs(pd, nil, admission.Create, "")); err != nil {
			t.Fatal(err)
		}
		if len(pd.Spec.Volumes) != 1 {
			t.Error("token not mounted")
		}
	})
}

func TestMirrorPods(t *testing.T) {
	mirror := func(mutate ...func(*corev1.Pod)) *corev1.Pod {
		return pod(append([]func(*corev1.Pod){func(p *corev1.Pod) {
			p.Annotations = map[string]string{corev1.MirrorPodAnnotationKey: "hash"}
		}}, mutate...)...)
	}
	for _, tc := range []struct {
		name string
		pod  *corev1.Pod
		want string
	}{
		{"plain", mirror(), ""},
		{"service account", mirror(func(p *corev1.Pod) { p.Spec.ServiceAccountName = "default" }),
			`pods "p" is forbidden: a mirror pod may not reference service accounts`},
		{"secret env", mirror(func(p *corev1.Pod) {
			p.Spec.Containers[0].EnvFrom = []corev1.EnvFromSource{{SecretRef: &corev1.SecretEnvSource{LocalObjectReference: corev1.LocalObjectReference{Name: "s"}}}}
		}), `pods "p" is forbidden: a mirror pod may not reference secrets`},
		{"csi secret", mirror(func(p *corev1.Pod) {
			p.Spec.Volumes = []corev1.Volume{{Name: "v", VolumeSource: corev1.VolumeSource{CSI: &corev1.CSIVolumeSource{
				Driver: "d", NodePublishSecretRef: &corev1.LocalObjectReference{Name: "s"}}}}}
		}), `pods "p" is forbidden: a mirror pod may not reference secrets`},
		{"token projection", mirror(func(p *corev1.Pod) {
			p.Spec.Volumes = []corev1.Volume{{Name: "v", VolumeSource: corev1.VolumeSource{Projected: &corev1.ProjectedVolumeSource{
				Sources: []corev1.VolumeProjection{{ServiceAccountToken: &corev1.ServiceAccountTokenProjection{Path: "t"}}}}}}}
		}), `pods "p" is forbidden: a mirror pod may not use ServiceAccountToken volume projections`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, _ := newPlugin(t, nil)
			err := admit(p, attrs(tc.pod, nil, admission.Create, ""))
			if tc.want == "" {
				if err != nil {
					t.Fatal(err)
				}
				if tc.pod.Spec.ServiceAccountName != "" || len(tc.pod.Spec.Volumes) != 0 {
					t.Errorf("mirror pod changed: %+v", tc.pod.Spec)
				}
				return
			}
			if !apierrors.IsForbidden(err) || err.Error() != tc.want {
				t.Errorf("error = %v, want %q", err, tc.want)
			}
		})
	}
}

func TestEnforceMountableSecrets(t *testing.T) {
	enforcing := account("default", func(sa *corev1.ServiceAccount) {
		sa.Annotations = map[string]string{EnforceMountableSecretsAnnotation: "true"}
		sa.Secrets = []corev1.ObjectReference{{Name: "allowed"}}
		sa.ImagePullSecrets = []corev1.LocalObjectReference{{Name: "pull"}}
	})
	secretVolume := func(name string) func(*corev1.Pod) {
		return func(p *corev1.Pod) {
			p.Spec.Volumes = []corev1.Volume{{Name: "v", VolumeSource: corev1.VolumeSource{Secret: &corev1.SecretVolumeSource{SecretName: name}}}}
		}
	}
	envSecret := func(name string) []corev1.EnvVar {
		return []corev1.EnvVar{{Name: "E", ValueFrom: &corev1.EnvVarSource{SecretKeyRef: &corev1.SecretKeySelector{
			LocalObjectReference: corev1.LocalObjectReference{Name: name}, Key: "k"}}}}
	}
	for _, tc := range []struct {
		name string
		pod  *corev1.Pod
		want string
	}{
		{"allowed volume", pod(secretVolume("allowed")), ""},
		{"other volume", pod(secretVolume("other")),
			`pods "p" is forbidden: volume with secret.secretName="other" is not allowed because service account default does not reference that secret`},
		{"other env", pod(func(p *corev1.Pod) { p.Spec.Containers[0].Env = envSecret("other") }),
			`pods "p" is forbidden: container app with envVar E referencing secret.secretName="other" is not allowed because service account default does not reference that secret`},
		{"other init envFrom", pod(func(p *corev1.Pod) {
			p.Spec.InitContainers = []corev1.Container{{Name: "init", Image: "x", EnvFrom: []corev1.EnvFromSource{{
				SecretRef: &corev1.SecretEnvSource{LocalObjectReference: corev1.LocalObjectReference{Name: "other"}}}}}}
		}), `pods "p" is forbidden: init container init with envFrom referencing secret.secretName="other" is not allowed because service account default does not reference that secret`},
		{"other pull secret", pod(func(p *corev1.Pod) { p.Spec.ImagePullSecrets = []corev1.LocalObjectReference{{Name: "other"}} }),
			`pods "p" is forbidden: imagePullSecrets[0].name="other" is not allowed because service account default does not reference that imagePullSecret`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, _ := newPlugin(t, []*corev1.ServiceAccount{enforcing})
			err := admit(p, attrs(tc.pod, nil, admission.Create, ""))
			if tc.want == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if !apierrors.IsForbidden(err) || err.Error() != tc.want {
				t.Errorf("error = %v\nwant %q", err, tc.want)
			}
		})
	}
	t.Run("not enforced", func(t *testing.T) {
		p, _ := newPlugin(t, []*corev1.ServiceAccount{account("default")})
		if err := admit(p, attrs(pod(secretVolume("other")), nil, admission.Create, "")); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("ephemeral containers", func(t *testing.T) {
		p, _ := newPlugin(t, []*corev1.ServiceAccount{enforcing})
		pd := pod(func(p *corev1.Pod) {
			p.Spec.ServiceAccountName = "default"
			p.Spec.EphemeralContainers = []corev1.EphemeralContainer{{EphemeralContainerCommon: corev1.EphemeralContainerCommon{
				Name: "debug", Image: "x", Env: envSecret("other")}}}
		})
		err := admit(p, attrs(pd, pod(), admission.Update, "ephemeralcontainers"))
		want := `ephemeral container debug with envVar E referencing secret.secretName="other" is not allowed because service account default does not reference that secret`
		if err == nil || err.Error() != want {
			t.Errorf("error = %v, want %q", err, want)
		}
	})
}

func TestIgnored(t *testing.T) {
	p, client := newPlugin(t, nil)
	for _, a := range []admission.Attributes{
		attrs(pod(), pod(), admission.Update, ""),
		attrs(pod(), pod(), admission.Update, "status"),
		admission.NewAttributesRecord(&corev1.ConfigMap{}, nil, corev1.SchemeGroupVersion.WithKind("ConfigMap"), "ns", "p",
			corev1.SchemeGroupVersion.WithResource("configmaps"), "", admission.Create, nil, false, nil),
	} {
		if err := admit(p, a); err != nil {
			t.Errorf("%s %s/%s: %v", a.GetOperation(), a.GetResource().Resource, a.GetSubresource(), err)
		}
	}
	if n := len(client.Actions()); n != 0 {
		t.Errorf("%d lookups for requests the plugin ignores", n)
	}
}
