package node

import (
	corev1 "k8s.io/api/core/v1"
)

// envSources returns the environment sources of all of a pod's containers.
func envSources(p *corev1.Pod) ([]corev1.EnvFromSource, []corev1.EnvVar) {
	var from []corev1.EnvFromSource
	var env []corev1.EnvVar
	for _, c := range p.Spec.InitContainers {
		from, env = append(from, c.EnvFrom...), append(env, c.Env...)
	}
	for _, c := range p.Spec.Containers {
		from, env = append(from, c.EnvFrom...), append(env, c.Env...)
	}
	for _, c := range p.Spec.EphemeralContainers {
		from, env = append(from, c.EnvFrom...), append(env, c.Env...)
	}
	return from, env
}

// podSecrets names the secrets a pod uses: image pull secrets, environment
// and volumes (with their plugins' secret references).
func podSecrets(p *corev1.Pod) []string {
	var names []string
	add := func(n string) {
		if n != "" {
			names = append(names, n)
		}
	}
	ref := func(r *corev1.LocalObjectReference) {
		if r != nil {
			add(r.Name)
		}
	}
	for _, s := range p.Spec.ImagePullSecrets {
		add(s.Name)
	}
	from, env := envSources(p)
	for _, f := range from {
		if f.SecretRef != nil {
			add(f.SecretRef.Name)
		}
	}
	for _, e := range env {
		if e.ValueFrom != nil && e.ValueFrom.SecretKeyRef != nil {
			add(e.ValueFrom.SecretKeyRef.Name)
		}
	}
	for _, v := range p.Spec.Volumes {
		switch {
		case v.Secret != nil:
			add(v.Secret.SecretName)
		case v.Projected != nil:
			for _, s := range v.Projected.Sources {
				if s.Secret != nil {
					add(s.Secret.Name)
				}
			}
		case v.AzureFile != nil:
			add(v.AzureFile.SecretName)
		case v.CephFS != nil:
			ref(v.CephFS.SecretRef)
		case v.Cinder != nil:
			ref(v.Cinder.SecretRef)
		case v.FlexVolume != nil:
			ref(v.FlexVolume.SecretRef)
		case v.RBD != nil:
			ref(v.RBD.SecretRef)
		case v.ScaleIO != nil:
			ref(v.ScaleIO.SecretRef)
		case v.ISCSI != nil:
			ref(v.ISCSI.SecretRef)
		case v.StorageOS != nil:
			ref(v.StorageOS.SecretRef)
		case v.CSI != nil:
			ref(v.CSI.NodePublishSecretRef)
		}
	}
	return names
}

// podConfigMaps names the config maps a pod uses: environment and volumes.
func podConfigMaps(p *corev1.Pod) []string {
	var names []string
	from, env := envSources(p)
	for _, f := range from {
		if f.ConfigMapRef != nil {
			names = append(names, f.ConfigMapRef.Name)
		}
	}
	for _, e := range env {
		if e.ValueFrom != nil && e.ValueFrom.ConfigMapKeyRef != nil {
			names = append(names, e.ValueFrom.ConfigMapKeyRef.Name)
		}
	}
	for _, v := range p.Spec.Volumes {
		switch {
		case v.ConfigMap != nil:
			names = append(names, v.ConfigMap.Name)
		case v.Projected != nil:
			for _, s := range v.Projected.Sources {
				if s.ConfigMap != nil {
					names = append(names, s.ConfigMap.Name)
				}
			}
		}
	}
	return names
}

// podClaims names the persistent volume claims a pod mounts, the generic
// ephemeral volumes' (named <pod>-<volume>) among them.
func podClaims(p *corev1.Pod) []string {
	var names []string
	for _, v := range p.Spec.Volumes {
		switch {
		case v.PersistentVolumeClaim != nil:
			names = append(names, v.PersistentVolumeClaim.ClaimName)
		case v.Ephemeral != nil:
			names = append(names, p.Name+"-"+v.Name)
		}
	}
	return names
}

// volumeSecrets names the secrets in namespace that a persistent volume's
// plugin uses.
func volumeSecrets(pv *corev1.PersistentVolume, namespace string) []string {
	var names []string
	ref := func(r *corev1.SecretReference) {
		if r != nil && r.Name != "" && r.Namespace == namespace {
			names = append(names, r.Name)
		}
	}
	s := pv.Spec.PersistentVolumeSource
	switch {
	case s.CSI != nil:
		ref(s.CSI.NodePublishSecretRef)
		ref(s.CSI.NodeStageSecretRef)
		ref(s.CSI.NodeExpandSecretRef)
		ref(s.CSI.ControllerPublishSecretRef)
		ref(s.CSI.ControllerExpandSecretRef)
	case s.CephFS != nil:
		ref(s.CephFS.SecretRef)
	case s.Cinder != nil:
		ref(s.Cinder.SecretRef)
	case s.FlexVolume != nil:
		ref(s.FlexVolume.SecretRef)
	case s.RBD != nil:
		ref(s.RBD.SecretRef)
	case s.ScaleIO != nil:
		ref(s.ScaleIO.SecretRef)
	case s.ISCSI != nil:
		ref(s.ISCSI.SecretRef)
	case s.StorageOS != nil && s.StorageOS.SecretRef != nil:
		if r := s.StorageOS.SecretRef; r.Name != "" && r.Namespace == namespace {
			names = append(names, r.Name)
		}
	case s.AzureFile != nil:
		ns := namespace
		if s.AzureFile.SecretNamespace != nil {
			ns = *s.AzureFile.SecretNamespace
		}
		if ns == namespace && s.AzureFile.SecretName != "" {
			names = append(names, s.AzureFile.SecretName)
		}
	}
	return names
}
