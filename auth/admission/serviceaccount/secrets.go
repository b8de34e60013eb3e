package serviceaccount

import (
	"errors"
	"fmt"
	"strconv"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/sets"
)

// enforceMountable reports whether the account limits its pods to the
// secrets it lists.
func enforceMountable(sa *corev1.ServiceAccount) bool {
	v, ok := sa.Annotations[EnforceMountableSecretsAnnotation]
	if !ok {
		return false
	}
	enforce, _ := strconv.ParseBool(v)
	return enforce
}

// onlyMountableSecrets rejects a pod that uses a secret the account does not
// list: in a secret volume, in the env of an init container or container,
// or as an image pull secret the account does not list as one.
func onlyMountableSecrets(sa *corev1.ServiceAccount, pod *corev1.Pod) error {
	mountable := listedSecrets(sa)
	for _, v := range pod.Spec.Volumes {
		if v.Secret == nil {
			continue
		}
		if name := v.Secret.SecretName; !mountable.Has(name) {
			return fmt.Errorf("volume with secret.secretName=\"%s\" is not allowed because service account %s does not reference that secret", name, sa.Name)
		}
	}
	for _, c := range pod.Spec.InitContainers {
		if err := envSecrets(mountable, sa.Name, "init container", &c); err != nil {
			return err
		}
	}
	for _, c := range pod.Spec.Containers {
		if err := envSecrets(mountable, sa.Name, "container", &c); err != nil {
			return err
		}
	}
	pull := sets.New[string]()
	for _, s := range sa.ImagePullSecrets {
		pull.Insert(s.Name)
	}
	for i, ref := range pod.Spec.ImagePullSecrets {
		if !pull.Has(ref.Name) {
			return fmt.Errorf(`imagePullSecrets[%d].name="%s" is not allowed because service account %s does not reference that imagePullSecret`, i, ref.Name, sa.Name)
		}
	}
	return nil
}

// ephemeralSecrets rejects ephemeral containers whose env uses a secret the
// account does not list.
func ephemeralSecrets(sa *corev1.ServiceAccount, pod *corev1.Pod) error {
	mountable := listedSecrets(sa)
	for i := range pod.Spec.EphemeralContainers {
		c := corev1.Container(pod.Spec.EphemeralContainers[i].EphemeralContainerCommon)
		if err := envSecrets(mountable, sa.Name, "ephemeral container", &c); err != nil {
			return err
		}
	}
	return nil
}

func listedSecrets(sa *corev1.ServiceAccount) sets.Set[string] {
	s := sets.New[string]()
	for _, ref := range sa.Secrets {
		s.Insert(ref.Name)
	}
	return s
}

// envSecrets checks the secrets a container's env and envFrom read.
func envSecrets(mountable sets.Set[string], account, kind string, c *corev1.Container) error {
	for _, env := range c.Env {
		if env.ValueFrom == nil || env.ValueFrom.SecretKeyRef == nil {
			continue
		}
		if name := env.ValueFrom.SecretKeyRef.Name; !mountable.Has(name) {
			return fmt.Errorf("%s %s with envVar %s referencing secret.secretName=\"%s\" is not allowed because service account %s does not reference that secret", kind, c.Name, env.Name, name, account)
		}
	}
	for _, from := range c.EnvFrom {
		if from.SecretRef == nil {
			continue
		}
		if name := from.SecretRef.Name; !mountable.Has(name) {
			return fmt.Errorf("%s %s with envFrom referencing secret.secretName=\"%s\" is not allowed because service account %s does not reference that secret", kind, c.Name, name, account)
		}
	}
	return nil
}

// validateMirror holds a mirror pod to what a node may create without the
// API: no service account, no secret, no token projection.
func validateMirror(pod *corev1.Pod) error {
	if pod.Spec.ServiceAccountName != "" {
		return errors.New("a mirror pod may not reference service accounts")
	}
	if referencesSecret(pod) {
		return errors.New("a mirror pod may not reference secrets")
	}
	for _, v := range pod.Spec.Volumes {
		if v.Projected == nil {
			continue
		}
		for _, src := range v.Projected.Sources {
			if src.ServiceAccountToken != nil {
				return errors.New("a mirror pod may not use ServiceAccountToken volume projections")
			}
		}
	}
	return nil
}

// referencesSecret reports whether the pod names any secret: as an image
// pull secret, in any container's env, or in a volume source.
func referencesSecret(pod *corev1.Pod) bool {
	for _, ref := range pod.Spec.ImagePullSecrets {
		if ref.Name != "" {
			return true
		}
	}
	containers := append(append([]corev1.Container{}, pod.Spec.InitContainers...), pod.Spec.Containers...)
	for _, ec := range pod.Spec.EphemeralContainers {
		containers = append(containers, corev1.Container(ec.EphemeralContainerCommon))
	}
	for _, c := range containers {
		for _, env := range c.Env {
			if env.ValueFrom != nil && env.ValueFrom.SecretKeyRef != nil && env.ValueFrom.SecretKeyRef.Name != "" {
				return true
			}
		}
		for _, from := range c.EnvFrom {
			if from.SecretRef != nil && from.SecretRef.Name != "" {
				return true
			}
		}
	}
	for _, v := range pod.Spec.Volumes {
		if volumeSecret(&v.VolumeSource) {
			return true
		}
	}
	return false
}

// volumeSecret reports whether a volume source names a secret.
func volumeSecret(src *corev1.VolumeSource) bool {
	named := func(ref *corev1.LocalObjectReference) bool { return ref != nil && ref.Name != "" }
	switch {
	case src.Secret != nil:
		return src.Secret.SecretName != ""
	case src.AzureFile != nil:
		return src.AzureFile.SecretName != ""
	case src.CephFS != nil:
		return named(src.CephFS.SecretRef)
	case src.Cinder != nil:
		return named(src.Cinder.SecretRef)
	case src.FlexVolume != nil:
		return named(src.FlexVolume.SecretRef)
	case src.RBD != nil:
		return named(src.RBD.SecretRef)
	case src.ScaleIO != nil:
		return named(src.ScaleIO.SecretRef)
	case src.ISCSI != nil:
		return named(src.ISCSI.SecretRef)
	case src.StorageOS != nil:
		return named(src.StorageOS.SecretRef)
	case src.CSI != nil:
		return named(src.CSI.NodePublishSecretRef)
	case src.Projected != nil:
		for _, p := range src.Projected.Sources {
			if p.Secret != nil && p.Secret.Name != "" {
				return true
			}
		}
	}
	return false
}
