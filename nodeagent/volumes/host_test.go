package volumes

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
)

func TestPodMemoryLimit(t *testing.T) {
	limit := func(s string) corev1.ResourceRequirements {
		return corev1.ResourceRequirements{Limits: corev1.ResourceList{corev1.ResourceMemory: resource.MustParse(s)}}
	}
	for _, tc := range []struct {
		name       string
		containers []corev1.Container
		inits      []corev1.Container
		want       int64
	}{
		{"all limited", []corev1.Container{{Resources: limit("1Mi")}, {Resources: limit("2Mi")}}, nil, 3 << 20},
		{"one unlimited", []corev1.Container{{Resources: limit("1Mi")}, {}}, nil, 0},
		{"larger init", []corev1.Container{{Resources: limit("1Mi")}}, []corev1.Container{{Resources: limit("8Mi")}}, 8 << 20},
	} {
		pod := &corev1.Pod{Spec: corev1.PodSpec{Containers: tc.containers, InitContainers: tc.inits}}
		if got := podMemoryLimit(pod); got != tc.want {
			t.Errorf("%s: %d, want %d", tc.name, got, tc.want)
		}
	}
}

// TestCheckHostPath: the types that create do, the others check.
func TestCheckHostPath(t *testing.T) {
	dir := t.TempDir()
	typ := func(ty corev1.HostPathType) *corev1.HostPathType { return &ty }
	for _, tc := range []struct {
		path string
		typ  *corev1.HostPathType
		ok   bool
	}{
		{dir + "/new-dir", typ(corev1.HostPathDirectoryOrCreate), true},
		{dir + "/new-dir", typ(corev1.HostPathDirectory), true},
		{dir + "/new-file", typ(corev1.HostPathFileOrCreate), true},
		{dir + "/new-file", typ(corev1.HostPathFile), true},
		{dir + "/new-file", typ(corev1.HostPathDirectory), false},
		{dir + "/missing", typ(corev1.HostPathFile), false},
		{dir + "/missing", nil, true},
		{"/dev/null", typ(corev1.HostPathCharDev), true},
		{dir, typ(corev1.HostPathSocket), false},
	} {
		err := checkHostPath(&corev1.HostPathVolumeSource{Path: tc.path, Type: tc.typ})
		if (err == nil) != tc.ok {
			t.Errorf("checkHostPath(%s, %v) = %v, want ok %v", tc.path, tc.typ, err, tc.ok)
		}
	}
}
