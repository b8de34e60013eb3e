package serviceaccount

import (
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/utils/ptr"

	"github.com/kubelite/kubelite/controllers/rootcacert"
)

// TokenExpirationSeconds is the lifetime the token projection asks for: an
// hour and seven seconds, upstream's mark of a token whose use after one
// hour is only warned about.
const TokenExpirationSeconds int64 = 60*60 + 7

// mountToken mounts the pod's token volume at MountPath in every container
// and init container that has nothing there, adding the volume when one of
// them needs it. A volume already named VolumePrefix... is reused; otherwise
// the new volume is named by generateName(VolumePrefix).
func mountToken(pod *corev1.Pod, generateName func(string) string) {
	name := ""
	for _, v := range pod.Spec.Volumes {
		if strings.HasPrefix(v.Name, VolumePrefix) {
			name = v.Name
			break
		}
	}
	haveVolume := name != ""
	if !haveVolume {
		name = generateName(VolumePrefix)
	}
	mount := corev1.VolumeMount{Name: name, ReadOnly: true, MountPath: MountPath}
	needed := false
	for _, list := range [][]corev1.Container{pod.Spec.InitContainers, pod.Spec.Containers} {
		for i := range list {
			if mountsAt(&list[i], MountPath) {
				continue
			}
			list[i].VolumeMounts = append(list[i].VolumeMounts, mount)
			needed = true
		}
	}
	if needed && !haveVolume {
		pod.Spec.Volumes = append(pod.Spec.Volumes, corev1.Volume{
			Name:         name,
			VolumeSource: corev1.VolumeSource{Projected: TokenVolumeSource()},
		})
	}
}

func mountsAt(c *corev1.Container, path string) bool {
	for _, m := range c.VolumeMounts {
		if m.MountPath == path {
			return true
		}
	}
	return false
}

// TokenVolumeSource is the projected volume a pod's API credentials come in:
// a bound service account token as "token", the cluster's CA bundle as
// "ca.crt" and the pod's namespace as "namespace".
func TokenVolumeSource() *corev1.ProjectedVolumeSource {
	return &corev1.ProjectedVolumeSource{
		DefaultMode: ptr.To(corev1.ProjectedVolumeSourceDefaultMode),
		Sources: []corev1.VolumeProjection{
			{ServiceAccountToken: &corev1.ServiceAccountTokenProjection{
				Path:              "token",
				ExpirationSeconds: ptr.To(TokenExpirationSeconds),
			}},
			{ConfigMap: &corev1.ConfigMapProjection{
				LocalObjectReference: corev1.LocalObjectReference{Name: rootcacert.Name},
				Items:                []corev1.KeyToPath{{Key: rootcacert.Key, Path: rootcacert.Key}},
			}},
			{DownwardAPI: &corev1.DownwardAPIProjection{
				Items: []corev1.DownwardAPIVolumeFile{{
					Path:     "namespace",
					FieldRef: &corev1.ObjectFieldSelector{APIVersion: "v1", FieldPath: "metadata.namespace"},
				}},
			}},
		},
	}
}
