package validation

import (
	"fmt"
	"strings"

	corev1 "k8s.io/api/core/v1"
	metav1validation "k8s.io/apimachinery/pkg/apis/meta/v1/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// secretVolume requires a secret name and checks modes and items.
func secretVolume(s *corev1.SecretVolumeSource, fldPath *field.Path) field.ErrorList {
	var errs field.ErrorList
	if s.SecretName == "" {
		errs = append(errs, field.Required(fldPath.Child("secretName"), ""))
	}
	errs = append(errs, fileMode(s.DefaultMode, fldPath.Child("defaultMode"))...)
	errs = append(errs, userID(s.DefaultUser, fldPath.Child("defaultUser"))...)
	for i := range s.Items {
		errs = append(errs, keyToPath(&s.Items[i], fldPath.Child("items").Index(i))...)
	}
	return errs
}

// configMapVolume requires a ConfigMap name and checks modes and items.
func configMapVolume(c *corev1.ConfigMapVolumeSource, fldPath *field.Path) field.ErrorList {
	var errs field.ErrorList
	if c.Name == "" {
		errs = append(errs, field.Required(fldPath.Child("name"), ""))
	}
	errs = append(errs, fileMode(c.DefaultMode, fldPath.Child("defaultMode"))...)
	errs = append(errs, userID(c.DefaultUser, fldPath.Child("defaultUser"))...)
	for i := range c.Items {
		errs = append(errs, keyToPath(&c.Items[i], fldPath.Child("items").Index(i))...)
	}
	return errs
}

// keyToPath checks one projected key: key and relative path required.
func keyToPath(kp *corev1.KeyToPath, fldPath *field.Path) field.ErrorList {
	var errs field.ErrorList
	if kp.Key == "" {
		errs = append(errs, field.Required(fldPath.Child("key"), ""))
	}
	if kp.Path == "" {
		errs = append(errs, field.Required(fldPath.Child("path"), ""))
	}
	errs = append(errs, localNonReservedPath(kp.Path, fldPath.Child("path"))...)
	errs = append(errs, fileMode(kp.Mode, fldPath.Child("mode"))...)
	return append(errs, userID(kp.User, fldPath.Child("user"))...)
}

// downwardAPIVolume checks the default mode and every file. Like upstream,
// item errors are reported under the volume's path, not items[i].
func downwardAPIVolume(d *corev1.DownwardAPIVolumeSource, fldPath *field.Path) field.ErrorList {
	errs := fileMode(d.DefaultMode, fldPath.Child("defaultMode"))
	errs = append(errs, userID(d.DefaultUser, fldPath.Child("defaultUser"))...)
	for i := range d.Items {
		errs = append(errs, downwardAPIFile(&d.Items[i], fldPath)...)
	}
	return errs
}

// downwardAPIFile requires a path and exactly one of fieldRef and
// resourceFieldRef.
func downwardAPIFile(f *corev1.DownwardAPIVolumeFile, fldPath *field.Path) field.ErrorList {
	var errs field.ErrorList
	if f.Path == "" {
		errs = append(errs, field.Required(fldPath.Child("path"), ""))
	}
	errs = append(errs, localNonReservedPath(f.Path, fldPath.Child("path"))...)
	switch {
	case f.FieldRef != nil:
		errs = append(errs, objectFieldSelector(f.FieldRef, volumeFieldPaths, fldPath.Child("fieldRef"))...)
		if f.ResourceFieldRef != nil {
			errs = append(errs, field.Invalid(fldPath, "resource", "fieldRef and resourceFieldRef can not be specified simultaneously"))
		}
	case f.ResourceFieldRef != nil:
		errs = append(errs, resourceFieldSelector(f.ResourceFieldRef, true, fldPath.Child("resourceFieldRef"))...)
	default:
		errs = append(errs, field.Required(fldPath, "one of fieldRef and resourceFieldRef is required"))
	}
	errs = append(errs, fileMode(f.Mode, fldPath.Child("mode"))...)
	return append(errs, userID(f.User, fldPath.Child("user"))...)
}

// podCertificateKeyTypes are the key types a podCertificate projection may ask for.
var podCertificateKeyTypes = []string{"RSA3072", "RSA4096", "ECDSAP256", "ECDSAP384", "ECDSAP521", "ED25519"}

// projected checks the default mode and user, each projection source (one
// kind per source), and that no two sources write the same file.
func projected(p *corev1.ProjectedVolumeSource, fldPath *field.Path) field.ErrorList {
	errs := fileMode(p.DefaultMode, fldPath.Child("defaultMode"))
	errs = append(errs, userID(p.DefaultUser, fldPath.Child("defaultUser"))...)
	paths := map[string]bool{}
	// claim records a file a source writes, reporting it when another
	// source writes it too; value is what the error shows.
	claim := func(path string, value any) {
		if paths[path] {
			errs = append(errs, field.Invalid(fldPath, value, "conflicting duplicate paths"))
		}
		paths[path] = true
	}
	for i := range p.Sources {
		src := &p.Sources[i]
		sp := fldPath.Child("sources").Index(i)
		kinds := 0
		if s := src.Secret; s != nil {
			kinds++
			if s.Name == "" {
				errs = append(errs, field.Required(sp.Child("secret", "name"), ""))
			}
			for j := range s.Items {
				errs = append(errs, keyToPath(&s.Items[j], sp.Child("secret", "items").Index(j))...)
				if s.Items[j].Path != "" {
					claim(s.Items[j].Path, s.Name)
				}
			}
		}
		if c := src.ConfigMap; c != nil {
			kinds++
			if c.Name == "" {
				errs = append(errs, field.Required(sp.Child("configMap", "name"), ""))
			}
			for j := range c.Items {
				errs = append(errs, keyToPath(&c.Items[j], sp.Child("configMap", "items").Index(j))...)
				if c.Items[j].Path != "" {
					claim(c.Items[j].Path, c.Name)
				}
			}
		}
		if d := src.DownwardAPI; d != nil {
			kinds++
			for j := range d.Items {
				errs = append(errs, downwardAPIFile(&d.Items[j], sp.Child("downwardAPI"))...)
				if d.Items[j].Path != "" {
					claim(d.Items[j].Path, d.Items[j].Path)
				}
			}
		}
		if t := src.ServiceAccountToken; t != nil {
			kinds++
			errs = append(errs, tokenProjection(t, sp.Child("serviceAccountToken"), fldPath)...)
		}
		if b := src.ClusterTrustBundle; b != nil {
			kinds++
			errs = append(errs, trustBundleProjection(b, sp.Child("clusterTrustBundle"))...)
			claim(b.Path, b.Path)
		}
		if c := src.PodCertificate; c != nil {
			kinds++
			errs = append(errs, podCertificateProjection(c, sp.Child("podCertificate"))...)
			for _, path := range []string{c.CredentialBundlePath, c.KeyPath, c.CertificateChainPath} {
				if path != "" {
					claim(path, path)
				}
			}
		}
		if kinds > 1 {
			errs = append(errs, field.Forbidden(sp, "may not specify more than 1 volume type per source"))
		}
	}
	return errs
}

// tokenProjection checks a service account token source: an expiry of 10
// minutes to 2^32 seconds, a path (reported, as upstream does, at the
// volume's path) and the file's user.
func tokenProjection(t *corev1.ServiceAccountTokenProjection, tp, volumePath *field.Path) field.ErrorList {
	var errs field.ErrorList
	if exp := t.ExpirationSeconds; exp == nil {
		errs = append(errs, field.Required(tp.Child("expirationSeconds"), ""))
	} else {
		if *exp < 10*60 {
			errs = append(errs, field.Invalid(tp.Child("expirationSeconds"), *exp, "may not specify a duration less than 10 minutes"))
		}
		if *exp > 1<<32 {
			errs = append(errs, field.Invalid(tp.Child("expirationSeconds"), *exp, "may not specify a duration larger than 2^32 seconds"))
		}
	}
	if t.Path == "" {
		errs = append(errs, field.Required(volumePath.Child("path"), ""))
	} else {
		errs = append(errs, localNonReservedPath(t.Path, volumePath.Child("path"))...)
	}
	return append(errs, userID(t.User, tp.Child("user"))...)
}

// trustBundleProjection checks a cluster trust bundle source: a bundle
// name, or a signer name with a label selector, not both; a path; the
// file's user.
func trustBundleProjection(b *corev1.ClusterTrustBundleProjection, bp *field.Path) field.ErrorList {
	var errs field.ErrorList
	switch {
	case b.Name != nil && b.SignerName != nil:
		errs = append(errs, field.Invalid(bp, b, "only one of name and signerName may be used"))
	case b.Name != nil:
		name := *b.Name
		if name == "" {
			errs = append(errs, field.Required(bp.Child("name"), "must be a valid object name"))
		}
		signer := ""
		if cut := strings.LastIndex(name, ":"); cut >= 0 {
			signer = strings.ReplaceAll(name[:cut], ":", "/")
		}
		for _, m := range clusterTrustBundleName(signer)(name, false) {
			errs = append(errs, field.Invalid(bp.Child("name"), name, "not a valid clustertrustbundlename: "+m))
		}
		if b.LabelSelector != nil {
			errs = append(errs, field.Invalid(bp.Child("labelSelector"), b.LabelSelector, "labelSelector must be unset if name is specified"))
		}
	case b.SignerName != nil:
		if *b.SignerName == "" {
			errs = append(errs, field.Required(bp.Child("signerName"), "must be a valid signer name"))
		}
		errs = append(errs, signerName(*b.SignerName, bp.Child("signerName"))...)
		errs = append(errs, metav1validation.ValidateLabelSelector(b.LabelSelector, metav1validation.LabelSelectorValidationOptions{}, bp.Child("labelSelector"))...)
	default:
		errs = append(errs, field.Required(bp, "either name or signerName must be specified"))
	}
	if b.Path == "" {
		errs = append(errs, field.Required(bp.Child("path"), ""))
	}
	errs = append(errs, userID(b.User, bp.Child("user"))...)
	return append(errs, localNonReservedPath(b.Path, bp.Child("path"))...)
}

// podCertificateProjection checks a pod certificate source: the signer
// name, domain-prefixed user annotations, the file's user, a known key
// type, maxExpirationSeconds (when set) from 1 hour to 91 days (1 day for
// kubernetes.io signers), and at least one well-formed file path.
func podCertificateProjection(c *corev1.PodCertificateProjection, cp *field.Path) field.ErrorList {
	errs := signerName(c.SignerName, cp.Child("signerName"))
	if c.UserAnnotations != nil {
		errs = append(errs, userAnnotations(c.UserAnnotations, cp.Child("userAnnotations"))...)
	}
	errs = append(errs, userID(c.User, cp.Child("user"))...)
	if !containsValue(podCertificateKeyTypes, c.KeyType) {
		errs = append(errs, field.NotSupported(cp.Child("keyType"), c.KeyType, podCertificateKeyTypes))
	}
	if s := c.MaxExpirationSeconds; s != nil {
		mp := cp.Child("maxExpirationSeconds")
		if *s < minPodCertificateLifetime {
			errs = append(errs, field.Invalid(mp, *s, fmt.Sprintf("if provided, maxExpirationSeconds must be >= %d", minPodCertificateLifetime)))
		}
		hi := maxPodCertificateLifetime
		if isKubernetesSigner(c.SignerName) {
			hi = maxKubernetesSignerLifetime
		}
		if int(*s) > hi {
			errs = append(errs, field.Invalid(mp, *s, fmt.Sprintf("if provided, maxExpirationSeconds must be <= %d", hi)))
		}
	}
	paths := 0
	for _, f := range []struct {
		path string
		name string
	}{{c.CredentialBundlePath, "credentialBundlePath"}, {c.KeyPath, "keyPath"}, {c.CertificateChainPath, "certificateChainPath"}} {
		if f.path != "" {
			paths++
			errs = append(errs, localNonReservedPath(f.path, cp.Child(f.name))...)
		}
	}
	if paths == 0 {
		errs = append(errs, field.Required(cp, "specify at least one of credentialBundlePath, keyPath, and certificateChainPath"))
	}
	return errs
}
