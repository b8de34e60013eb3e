package validation

import (
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// podWithProjection is a valid pod whose one volume projects sources.
func podWithProjection(sources ...corev1.VolumeProjection) *corev1.Pod {
	p := validPod()
	p.Spec.Volumes = []corev1.Volume{{Name: "certs", VolumeSource: corev1.VolumeSource{Projected: &corev1.ProjectedVolumeSource{Sources: sources}}}}
	return p
}

func podCertificate(mutate func(*corev1.PodCertificateProjection)) corev1.VolumeProjection {
	c := &corev1.PodCertificateProjection{SignerName: "example.com/spiffe", KeyType: "ED25519", CredentialBundlePath: "creds.pem"}
	if mutate != nil {
		mutate(c)
	}
	return corev1.VolumeProjection{PodCertificate: c}
}

func TestProjectedPodCertificate(t *testing.T) {
	const src = "spec.volumes[0].projected.sources[0].podCertificate"
	tests := []struct {
		name    string
		sources []corev1.VolumeProjection
		want    []string
		detail  string
	}{
		{name: "valid", sources: []corev1.VolumeProjection{podCertificate(nil)}},
		{name: "one hour", sources: []corev1.VolumeProjection{podCertificate(func(c *corev1.PodCertificateProjection) { c.MaxExpirationSeconds = ptr(int32(3600)) })}},
		{name: "91 days", sources: []corev1.VolumeProjection{podCertificate(func(c *corev1.PodCertificateProjection) { c.MaxExpirationSeconds = ptr(int32(7862400)) })}},
		{name: "beyond 91 days", sources: []corev1.VolumeProjection{podCertificate(func(c *corev1.PodCertificateProjection) { c.MaxExpirationSeconds = ptr(int32(7862401)) })},
			want: []string{"FieldValueInvalid " + src + ".maxExpirationSeconds"}, detail: "if provided, maxExpirationSeconds must be <= 7862400"},
		{name: "under an hour", sources: []corev1.VolumeProjection{podCertificate(func(c *corev1.PodCertificateProjection) { c.MaxExpirationSeconds = ptr(int32(3599)) })},
			want: []string{"FieldValueInvalid " + src + ".maxExpirationSeconds"}, detail: "if provided, maxExpirationSeconds must be >= 3600"},
		{name: "kubernetes signers stop at a day", sources: []corev1.VolumeProjection{podCertificate(func(c *corev1.PodCertificateProjection) {
			c.SignerName = "kubernetes.io/kube-apiserver-client-pod"
			c.MaxExpirationSeconds = ptr(int32(86401))
		})}, want: []string{"FieldValueInvalid " + src + ".maxExpirationSeconds"}, detail: "if provided, maxExpirationSeconds must be <= 86400"},
		{name: "key type, signer, annotations, user", sources: []corev1.VolumeProjection{podCertificate(func(c *corev1.PodCertificateProjection) {
			c.KeyType, c.SignerName, c.User = "DSA", "spiffe", ptr(int64(-1))
			c.UserAnnotations = map[string]string{"nodomain": "x"}
		})}, want: []string{"FieldValueInvalid " + src + ".signerName", "FieldValueInvalid " + src + ".userAnnotations",
			"FieldValueInvalid " + src + ".user", "FieldValueNotSupported " + src + ".keyType"}},
		{name: "no paths", sources: []corev1.VolumeProjection{podCertificate(func(c *corev1.PodCertificateProjection) { c.CredentialBundlePath = "" })},
			want: []string{"FieldValueRequired " + src}},
		{name: "bad and clashing paths", sources: []corev1.VolumeProjection{podCertificate(func(c *corev1.PodCertificateProjection) {
			c.KeyPath, c.CertificateChainPath = "../key.pem", "creds.pem"
		})}, want: []string{"FieldValueInvalid " + src + ".keyPath", "FieldValueInvalid spec.volumes[0].projected"}},
		{name: "two kinds in one source", sources: []corev1.VolumeProjection{func() corev1.VolumeProjection {
			p := podCertificate(nil)
			p.ConfigMap = &corev1.ConfigMapProjection{LocalObjectReference: corev1.LocalObjectReference{Name: "cm"}}
			return p
		}()}, want: []string{"FieldValueForbidden spec.volumes[0].projected.sources[0]"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			errs := Pod(podWithProjection(tt.sources...))
			checkErrs(t, errs, tt.want)
			if tt.detail != "" && (len(errs) == 0 || !strings.Contains(errs.ToAggregate().Error(), tt.detail)) {
				t.Errorf("errors %v do not say %q", errs, tt.detail)
			}
		})
	}
}

func TestProjectedClusterTrustBundle(t *testing.T) {
	const src = "spec.volumes[0].projected.sources[0].clusterTrustBundle"
	ctb := func(b corev1.ClusterTrustBundleProjection) corev1.VolumeProjection {
		return corev1.VolumeProjection{ClusterTrustBundle: &b}
	}
	tests := []struct {
		name   string
		source corev1.VolumeProjection
		want   []string
	}{
		{"by name", ctb(corev1.ClusterTrustBundleProjection{Name: ptr("example.com:signer:roots"), Path: "ca.pem"}), nil},
		{"by signer", ctb(corev1.ClusterTrustBundleProjection{SignerName: ptr("example.com/signer"), LabelSelector: &metav1.LabelSelector{}, Path: "ca.pem"}), nil},
		{"name and signer", ctb(corev1.ClusterTrustBundleProjection{Name: ptr("roots"), SignerName: ptr("example.com/signer"), Path: "ca.pem"}),
			[]string{"FieldValueInvalid " + src}},
		{"neither", ctb(corev1.ClusterTrustBundleProjection{Path: "ca.pem"}), []string{"FieldValueRequired " + src}},
		{"name with a selector", ctb(corev1.ClusterTrustBundleProjection{Name: ptr("roots"), LabelSelector: &metav1.LabelSelector{}, Path: "ca.pem"}),
			[]string{"FieldValueInvalid " + src + ".labelSelector"}},
		{"bad name", ctb(corev1.ClusterTrustBundleProjection{Name: ptr("Roots"), Path: "ca.pem"}), []string{"FieldValueInvalid " + src + ".name"}},
		{"no path", ctb(corev1.ClusterTrustBundleProjection{Name: ptr("roots")}), []string{"FieldValueRequired " + src + ".path"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			checkErrs(t, Pod(podWithProjection(tt.source)), tt.want)
		})
	}
}
