package validation

import (
	"fmt"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	apimachineryvalidation "k8s.io/apimachinery/pkg/api/validation"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// sourceEntry is one member of a volume source union: the path segment used
// when it is one source too many, whether it is set, and how to check it.
type sourceEntry struct {
	name  string
	set   bool
	check func() field.ErrorList
}

// oneSource walks a union in upstream order: the first set member is
// checked, each further one is Forbidden, and none at all is Required.
func oneSource(entries []sourceEntry, fldPath *field.Path) field.ErrorList {
	var errs field.ErrorList
	n := 0
	for _, e := range entries {
		if !e.set {
			continue
		}
		if n > 0 {
			errs = append(errs, field.Forbidden(fldPath.Child(e.name), "may not specify more than 1 volume type"))
			continue
		}
		n++
		if e.check != nil {
			errs = append(errs, e.check()...)
		}
	}
	if n == 0 {
		errs = append(errs, field.Required(fldPath, "must specify a volume type"))
	}
	return errs
}

// volumes validates spec.volumes and returns the valid ones by name, which
// is what volume mounts are checked against.
func volumes(list []corev1.Volume, podMeta *metav1.ObjectMeta, fldPath *field.Path) (map[string]corev1.VolumeSource, field.ErrorList) {
	var errs field.ErrorList
	valid := map[string]corev1.VolumeSource{}
	ephemeralPVCs := map[string]bool{}
	if podMeta != nil && podMeta.Name != "" {
		for _, v := range list {
			if v.Ephemeral != nil {
				ephemeralPVCs[podMeta.Name+"-"+v.Name] = true
			}
		}
	}
	seen := map[string]bool{}
	for i := range list {
		v := &list[i]
		idx := fldPath.Index(i)
		el := volumeSource(&v.VolumeSource, v.Name, podMeta, idx)
		if v.Name == "" {
			el = append(el, field.Required(idx.Child("name"), ""))
		} else {
			el = append(el, dnsLabel(v.Name, idx.Child("name"))...)
		}
		if seen[v.Name] {
			el = append(el, field.Duplicate(idx.Child("name"), v.Name))
		}
		if len(el) == 0 {
			seen[v.Name] = true
			valid[v.Name] = v.VolumeSource
		}
		errs = append(errs, el...)
		if v.PersistentVolumeClaim != nil && ephemeralPVCs[v.PersistentVolumeClaim.ClaimName] {
			errs = append(errs, field.Invalid(idx.Child("persistentVolumeClaim", "claimName"), v.PersistentVolumeClaim.ClaimName,
				"must not reference a PVC that gets created for an ephemeral volume"))
		}
	}
	return valid, errs
}

// volumeSource checks that exactly one source is set and validates it. The
// common sources are checked in depth; the legacy in-tree cloud and
// network drivers only take part in the "exactly one" rule.
func volumeSource(s *corev1.VolumeSource, volName string, podMeta *metav1.ObjectMeta, fldPath *field.Path) field.ErrorList {
	entries := []sourceEntry{
		{"emptyDir", s.EmptyDir != nil, func() field.ErrorList { return emptyDir(s.EmptyDir, fldPath.Child("emptyDir")) }},
		{"hostPath", s.HostPath != nil, func() field.ErrorList { return hostPath(s.HostPath, fldPath.Child("hostPath")) }},
		{"gitRepo", s.GitRepo != nil, func() field.ErrorList { return gitRepo(s.GitRepo, fldPath.Child("gitRepo")) }},
		{"gcePersistentDisk", s.GCEPersistentDisk != nil, nil},
		{"awsElasticBlockStore", s.AWSElasticBlockStore != nil, nil},
		{"secret", s.Secret != nil, func() field.ErrorList { return secretVolume(s.Secret, fldPath.Child("secret")) }},
		{"nfs", s.NFS != nil, func() field.ErrorList { return nfs(s.NFS.Server, s.NFS.Path, fldPath.Child("nfs")) }},
		{"iscsi", s.ISCSI != nil, nil},
		{"glusterfs", s.Glusterfs != nil, nil},
		{"flocker", s.Flocker != nil, nil},
		{"persistentVolumeClaim", s.PersistentVolumeClaim != nil, func() field.ErrorList {
			if s.PersistentVolumeClaim.ClaimName == "" {
				return field.ErrorList{field.Required(fldPath.Child("persistentVolumeClaim", "claimName"), "")}
			}
			return nil
		}},
		{"rbd", s.RBD != nil, nil},
		{"cinder", s.Cinder != nil, nil},
		{"cephFS", s.CephFS != nil, nil},
		{"quobyte", s.Quobyte != nil, nil},
		{"downwarAPI", s.DownwardAPI != nil, func() field.ErrorList { return downwardAPIVolume(s.DownwardAPI, fldPath.Child("downwardAPI")) }},
		{"fc", s.FC != nil, nil},
		{"flexVolume", s.FlexVolume != nil, nil},
		{"configMap", s.ConfigMap != nil, func() field.ErrorList { return configMapVolume(s.ConfigMap, fldPath.Child("configMap")) }},
		{"azureFile", s.AzureFile != nil, nil},
		{"vsphereVolume", s.VsphereVolume != nil, nil},
		{"photonPersistentDisk", s.PhotonPersistentDisk != nil, nil},
		{"portworxVolume", s.PortworxVolume != nil, nil},
		{"azureDisk", s.AzureDisk != nil, nil},
		{"storageos", s.StorageOS != nil, nil},
		{"projected", s.Projected != nil, func() field.ErrorList { return projected(s.Projected, fldPath.Child("projected")) }},
		{"scaleIO", s.ScaleIO != nil, nil},
		{"csi", s.CSI != nil, func() field.ErrorList { return csiVolume(s.CSI, fldPath.Child("csi")) }},
		{"ephemeral", s.Ephemeral != nil, func() field.ErrorList { return ephemeral(s.Ephemeral, volName, podMeta, fldPath) }},
		{"image", s.Image != nil, func() field.ErrorList { return imageVolume(s.Image, fldPath.Child("image")) }},
	}
	return oneSource(entries, fldPath)
}

// emptyDir checks the size limit and directory mode.
func emptyDir(e *corev1.EmptyDirVolumeSource, fldPath *field.Path) field.ErrorList {
	var errs field.ErrorList
	if e.SizeLimit != nil && e.SizeLimit.Cmp(resource.Quantity{}) < 0 {
		errs = append(errs, field.Forbidden(fldPath.Child("sizeLimit"), "SizeLimit field must be a valid resource quantity"))
	}
	if e.Mode != nil && (*e.Mode > 01777 || *e.Mode < 0) {
		errs = append(errs, field.Invalid(fldPath.Child("mode"), *e.Mode, emptyDirModeMsg))
	}
	return errs
}

// hostPath requires a path without ".." and a known type.
func hostPath(h *corev1.HostPathVolumeSource, fldPath *field.Path) field.ErrorList {
	if h.Path == "" {
		return field.ErrorList{field.Required(fldPath.Child("path"), "")}
	}
	errs := noBacksteps(h.Path, fldPath.Child("path"))
	if h.Type != nil {
		allowed := []corev1.HostPathType{
			corev1.HostPathUnset, corev1.HostPathBlockDev, corev1.HostPathCharDev, corev1.HostPathDirectory,
			corev1.HostPathDirectoryOrCreate, corev1.HostPathFile, corev1.HostPathFileOrCreate, corev1.HostPathSocket,
		}
		ok := false
		for _, a := range allowed {
			ok = ok || *h.Type == a
		}
		if !ok {
			errs = append(errs, field.NotSupported(fldPath.Child("type"), h.Type, allowed))
		}
	}
	return errs
}

// gitRepo requires a repository and a relative directory.
func gitRepo(g *corev1.GitRepoVolumeSource, fldPath *field.Path) field.ErrorList {
	var errs field.ErrorList
	if g.Repository == "" {
		errs = append(errs, field.Required(fldPath.Child("repository"), ""))
	}
	return append(errs, localDescendingPath(g.Directory, fldPath.Child("directory"))...)
}

// nfs requires a server and an absolute export path.
func nfs(server, exportPath string, fldPath *field.Path) field.ErrorList {
	var errs field.ErrorList
	if server == "" {
		errs = append(errs, field.Required(fldPath.Child("server"), ""))
	}
	if exportPath == "" {
		errs = append(errs, field.Required(fldPath.Child("path"), ""))
	}
	if len(exportPath) == 0 || exportPath[0] != '/' {
		errs = append(errs, field.Invalid(fldPath.Child("path"), exportPath, "must be an absolute path"))
	}
	return errs
}

// csiVolume checks the driver name and the optional secret reference.
func csiVolume(c *corev1.CSIVolumeSource, fldPath *field.Path) field.ErrorList {
	errs := csiDriverName(c.Driver, fldPath.Child("driver"))
	if ref := c.NodePublishSecretRef; ref != nil {
		if ref.Name == "" {
			errs = append(errs, field.Required(fldPath.Child("nodePublishSecretRef", "name"), ""))
		} else {
			errs = append(errs, objectName(apimachineryvalidation.NameIsDNSSubdomain, ref.Name, fldPath.Child("name"))...)
		}
	}
	return errs
}

// csiDriverName requires a DNS subdomain of at most 63 characters.
func csiDriverName(name string, fldPath *field.Path) field.ErrorList {
	if name == "" {
		return field.ErrorList{field.Required(fldPath, "")}
	}
	var errs field.ErrorList
	if len(name) > 63 {
		errs = append(errs, field.TooLong(fldPath, "", 63))
	}
	return append(errs, dnsSubdomain(strings.ToLower(name), fldPath)...)
}

// ephemeral checks the claim template and that the generated PVC name
// (<pod>-<volume>) is a valid object name.
func ephemeral(e *corev1.EphemeralVolumeSource, volName string, podMeta *metav1.ObjectMeta, fldPath *field.Path) field.ErrorList {
	p := fldPath.Child("ephemeral")
	if e.VolumeClaimTemplate == nil {
		return field.ErrorList{field.Required(p.Child("volumeClaimTemplate"), "")}
	}
	tp := p.Child("volumeClaimTemplate")
	errs := templateObjectMeta(&e.VolumeClaimTemplate.ObjectMeta, tp.Child("metadata"))
	errs = append(errs, pvcSpec(&e.VolumeClaimTemplate.Spec, tp.Child("spec"))...)
	if podMeta != nil && podMeta.Name != "" && volName != "" {
		pvcName := podMeta.Name + "-" + volName
		for _, m := range apimachineryvalidation.NameIsDNSSubdomain(pvcName, false) {
			errs = append(errs, field.Invalid(fldPath.Child("name"), volName, fmt.Sprintf("PVC name %q: %v", pvcName, m)))
		}
	}
	return errs
}

// imageVolume requires an image reference and a valid pull policy.
func imageVolume(i *corev1.ImageVolumeSource, fldPath *field.Path) field.ErrorList {
	var errs field.ErrorList
	if i.Reference == "" {
		errs = append(errs, field.Required(fldPath.Child("reference"), ""))
	}
	return append(errs, pullPolicy(i.PullPolicy, fldPath.Child("pullPolicy"))...)
}
