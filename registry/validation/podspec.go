package validation

import (
	"fmt"
	"math"
	"reflect"
	"strings"

	corev1 "k8s.io/api/core/v1"
	apimachineryvalidation "k8s.io/apimachinery/pkg/api/validation"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	metav1validation "k8s.io/apimachinery/pkg/apis/meta/v1/validation"
	utilvalidation "k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// DNS configuration limits enforced by the API server.
const (
	maxDNSNameservers     = 3
	maxDNSSearchPaths     = 32
	maxDNSSearchListChars = 2048
)

// PodSpec validates a pod spec embedded at fldPath. meta is the owning
// object's metadata, used to derive the names of ephemeral volume claims;
// it may be nil for templates. PodSpec applies the rules shared by pods and
// pod templates; Pod adds the pod-only rules on top.
func PodSpec(spec *corev1.PodSpec, meta *metav1.ObjectMeta, fldPath *field.Path) field.ErrorList {
	return podSpec(spec, meta, false, fldPath)
}

// PodTemplateSpec validates a pod template embedded at fldPath: its labels
// and annotations, the pod spec, and that it has no ephemeral containers.
// Like upstream, label errors are reported at fldPath.labels.
func PodTemplateSpec(spec *corev1.PodTemplateSpec, fldPath *field.Path) field.ErrorList {
	errs := metav1validation.ValidateLabels(spec.Labels, fldPath.Child("labels"))
	errs = append(errs, apimachineryvalidation.ValidateAnnotations(spec.Annotations, fldPath.Child("annotations"))...)
	errs = append(errs, PodSpec(&spec.Spec, nil, fldPath.Child("spec"))...)
	if len(spec.Spec.EphemeralContainers) > 0 {
		errs = append(errs, field.Forbidden(fldPath.Child("spec", "ephemeralContainers"), "ephemeral containers not allowed in pod template"))
	}
	return errs
}

// templateObjectMeta allows only labels and annotations in an embedded
// object template.
func templateObjectMeta(meta *metav1.ObjectMeta, fldPath *field.Path) field.ErrorList {
	errs := apimachineryvalidation.ValidateAnnotations(meta.Annotations, fldPath.Child("annotations"))
	errs = append(errs, metav1validation.ValidateLabels(meta.Labels, fldPath.Child("labels"))...)
	rest := *meta
	rest.Labels, rest.Annotations = nil, nil
	if !reflect.DeepEqual(rest, metav1.ObjectMeta{}) {
		errs = append(errs, field.Forbidden(fldPath, "cannot be set"))
	}
	return errs
}

// podSpec is PodSpec; isPod enables the checks upstream only applies to
// real pods (hostNetwork port matching).
func podSpec(spec *corev1.PodSpec, meta *metav1.ObjectMeta, isPod bool, fldPath *field.Path) field.ErrorList {
	var errs field.ErrorList
	if spec.TerminationGracePeriodSeconds == nil {
		errs = append(errs, field.Required(fldPath.Child("terminationGracePeriodSeconds"), ""))
	}
	hostUsers := spec.HostUsers == nil || *spec.HostUsers
	vols, vErrs := volumes(spec.Volumes, meta, fldPath.Child("volumes"))
	errs = append(errs, vErrs...)
	claims, cErrs := resourceClaims(spec.ResourceClaims, fldPath.Child("resourceClaims"))
	errs = append(errs, cErrs...)
	pc := &podContext{volumes: vols, claims: claims, gracePeriod: spec.TerminationGracePeriodSeconds, os: spec.OS, hostUsers: hostUsers}
	errs = append(errs, containers(spec.Containers, pc, fldPath.Child("containers"))...)
	errs = append(errs, initContainers(spec.InitContainers, spec.Containers, pc, fldPath.Child("initContainers"))...)
	errs = append(errs, ephemeralContainers(spec, pc, fldPath.Child("ephemeralContainers"))...)
	if spec.HostNetwork {
		for i, c := range spec.Containers {
			for j, p := range c.Ports {
				if (isPod || p.HostPort != 0) && p.HostPort != p.ContainerPort {
					errs = append(errs, field.Invalid(fldPath.Child("containers").Index(i).Child("ports").Index(j).Child("hostPort"), p.HostPort, "must match `containerPort` when `hostNetwork` is true"))
				}
			}
		}
	}
	errs = append(errs, oneOf(spec.RestartPolicy, []corev1.RestartPolicy{corev1.RestartPolicyAlways, corev1.RestartPolicyOnFailure, corev1.RestartPolicyNever}, fldPath.Child("restartPolicy"))...)
	errs = append(errs, oneOf(spec.DNSPolicy, []corev1.DNSPolicy{corev1.DNSClusterFirstWithHostNet, corev1.DNSClusterFirst, corev1.DNSDefault, corev1.DNSNone}, fldPath.Child("dnsPolicy"))...)
	errs = append(errs, metav1validation.ValidateLabels(spec.NodeSelector, fldPath.Child("nodeSelector"))...)
	errs = append(errs, podSecurityContext(spec.SecurityContext, fldPath.Child("securityContext"))...)
	if spec.ShareProcessNamespace != nil && *spec.ShareProcessNamespace && spec.HostPID {
		errs = append(errs, field.Invalid(fldPath.Child("shareProcessNamespace"), *spec.ShareProcessNamespace, "ShareProcessNamespace and HostPID cannot both be enabled"))
	}
	for i, s := range spec.ImagePullSecrets {
		if !reflect.DeepEqual(s, corev1.LocalObjectReference{Name: s.Name}) {
			errs = append(errs, field.Invalid(fldPath.Child("imagePullSecrets").Index(i), s, "only name may be set"))
		}
	}
	errs = append(errs, affinity(spec.Affinity, fldPath.Child("affinity"))...)
	errs = append(errs, dnsConfig(spec.DNSConfig, spec.DNSPolicy, fldPath.Child("dnsConfig"))...)
	for i, g := range spec.ReadinessGates {
		errs = append(errs, qualifiedName(string(g.ConditionType), fldPath.Child("readinessGates").Index(i).Child("conditionType"))...)
	}
	gates := map[string]bool{}
	for i, g := range spec.SchedulingGates {
		p := fldPath.Child("schedulingGates").Index(i)
		errs = append(errs, qualifiedName(g.Name, p)...)
		if gates[g.Name] {
			errs = append(errs, field.Duplicate(p, g.Name))
		}
		gates[g.Name] = true
	}
	errs = append(errs, topologySpread(spec.TopologySpreadConstraints, fldPath.Child("topologySpreadConstraints"))...)
	errs = append(errs, hostUsersRules(spec, fldPath)...)
	errs = append(errs, hostnameOverride(spec, fldPath.Child("hostnameOverride"))...)
	return append(errs, podSpecNames(spec, fldPath)...)
}

// podSpecNames checks the fields that name other objects or the pod itself,
// and the remaining scalar fields.
func podSpecNames(spec *corev1.PodSpec, fldPath *field.Path) field.ErrorList {
	var errs field.ErrorList
	subdomain := apimachineryvalidation.NameIsDNSSubdomain
	if spec.ServiceAccountName != "" {
		errs = append(errs, objectName(subdomain, spec.ServiceAccountName, fldPath.Child("serviceAccountName"))...)
	}
	if spec.DeprecatedServiceAccount != spec.ServiceAccountName { //nolint:staticcheck // must mirror serviceAccountName
		errs = append(errs, field.Invalid(fldPath.Child("deprecatedServiceAccount"), spec.DeprecatedServiceAccount, mustMatchMsg("serviceAccountName", spec.ServiceAccountName))) //nolint:staticcheck
	}
	if spec.NodeName != "" {
		errs = append(errs, objectName(subdomain, spec.NodeName, fldPath.Child("nodeName"))...)
	}
	if d := spec.ActiveDeadlineSeconds; d != nil && (*d < 1 || *d > math.MaxInt32) {
		errs = append(errs, field.Invalid(fldPath.Child("activeDeadlineSeconds"), *d, inRangeMsg(1, math.MaxInt32)))
	}
	if spec.Hostname != "" {
		errs = append(errs, dnsLabel(spec.Hostname, fldPath.Child("hostname"))...)
	}
	if spec.Subdomain != "" {
		errs = append(errs, dnsLabel(spec.Subdomain, fldPath.Child("subdomain"))...)
	}
	errs = append(errs, tolerations(spec.Tolerations, fldPath.Child("tolerations"))...)
	for i, ha := range spec.HostAliases {
		p := fldPath.Child("hostAliases").Index(i)
		errs = append(errs, utilvalidation.IsValidIPForLegacyField(p.Child("ip"), ha.IP, true, nil)...)
		for j, h := range ha.Hostnames {
			errs = append(errs, dnsSubdomain(h, p.Child("hostnames").Index(j))...)
		}
	}
	if spec.PriorityClassName != "" {
		errs = append(errs, objectName(subdomain, spec.PriorityClassName, fldPath.Child("priorityClassName"))...)
	}
	if spec.RuntimeClassName != nil {
		errs = append(errs, objectName(subdomain, *spec.RuntimeClassName, fldPath.Child("runtimeClassName"))...)
	}
	if spec.PreemptionPolicy != nil {
		errs = append(errs, oneOf(*spec.PreemptionPolicy, []corev1.PreemptionPolicy{corev1.PreemptLowerPriority, corev1.PreemptNever}, fldPath.Child("preemptionPolicy"))...)
	}
	if spec.Overhead != nil {
		errs = append(errs, resourceRequirements(&corev1.ResourceRequirements{Limits: spec.Overhead}, nil, fldPath.Child("overhead"))...)
	}
	if spec.OS != nil {
		if spec.OS.Name == "" {
			errs = append(errs, field.Required(fldPath.Child("os", "name"), ""))
		} else if spec.OS.Name != corev1.Linux && spec.OS.Name != corev1.Windows {
			errs = append(errs, field.NotSupported(fldPath.Child("os"), spec.OS.Name, []corev1.OSName{corev1.Linux, corev1.Windows}))
		}
	}
	return errs
}

// dnsConfig checks nameservers, search domains and options; dnsPolicy None
// requires a config with at least one nameserver.
func dnsConfig(c *corev1.PodDNSConfig, policy corev1.DNSPolicy, fldPath *field.Path) field.ErrorList {
	if policy == corev1.DNSNone {
		if c == nil {
			return field.ErrorList{field.Required(fldPath, fmt.Sprintf("must provide `dnsConfig` when `dnsPolicy` is %s", corev1.DNSNone))}
		}
		if len(c.Nameservers) == 0 {
			return field.ErrorList{field.Required(fldPath.Child("nameservers"), fmt.Sprintf("must provide at least one DNS nameserver when `dnsPolicy` is %s", corev1.DNSNone))}
		}
	}
	if c == nil {
		return nil
	}
	var errs field.ErrorList
	if len(c.Nameservers) > maxDNSNameservers {
		errs = append(errs, field.Invalid(fldPath.Child("nameservers"), c.Nameservers, fmt.Sprintf("must not have more than %v nameservers", maxDNSNameservers)))
	}
	for i, ns := range c.Nameservers {
		errs = append(errs, utilvalidation.IsValidIPForLegacyField(fldPath.Child("nameservers").Index(i), ns, true, nil)...)
	}
	if len(c.Searches) > maxDNSSearchPaths {
		errs = append(errs, field.Invalid(fldPath.Child("searches"), c.Searches, fmt.Sprintf("must not have more than %v search paths", maxDNSSearchPaths)))
	}
	if len(strings.Join(c.Searches, " ")) > maxDNSSearchListChars {
		errs = append(errs, field.Invalid(fldPath.Child("searches"), c.Searches, fmt.Sprintf("must not have more than %v characters (including spaces) in the search list", maxDNSSearchListChars)))
	}
	for i, s := range c.Searches {
		if s != "." {
			s = strings.TrimSuffix(s, ".")
			errs = append(errs, msgs(fldPath.Child("searches").Index(i), s, utilvalidation.IsDNS1123SubdomainWithUnderscore(s))...)
		}
	}
	for i, o := range c.Options {
		if o.Name == "" {
			errs = append(errs, field.Required(fldPath.Child("options").Index(i), "must not be empty"))
		}
	}
	return errs
}

// hostUsersRules forbids host namespaces and volume devices in user
// namespaced pods (hostUsers: false).
func hostUsersRules(spec *corev1.PodSpec, fldPath *field.Path) field.ErrorList {
	if spec.HostUsers == nil || *spec.HostUsers {
		return nil
	}
	var errs field.ErrorList
	const msg = "when `hostUsers` is false"
	if spec.HostNetwork {
		errs = append(errs, field.Forbidden(fldPath.Child("hostNetwork"), msg))
	}
	if spec.HostPID {
		errs = append(errs, field.Forbidden(fldPath.Child("HostPID"), msg))
	}
	if spec.HostIPC {
		errs = append(errs, field.Forbidden(fldPath.Child("HostIPC"), msg))
	}
	for i, c := range spec.InitContainers {
		if len(c.VolumeDevices) > 0 {
			errs = append(errs, field.Forbidden(fldPath.Child("initContainers").Index(i).Child("volumeDevices"), msg))
		}
	}
	for i, c := range spec.Containers {
		if len(c.VolumeDevices) > 0 {
			errs = append(errs, field.Forbidden(fldPath.Child("containers").Index(i).Child("volumeDevices"), msg))
		}
	}
	return errs
}

// hostnameOverride checks the optional hostname override.
func hostnameOverride(spec *corev1.PodSpec, fldPath *field.Path) field.ErrorList {
	h := spec.HostnameOverride
	if h == nil {
		return nil
	}
	var errs field.ErrorList
	if spec.SetHostnameAsFQDN != nil && *spec.SetHostnameAsFQDN {
		errs = append(errs, field.Forbidden(fldPath, "may not be specified when setHostnameAsFQDN is true"))
	}
	if spec.HostNetwork {
		errs = append(errs, field.Forbidden(fldPath, "may not be specified when hostNetwork is true"))
	}
	if len(*h) > 64 {
		errs = append(errs, field.TooLong(fldPath, "", 64))
	}
	return append(errs, dnsSubdomain(*h, fldPath)...)
}

// resourceClaims checks pod-level DRA claims and returns their names.
func resourceClaims(list []corev1.PodResourceClaim, fldPath *field.Path) (map[string]bool, field.ErrorList) {
	var errs field.ErrorList
	names := map[string]bool{}
	for i, c := range list {
		p := fldPath.Index(i)
		switch {
		case c.Name == "":
			errs = append(errs, field.Required(p.Child("name"), ""))
		case names[c.Name]:
			errs = append(errs, field.Duplicate(p.Child("name"), c.Name))
		default:
			errs = append(errs, dnsLabel(c.Name, p.Child("name"))...)
			names[c.Name] = true
		}
		if (c.ResourceClaimName == nil) == (c.ResourceClaimTemplateName == nil) {
			msg := "must specify one of: `resourceClaimName`, `resourceClaimTemplateName`"
			if c.ResourceClaimName != nil {
				msg = "at most one of `resourceClaimName` or `resourceClaimTemplateName` may be specified"
			}
			errs = append(errs, field.Invalid(p, c, msg))
		}
	}
	return names, errs
}

// ephemeralContainers applies the common container rules to debug
// containers and keeps their names unique across the pod.
func ephemeralContainers(spec *corev1.PodSpec, pc *podContext, fldPath *field.Path) field.ErrorList {
	var errs field.ErrorList
	names := map[string]bool{}
	for _, c := range spec.Containers {
		names[c.Name] = true
	}
	for _, c := range spec.InitContainers {
		names[c.Name] = true
	}
	for i := range spec.EphemeralContainers {
		ec := &spec.EphemeralContainers[i]
		p := fldPath.Index(i)
		c := corev1.Container(ec.EphemeralContainerCommon)
		errs = append(errs, containerCommon(&c, pc, p)...)
		if names[ec.Name] {
			errs = append(errs, field.Duplicate(p.Child("name"), ec.Name))
		}
		names[ec.Name] = true
		if ec.TargetContainerName != "" && !names[ec.TargetContainerName] {
			errs = append(errs, field.NotFound(p.Child("targetContainerName"), ec.TargetContainerName))
		}
	}
	return errs
}
