package validation

import (
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"

	resourcev1 "k8s.io/api/resource/v1"
	apimachineryvalidation "k8s.io/apimachinery/pkg/api/validation"
	metav1validation "k8s.io/apimachinery/pkg/apis/meta/v1/validation"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// The upper bounds of a claim's lists, as upstream (resource.k8s.io/v1 names
// most of them; the JSON limit of opaque parameters too).
const (
	maxDeviceRequests         = resourcev1.DeviceRequestsMaxSize
	maxSubRequests            = resourcev1.FirstAvailableDeviceRequestMaxSize
	maxDeviceSelectors        = resourcev1.DeviceSelectorsMaxSize
	maxDeviceTolerations      = resourcev1.DeviceTolerationsMaxLength
	maxDeviceConstraints      = resourcev1.DeviceConstraintsMaxSize
	maxDeviceConfigs          = resourcev1.DeviceConfigMaxSize
	maxAllocationResults      = resourcev1.AllocationResultsMaxSize
	maxReservedFor            = resourcev1.ResourceClaimReservedForMaxSize
	maxOpaqueParametersLength = resourcev1.OpaqueParametersMaxLength
	maxDeviceStatusDataLength = resourcev1.AllocatedDeviceStatusDataMaxLength
)

const requestRefMsg = "must be the name of a request in the claim or the name of a request and a subrequest separated by '/'"

// ResourceClaim validates a ResourceClaim on create: a DNS subdomain name and
// the device requests, constraints and configuration of its spec.
func ResourceClaim(c *resourcev1.ResourceClaim) field.ErrorList {
	errs := objectMeta(&c.ObjectMeta, true, apimachineryvalidation.NameIsDNSSubdomain)
	return append(errs, deviceClaim(&c.Spec.Devices, field.NewPath("spec", "devices"))...)
}

// ResourceClaimUpdate validates a ResourceClaim update: the spec is
// immutable, so only the metadata can change.
func ResourceClaimUpdate(c, old *resourcev1.ResourceClaim) field.ErrorList {
	errs := objectMeta(&c.ObjectMeta, true, apimachineryvalidation.NameIsDNSSubdomain)
	errs = append(errs, objectMetaUpdate(&c.ObjectMeta, &old.ObjectMeta)...)
	return append(errs, immutable(c.Spec, old.Spec, field.NewPath("spec"))...)
}

// ResourceClaimStatusUpdate validates a status update of a ResourceClaim:
// consumers need an allocation and are unique; once set, the allocation
// never changes (it may only be cleared); a new allocation refers to the
// claim's requests; device statuses are unique.
func ResourceClaimStatusUpdate(c, old *resourcev1.ResourceClaim) field.ErrorList {
	errs := objectMetaUpdate(&c.ObjectMeta, &old.ObjectMeta)
	fldPath := field.NewPath("status")
	status, oldStatus := &c.Status, &old.Status
	names := requestNamesOf(&c.Spec.Devices)

	errs = append(errs, uniqueList(status.ReservedFor, maxReservedFor, consumerRef,
		func(r resourcev1.ResourceClaimConsumerReference) types.UID { return r.UID }, fldPath.Child("reservedFor"))...)
	if len(status.ReservedFor) > 0 {
		if status.Allocation == nil {
			errs = append(errs, field.Forbidden(fldPath.Child("reservedFor"), "may not be specified when `allocated` is not set"))
		} else if c.DeletionTimestamp != nil {
			had := map[resourcev1.ResourceClaimConsumerReference]bool{}
			for _, r := range oldStatus.ReservedFor {
				had[r] = true
			}
			for _, r := range status.ReservedFor {
				if !had[r] {
					errs = append(errs, field.Forbidden(fldPath.Child("reservedFor"), "new entries may not be added while `deallocationRequested` or `deletionTimestamp` are set"))
					break
				}
			}
		}
	}

	switch {
	case status.Allocation != nil && oldStatus.Allocation != nil:
		// What was stored is not validated again: later rules may be tighter.
		errs = append(errs, immutable(status.Allocation, oldStatus.Allocation, fldPath.Child("allocation"))...)
	case status.Allocation != nil:
		errs = append(errs, allocationResult(status.Allocation, names, fldPath.Child("allocation"))...)
	}

	allocated := map[string]bool{}
	if status.Allocation != nil {
		for _, r := range status.Allocation.Devices.Results {
			allocated[deviceKey(r.Driver, r.Pool, r.Device, (*string)(r.ShareID))] = true
		}
	}
	errs = append(errs, uniqueList(status.Devices, -1,
		func(d resourcev1.AllocatedDeviceStatus, p *field.Path) field.ErrorList {
			return allocatedDeviceStatus(d, allocated, p)
		},
		func(d resourcev1.AllocatedDeviceStatus) string {
			return deviceKey(d.Driver, d.Pool, d.Device, d.ShareID)
		},
		fldPath.Child("devices"))...)
	return errs
}

// ResourceClaimTemplate validates a ResourceClaimTemplate on create: the
// labels and annotations of the claims it makes and their spec.
func ResourceClaimTemplate(t *resourcev1.ResourceClaimTemplate) field.ErrorList {
	errs := objectMeta(&t.ObjectMeta, true, apimachineryvalidation.NameIsDNSSubdomain)
	mp := field.NewPath("spec", "metadata")
	errs = append(errs, apimachineryvalidation.ValidateAnnotations(t.Spec.Annotations, mp.Child("annotations"))...)
	errs = append(errs, metav1validation.ValidateLabels(t.Spec.Labels, mp.Child("labels"))...)
	return append(errs, deviceClaim(&t.Spec.Spec.Devices, field.NewPath("spec", "spec", "devices"))...)
}

// ResourceClaimTemplateUpdate validates a ResourceClaimTemplate update: the
// spec is immutable.
func ResourceClaimTemplateUpdate(t, old *resourcev1.ResourceClaimTemplate) field.ErrorList {
	errs := objectMetaUpdate(&t.ObjectMeta, &old.ObjectMeta)
	return append(errs, immutable(t.Spec, old.Spec, field.NewPath("spec"))...)
}

// requestNames maps each request of a claim to the names of its
// subrequests (nil for a request without alternatives).
type requestNames map[string]map[string]bool

func requestNamesOf(c *resourcev1.DeviceClaim) requestNames {
	names := requestNames{}
	for _, r := range c.Requests {
		var subs map[string]bool
		if len(r.FirstAvailable) > 0 {
			subs = map[string]bool{}
			for _, s := range r.FirstAvailable {
				subs[s.Name] = true
			}
		}
		names[r.Name] = subs
	}
	return names
}

// has reports whether ref names a request ("gpu") or one of its
// subrequests ("gpu/large").
func (n requestNames) has(ref string) bool {
	req, sub, nested := strings.Cut(ref, "/")
	subs, ok := n[req]
	if !ok || !nested {
		return ok
	}
	return subs[sub]
}

func deviceClaim(c *resourcev1.DeviceClaim, fldPath *field.Path) field.ErrorList {
	names := requestNamesOf(c)
	errs := uniqueList(c.Requests, maxDeviceRequests, deviceRequest,
		func(r resourcev1.DeviceRequest) string { return r.Name }, fldPath.Child("requests"))
	errs = append(errs, list(c.Constraints, maxDeviceConstraints,
		func(con resourcev1.DeviceConstraint, p *field.Path) field.ErrorList {
			return deviceConstraint(con, names, p)
		},
		fldPath.Child("constraints"))...)
	errs = append(errs, list(c.Config, maxDeviceConfigs,
		func(cfg resourcev1.DeviceClaimConfiguration, p *field.Path) field.ErrorList {
			errs := requestRefs(cfg.Requests, names, p.Child("requests"))
			return append(errs, deviceConfiguration(cfg.DeviceConfiguration, p)...)
		}, fldPath.Child("config"))...)
	return errs
}

// deviceRequest checks a request: exactly one of a plain request
// ("exactly") and a list of alternatives ("firstAvailable").
func deviceRequest(r resourcev1.DeviceRequest, fldPath *field.Path) field.ErrorList {
	errs := dnsLabel(r.Name, fldPath.Child("name"))
	switch exact, alternatives := r.Exactly != nil, len(r.FirstAvailable) > 0; {
	case exact && alternatives:
		errs = append(errs, field.Invalid(fldPath, nil, "exactly one of `exactly` or `firstAvailable` is required, but multiple fields are set"))
	case exact:
		e := r.Exactly
		p := fldPath.Child("exactly")
		errs = append(errs, deviceClassRef(e.DeviceClassName, p.Child("deviceClassName"))...)
		errs = append(errs, deviceSelectors(e.Selectors, p.Child("selectors"))...)
		errs = append(errs, allocationMode(e.AllocationMode, e.Count, p)...)
		errs = append(errs, deviceTolerations(e.Tolerations, p.Child("tolerations"))...)
		errs = append(errs, capacityRequests(e.Capacity, p.Child("capacity"))...)
	case alternatives:
		errs = append(errs, uniqueList(r.FirstAvailable, maxSubRequests, deviceSubRequest,
			func(s resourcev1.DeviceSubRequest) string { return s.Name }, fldPath.Child("firstAvailable"))...)
	default:
		errs = append(errs, field.Required(fldPath, "exactly one of `exactly` or `firstAvailable` is required"))
	}
	return errs
}

func deviceSubRequest(s resourcev1.DeviceSubRequest, fldPath *field.Path) field.ErrorList {
	errs := dnsLabel(s.Name, fldPath.Child("name"))
	errs = append(errs, deviceClassRef(s.DeviceClassName, fldPath.Child("deviceClassName"))...)
	errs = append(errs, deviceSelectors(s.Selectors, fldPath.Child("selectors"))...)
	errs = append(errs, allocationMode(s.AllocationMode, s.Count, fldPath)...)
	errs = append(errs, deviceTolerations(s.Tolerations, fldPath.Child("tolerations"))...)
	return append(errs, capacityRequests(s.Capacity, fldPath.Child("capacity"))...)
}

func deviceClassRef(name string, fldPath *field.Path) field.ErrorList {
	if name == "" {
		return field.ErrorList{field.Required(fldPath, "")}
	}
	return dnsSubdomain(name, fldPath)
}

// allocationMode: ExactCount needs a positive count, All none.
func allocationMode(mode resourcev1.DeviceAllocationMode, count int64, fldPath *field.Path) field.ErrorList {
	switch mode {
	case resourcev1.DeviceAllocationModeAll:
		if count != 0 {
			return field.ErrorList{field.Invalid(fldPath.Child("count"), count, fmt.Sprintf("must not be specified when allocationMode is '%s'", mode))}
		}
	case resourcev1.DeviceAllocationModeExactCount:
		if count <= 0 {
			return field.ErrorList{field.Invalid(fldPath.Child("count"), count, notPositiveMsg)}
		}
	default:
		return field.ErrorList{field.NotSupported(fldPath.Child("allocationMode"), mode,
			[]resourcev1.DeviceAllocationMode{resourcev1.DeviceAllocationModeAll, resourcev1.DeviceAllocationModeExactCount})}
	}
	return nil
}

func capacityRequests(c *resourcev1.CapacityRequirements, fldPath *field.Path) field.ErrorList {
	if c == nil {
		return nil
	}
	var errs field.ErrorList
	for _, name := range slices.Sorted(maps.Keys(c.Requests)) {
		p := fldPath.Child("requests").Key(string(name))
		errs = append(errs, deviceQualifiedName(name, p)...)
		errs = append(errs, nonNegativeQuantity(c.Requests[name], p)...)
	}
	return errs
}

// deviceConstraint needs exactly one attribute to match or to keep distinct
// and refers to requests of the claim.
func deviceConstraint(c resourcev1.DeviceConstraint, names requestNames, fldPath *field.Path) field.ErrorList {
	errs := requestRefs(c.Requests, names, fldPath.Child("requests"))
	switch {
	case c.MatchAttribute != nil && c.DistinctAttribute != nil:
		errs = append(errs, field.Invalid(fldPath, nil, `exactly one of "matchAttribute" or "distinctAttribute" is required, but multiple fields are set`))
	case c.MatchAttribute != nil:
		errs = append(errs, fullyQualifiedName(*c.MatchAttribute, fldPath.Child("matchAttribute"))...)
	case c.DistinctAttribute != nil:
		errs = append(errs, fullyQualifiedName(*c.DistinctAttribute, fldPath.Child("distinctAttribute"))...)
	default:
		errs = append(errs, field.Required(fldPath, `exactly one of "matchAttribute" or "distinctAttribute" is required`))
	}
	return errs
}

// requestRefs checks unique references to requests ("req" or "req/sub").
func requestRefs(refs []string, names requestNames, fldPath *field.Path) field.ErrorList {
	return uniqueList(refs, maxDeviceRequests, func(ref string, p *field.Path) field.ErrorList {
		return requestRef(ref, names, p)
	}, func(ref string) string { return ref }, fldPath)
}

func requestRef(ref string, names requestNames, fldPath *field.Path) field.ErrorList {
	parts := strings.Split(ref, "/")
	if len(parts) > 2 {
		return field.ErrorList{field.Invalid(fldPath, ref, requestRefMsg)}
	}
	var errs field.ErrorList
	for _, part := range parts {
		errs = append(errs, dnsLabel(part, fldPath)...)
	}
	if !names.has(ref) {
		errs = append(errs, field.Invalid(fldPath, ref, requestRefMsg))
	}
	return errs
}

// deviceConfiguration needs opaque, driver-specific parameters.
func deviceConfiguration(c resourcev1.DeviceConfiguration, fldPath *field.Path) field.ErrorList {
	if c.Opaque == nil {
		return field.ErrorList{field.Required(fldPath.Child("opaque"), "")}
	}
	p := fldPath.Child("opaque")
	errs := csiDriverName(c.Opaque.Driver, p.Child("driver"))
	return append(errs, jsonObject(c.Opaque.Parameters, maxOpaqueParametersLength, p.Child("parameters"))...)
}

// jsonObject requires raw to hold a JSON object of at most maxLen bytes.
func jsonObject(raw runtime.RawExtension, maxLen int, fldPath *field.Path) field.ErrorList {
	if len(raw.Raw) == 0 {
		return field.ErrorList{field.Required(fldPath, "")}
	}
	if len(raw.Raw) > maxLen {
		return field.ErrorList{field.TooLong(fldPath, "", maxLen)}
	}
	var v any
	if err := json.Unmarshal(raw.Raw, &v); err != nil {
		return field.ErrorList{field.Invalid(fldPath, "<value omitted>", "error parsing data as JSON: "+err.Error())}
	}
	switch v.(type) {
	case nil:
		return field.ErrorList{field.Required(fldPath, "")}
	case map[string]any:
		return nil
	}
	return field.ErrorList{field.Invalid(fldPath, "<value omitted>", "must be a valid JSON object")}
}

func consumerRef(r resourcev1.ResourceClaimConsumerReference, fldPath *field.Path) field.ErrorList {
	var errs field.ErrorList
	if r.Resource == "" {
		errs = append(errs, field.Required(fldPath.Child("resource"), ""))
	}
	if r.Name == "" {
		errs = append(errs, field.Required(fldPath.Child("name"), ""))
	}
	if r.UID == "" {
		errs = append(errs, field.Required(fldPath.Child("uid"), ""))
	}
	return errs
}

// allocationResult checks a new allocation: each result names a request of
// the claim and a device by driver, pool and name; the configuration comes
// from the class or the claim.
func allocationResult(a *resourcev1.AllocationResult, names requestNames, fldPath *field.Path) field.ErrorList {
	dp := fldPath.Child("devices")
	errs := list(a.Devices.Results, maxAllocationResults, func(r resourcev1.DeviceRequestAllocationResult, p *field.Path) field.ErrorList {
		errs := requestRef(r.Request, names, p.Child("request"))
		errs = append(errs, csiDriverName(r.Driver, p.Child("driver"))...)
		errs = append(errs, poolName(r.Pool, p.Child("pool"))...)
		errs = append(errs, dnsLabel(r.Device, p.Child("device"))...)
		errs = append(errs, bindingConditions(r.BindingConditions, r.BindingFailureConditions, p)...)
		errs = append(errs, deviceTolerations(r.Tolerations, p.Child("tolerations"))...)
		if r.ShareID != nil {
			errs = append(errs, lowerUUID(string(*r.ShareID), p.Child("shareID"))...)
		}
		return errs
	}, dp.Child("results"))
	sources := []resourcev1.AllocationConfigSource{resourcev1.AllocationConfigSourceClaim, resourcev1.AllocationConfigSourceClass}
	errs = append(errs, list(a.Devices.Config, 2*maxDeviceConfigs, func(c resourcev1.DeviceAllocationConfiguration, p *field.Path) field.ErrorList {
		errs := oneOf(c.Source, sources, p.Child("source"))
		errs = append(errs, requestRefs(c.Requests, names, p.Child("requests"))...)
		return append(errs, deviceConfiguration(c.DeviceConfiguration, p)...)
	}, dp.Child("config"))...)
	if a.NodeSelector != nil {
		errs = append(errs, nodeSelector(a.NodeSelector, fldPath.Child("nodeSelector"))...)
	}
	return errs
}

// allocatedDeviceStatus checks what a driver reports about a device: it
// must be allocated to the claim, its conditions well-formed, its data a
// JSON object and its network data bounded.
func allocatedDeviceStatus(d resourcev1.AllocatedDeviceStatus, allocated map[string]bool, fldPath *field.Path) field.ErrorList {
	errs := csiDriverName(d.Driver, fldPath.Child("driver"))
	errs = append(errs, poolName(d.Pool, fldPath.Child("pool"))...)
	errs = append(errs, dnsLabel(d.Device, fldPath.Child("device"))...)
	if d.ShareID != nil {
		errs = append(errs, lowerUUID(*d.ShareID, fldPath.Child("shareID"))...)
	}
	if key := deviceKey(d.Driver, d.Pool, d.Device, d.ShareID); !allocated[key] {
		errs = append(errs, field.Invalid(fldPath, key, "must be an allocated device in the claim"))
	}
	if len(d.Conditions) > resourcev1.AllocatedDeviceStatusMaxConditions {
		errs = append(errs, field.TooMany(fldPath.Child("conditions"), len(d.Conditions), resourcev1.AllocatedDeviceStatusMaxConditions))
	}
	errs = append(errs, metav1validation.ValidateConditions(d.Conditions, fldPath.Child("conditions"))...)
	if d.Data != nil && len(d.Data.Raw) > 0 {
		errs = append(errs, jsonObject(*d.Data, maxDeviceStatusDataLength, fldPath.Child("data"))...)
	}
	if n := d.NetworkData; n != nil {
		np := fldPath.Child("networkData")
		if len(n.InterfaceName) > resourcev1.NetworkDeviceDataInterfaceNameMaxLength {
			errs = append(errs, field.TooLong(np.Child("interfaceName"), "", resourcev1.NetworkDeviceDataInterfaceNameMaxLength))
		}
		if len(n.HardwareAddress) > resourcev1.NetworkDeviceDataHardwareAddressMaxLength {
			errs = append(errs, field.TooLong(np.Child("hardwareAddress"), "", resourcev1.NetworkDeviceDataHardwareAddressMaxLength))
		}
		errs = append(errs, uniqueList(n.IPs, resourcev1.NetworkDeviceDataMaxIPs, func(ip string, p *field.Path) field.ErrorList {
			return interfaceAddress(ip, p)
		}, func(ip string) string { return ip }, np.Child("ips"))...)
	}
	return errs
}

// deviceKey identifies an allocated device, or one share of it.
func deviceKey(driver, pool, device string, shareID *string) string {
	key := driver + "/" + pool + "/" + device
	if shareID != nil {
		key += "/" + *shareID
	}
	return key
}

// list checks the items of a bounded list; an overlong list is reported
// alone, without looking at its items.
func list[T any](items []T, maxItems int, check func(T, *field.Path) field.ErrorList, fldPath *field.Path) field.ErrorList {
	if maxItems >= 0 && len(items) > maxItems {
		return field.ErrorList{field.TooMany(fldPath, len(items), maxItems)}
	}
	var errs field.ErrorList
	for i, item := range items {
		errs = append(errs, check(item, fldPath.Index(i))...)
	}
	return errs
}

// uniqueList is list whose items must also have distinct keys.
func uniqueList[T any, K comparable](items []T, maxItems int, check func(T, *field.Path) field.ErrorList, key func(T) K, fldPath *field.Path) field.ErrorList {
	if maxItems >= 0 && len(items) > maxItems {
		return field.ErrorList{field.TooMany(fldPath, len(items), maxItems)}
	}
	errs := list(items, -1, check, fldPath)
	seen := make(map[K]bool, len(items))
	for i, item := range items {
		k := key(item)
		if seen[k] {
			errs = append(errs, field.Duplicate(fldPath.Index(i), k))
		}
		seen[k] = true
	}
	return errs
}
