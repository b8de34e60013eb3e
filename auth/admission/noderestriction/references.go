package noderestriction

import (
	"fmt"

	corev1 "k8s.io/api/core/v1"
)

// apiReference names the first kind of API object a pod refers to (its
// service account, secrets, config maps, claims, or volumes backed by them),
// or returns "" if it refers to none. A mirror pod comes from a file on the
// node, which must not reach objects through the API server. Unknown volume
// sources are an error.
func apiReference(pod *corev1.Pod) (string, error) {
	if pod.Spec.ServiceAccountName != "" {
		return "serviceaccounts", nil
	}
	if len(pod.Spec.ImagePullSecrets) > 0 {
		return "secrets", nil
	}
	var containers []corev1.Container
	containers = append(containers, pod.Spec.InitContainers...)
	containers = append(containers, pod.Spec.Containers...)
	for _, c := range pod.Spec.EphemeralContainers {
		containers = append(containers, corev1.Container(c.EphemeralContainerCommon))
	}
	for _, c := range containers {
		for _, from := range c.EnvFrom {
			if from.SecretRef != nil {
				return "secrets", nil
			}
			if from.ConfigMapRef != nil {
				return "configmaps", nil
			}
		}
		for _, env := range c.Env {
			if env.ValueFrom == nil {
				continue
			}
			if env.ValueFrom.SecretKeyRef != nil {
				return "secrets", nil
			}
			if env.ValueFrom.ConfigMapKeyRef != nil {
				return "configmaps", nil
			}
		}
	}
	if len(pod.Spec.ResourceClaims) > 0 {
		return "resourceclaims", nil
	}
	for _, v := range pod.Spec.Volumes {
		switch s := v.VolumeSource; {
		case s.ConfigMap != nil:
			return "configmaps (via configmap volumes)", nil
		case s.Secret != nil:
			return "secrets (via secret volumes)", nil
		case s.CSI != nil:
			return "csidrivers (via CSI volumes)", nil
		case s.Glusterfs != nil:
			return "endpoints (via glusterFS volumes)", nil
		case s.PersistentVolumeClaim != nil:
			return "persistentvolumeclaims", nil
		case s.Ephemeral != nil:
			return "persistentvolumeclaims (via ephemeral volumes)", nil
		case s.AzureFile != nil:
			return "secrets (via azureFile volumes)", nil
		case s.Projected != nil:
			for _, p := range s.Projected.Sources {
				switch {
				case p.DownwardAPI != nil:
				case p.ConfigMap != nil:
					return "configmaps (via projected volumes)", nil
				case p.Secret != nil:
					return "secrets (via projected volumes)", nil
				case p.ServiceAccountToken != nil:
					return "serviceaccounts (via projected volumes)", nil
				case p.ClusterTrustBundle != nil:
					return "clustertrustbundles", nil
				case p.PodCertificate != nil:
					return "podcertificates", nil
				default:
					return "", fmt.Errorf("unknown source for projected volume %q", v.Name)
				}
			}
		case s.RBD != nil && s.RBD.SecretRef != nil, s.CephFS != nil && s.CephFS.SecretRef != nil,
			s.FlexVolume != nil && s.FlexVolume.SecretRef != nil, s.ISCSI != nil && s.ISCSI.SecretRef != nil,
			s.ScaleIO != nil && s.ScaleIO.SecretRef != nil, s.StorageOS != nil && s.StorageOS.SecretRef != nil,
			s.Cinder != nil && s.Cinder.SecretRef != nil:
			return "secrets", nil
		case s.AWSElasticBlockStore != nil, s.AzureDisk != nil, s.CephFS != nil, s.Cinder != nil,
			s.DownwardAPI != nil, s.EmptyDir != nil, s.FC != nil, s.FlexVolume != nil, s.Flocker != nil, s.GCEPersistentDisk != nil,
			s.GitRepo != nil, s.HostPath != nil, s.Image != nil, s.ISCSI != nil, s.NFS != nil, s.PhotonPersistentDisk != nil,
			s.PortworxVolume != nil, s.Quobyte != nil, s.RBD != nil, s.ScaleIO != nil, s.StorageOS != nil, s.VsphereVolume != nil:
		default:
			return "", fmt.Errorf("unknown volume type for volume  %q", v.Name)
		}
	}
	return "", nil
}
