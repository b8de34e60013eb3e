package validation

import (
	"errors"
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
	resourcev1 "k8s.io/api/resource/v1"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/api/validate/content"
	apimachineryvalidation "k8s.io/apimachinery/pkg/api/validation"
	metav1validation "k8s.io/apimachinery/pkg/apis/meta/v1/validation"
	utilvalidation "k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"
	apiservercel "k8s.io/apiserver/pkg/cel"
	"k8s.io/apiserver/pkg/cel/environment"
	dracel "k8s.io/dynamic-resource-allocation/cel"
)

// celFeatures are the DRA features the selector environment offers: those
// on by default in 1.37 (consumable capacity is beta, list-typed attributes
// alpha).
var celFeatures = dracel.Features{EnableConsumableCapacity: true}

// deviceSelectors checks a bounded list of CEL selectors, compiling each.
func deviceSelectors(selectors []resourcev1.DeviceSelector, fldPath *field.Path) field.ErrorList {
	return list(selectors, maxDeviceSelectors, func(s resourcev1.DeviceSelector, p *field.Path) field.ErrorList {
		if s.CEL == nil {
			return field.ErrorList{field.Required(p.Child("cel"), "")}
		}
		return celSelector(s.CEL.Expression, p.Child("cel", "expression"))
	}, fldPath)
}

// celSelector compiles a device selector the way the scheduler will, so
// that syntax and type errors, and expressions too costly to run, are
// rejected when they are written rather than when devices are allocated.
func celSelector(expr string, fldPath *field.Path) field.ErrorList {
	if len(expr) > resourcev1.CELSelectorExpressionMaxLength {
		return field.ErrorList{field.TooLong(fldPath, "", resourcev1.CELSelectorExpressionMaxLength)}
	}
	env := environment.NewExpressions
	result := dracel.GetCompiler(celFeatures).CompileCELExpression(expr, dracel.Options{EnvType: &env})
	if result.Error != nil {
		var celErr *apiservercel.Error
		if errors.As(result.Error, &celErr) {
			switch celErr.Type {
			case apiservercel.ErrorTypeRequired:
				return field.ErrorList{field.Required(fldPath, celErr.Detail)}
			case apiservercel.ErrorTypeInvalid:
				return field.ErrorList{field.Invalid(fldPath, expr, celErr.Detail)}
			}
		}
		return field.ErrorList{field.InternalError(fldPath, result.Error)}
	}
	if result.MaxCost > resourcev1.CELSelectorExpressionMaxCost {
		return field.ErrorList{field.Forbidden(fldPath, "too complex, exceeds cost limit")}
	}
	return nil
}

// DeviceClass validates a DeviceClass on create.
func DeviceClass(c *resourcev1.DeviceClass) field.ErrorList {
	errs := objectMeta(&c.ObjectMeta, false, apimachineryvalidation.NameIsDNSSubdomain)
	return append(errs, deviceClassSpec(&c.Spec, nil, field.NewPath("spec"))...)
}

// DeviceClassUpdate validates a DeviceClass update. Selectors and
// configuration that did not change are not checked again.
func DeviceClassUpdate(c, old *resourcev1.DeviceClass) field.ErrorList {
	errs := objectMeta(&c.ObjectMeta, false, apimachineryvalidation.NameIsDNSSubdomain)
	errs = append(errs, objectMetaUpdate(&c.ObjectMeta, &old.ObjectMeta)...)
	return append(errs, deviceClassSpec(&c.Spec, &old.Spec, field.NewPath("spec"))...)
}

func deviceClassSpec(spec, old *resourcev1.DeviceClassSpec, fldPath *field.Path) field.ErrorList {
	var errs field.ErrorList
	if old == nil || !apiequality.Semantic.DeepEqual(spec.Selectors, old.Selectors) {
		errs = append(errs, deviceSelectors(spec.Selectors, fldPath.Child("selectors"))...)
	}
	if old == nil || !apiequality.Semantic.DeepEqual(spec.Config, old.Config) {
		errs = append(errs, list(spec.Config, maxDeviceConfigs, func(c resourcev1.DeviceClassConfiguration, p *field.Path) field.ErrorList {
			return deviceConfiguration(c.DeviceConfiguration, p)
		}, fldPath.Child("config"))...)
	}
	if n := spec.ExtendedResourceName; n != nil && !extendedResourceName(*n) {
		errs = append(errs, field.Invalid(fldPath.Child("extendedResourceName"), *n, "must be a valid extended resource name"))
	}
	return errs
}

// extendedResourceName reports whether name is an extended resource name: a
// qualified name with a domain outside kubernetes.io, usable as a request.
func extendedResourceName(name string) bool {
	native := !strings.Contains(name, "/") || strings.Contains(name, corev1.ResourceDefaultNamespacePrefix)
	if native || strings.HasPrefix(name, corev1.DefaultResourceRequestsPrefix) {
		return false
	}
	return len(utilvalidation.IsQualifiedName(corev1.DefaultResourceRequestsPrefix+name)) == 0
}

// ResourceSlice validates a ResourceSlice on create.
func ResourceSlice(s *resourcev1.ResourceSlice) field.ErrorList {
	errs := objectMeta(&s.ObjectMeta, false, apimachineryvalidation.NameIsDNSSubdomain)
	return append(errs, resourceSliceSpec(&s.Spec, nil, field.NewPath("spec"))...)
}

// ResourceSliceUpdate validates a ResourceSlice update: the driver, pool name
// and node name are immutable.
func ResourceSliceUpdate(s, old *resourcev1.ResourceSlice) field.ErrorList {
	errs := objectMetaUpdate(&s.ObjectMeta, &old.ObjectMeta)
	return append(errs, resourceSliceSpec(&s.Spec, &old.Spec, field.NewPath("spec"))...)
}

const nodeSelectionMsg = "exactly one of `nodeName`, `nodeSelector`, `allNodes`, `perDeviceNodeSelection` is required"

func resourceSliceSpec(spec, old *resourcev1.ResourceSliceSpec, fldPath *field.Path) field.ErrorList {
	errs := csiDriverName(spec.Driver, fldPath.Child("driver"))
	pp := fldPath.Child("pool")
	errs = append(errs, poolName(spec.Pool.Name, pp.Child("name"))...)
	if spec.Pool.ResourceSliceCount <= 0 {
		errs = append(errs, field.Invalid(pp.Child("resourceSliceCount"), spec.Pool.ResourceSliceCount, notPositiveMsg))
	}
	if spec.Pool.Generation < 0 {
		errs = append(errs, field.Invalid(pp.Child("generation"), spec.Pool.Generation, "must be greater than or equal to zero"))
	}
	if old != nil {
		errs = append(errs, immutable(spec.Pool.Name, old.Pool.Name, pp.Child("name"))...)
		errs = append(errs, immutable(spec.Driver, old.Driver, fldPath.Child("driver"))...)
		errs = append(errs, immutable(spec.NodeName, old.NodeName, fldPath.Child("nodeName"))...)
	}

	var set []string
	if spec.NodeName != nil {
		if *spec.NodeName == "" {
			errs = append(errs, field.Invalid(fldPath.Child("nodeName"), "", "must be either unset or set to a non-empty string"))
		} else {
			set = append(set, "`nodeName`")
			errs = append(errs, objectName(apimachineryvalidation.NameIsDNSSubdomain, *spec.NodeName, fldPath.Child("nodeName"))...)
		}
	}
	if spec.NodeSelector != nil {
		set = append(set, "`nodeSelector`")
		errs = append(errs, nodeSelector(spec.NodeSelector, fldPath.Child("nodeSelector"))...)
		if len(spec.NodeSelector.NodeSelectorTerms) != 1 {
			errs = append(errs, field.Invalid(fldPath.Child("nodeSelector", "nodeSelectorTerms"), spec.NodeSelector.NodeSelectorTerms, "must have exactly one node selector term"))
		}
	}
	for _, flag := range []struct {
		name string
		v    *bool
	}{{"allNodes", spec.AllNodes}, {"perDeviceNodeSelection", spec.PerDeviceNodeSelection}} {
		if flag.v == nil {
			continue
		}
		if *flag.v {
			set = append(set, "`"+flag.name+"`")
		} else {
			errs = append(errs, field.Invalid(fldPath.Child(flag.name), false, "must be either unset or set to true"))
		}
	}
	switch len(set) {
	case 0:
		errs = append(errs, field.Required(fldPath, nodeSelectionMsg))
	case 1:
	default:
		errs = append(errs, field.Invalid(fldPath, "{"+strings.Join(set, ", ")+"}", nodeSelectionMsg+", but multiple fields are set"))
	}

	if spec.SharedCounters != nil && spec.Devices != nil {
		errs = append(errs, field.Invalid(fldPath, "", "only one of `sharedCounters` or `devices` is allowed"))
	}
	maxDevices := resourcev1.ResourceSliceMaxDevices
	for _, d := range spec.Devices {
		if len(d.Taints) > 0 || len(d.ConsumesCounters) > 0 {
			maxDevices = resourcev1.ResourceSliceMaxDevicesWithAdvancedFeatures
		}
	}
	perDevice := spec.PerDeviceNodeSelection != nil && *spec.PerDeviceNodeSelection
	errs = append(errs, uniqueList(spec.Devices, maxDevices, func(d resourcev1.Device, p *field.Path) field.ErrorList {
		return device(d, perDevice, p)
	}, func(d resourcev1.Device) string { return d.Name }, fldPath.Child("devices"))...)
	errs = append(errs, uniqueList(spec.SharedCounters, resourcev1.ResourceSliceMaxCounterSets, func(cs resourcev1.CounterSet, p *field.Path) field.ErrorList {
		errs := dnsLabel(cs.Name, p.Child("name"))
		return append(errs, counters(cs.Counters, resourcev1.ResourceSliceMaxCountersPerCounterSet, p.Child("counters"))...)
	}, func(cs resourcev1.CounterSet) string { return cs.Name }, fldPath.Child("sharedCounters"))...)
	return errs
}

func counters(m map[string]resourcev1.Counter, maxItems int, fldPath *field.Path) field.ErrorList {
	switch {
	case len(m) == 0:
		return field.ErrorList{field.Required(fldPath, "")}
	case len(m) > maxItems:
		return field.ErrorList{field.TooMany(fldPath, len(m), maxItems)}
	}
	var errs field.ErrorList
	for _, name := range slices.Sorted(maps.Keys(m)) {
		errs = append(errs, dnsLabel(name, fldPath)...)
	}
	return errs
}

const perDeviceNodeMsg = "exactly one of `nodeName`, `nodeSelector`, or `allNodes` is required when `perDeviceNodeSelection` is set to true in the ResourceSlice spec"

// device checks one device of a slice: its name, bounded attributes and
// capacities, taints, counter consumption and, when the slice says so, its
// own node selection.
func device(d resourcev1.Device, perDeviceNodes bool, fldPath *field.Path) field.ErrorList {
	errs := dnsLabel(d.Name, fldPath.Child("name"))
	if n := len(d.Attributes) + len(d.Capacity); n > resourcev1.ResourceSliceMaxAttributesAndCapacitiesPerDevice {
		errs = append(errs, field.Invalid(fldPath, n, fmt.Sprintf("the total number of attributes and capacities must not exceed %d", resourcev1.ResourceSliceMaxAttributesAndCapacitiesPerDevice)))
	}
	values := 0
	for _, a := range d.Attributes {
		if n := len(a.BoolValues) + len(a.IntValues) + len(a.StringValues) + len(a.VersionValues); n > 0 {
			values += n
		} else {
			values++
		}
	}
	if values > resourcev1.ResourceSliceMaxAttributeValuesPerDevice {
		errs = append(errs, field.Invalid(fldPath, values, fmt.Sprintf("the total number of attribute values must not exceed %d", resourcev1.ResourceSliceMaxAttributeValuesPerDevice)))
	}
	// Keys in order, so that errors come in the same order every time.
	for _, name := range slices.Sorted(maps.Keys(d.Attributes)) {
		errs = append(errs, deviceQualifiedName(name, fldPath.Child("attributes"))...)
		errs = append(errs, deviceAttribute(d.Attributes[name], fldPath.Child("attributes").Key(string(name)))...)
	}
	multi := d.AllowMultipleAllocations != nil && *d.AllowMultipleAllocations
	for _, name := range slices.Sorted(maps.Keys(d.Capacity)) {
		c := d.Capacity[name]
		errs = append(errs, deviceQualifiedName(name, fldPath.Child("capacity"))...)
		if c.RequestPolicy != nil && !multi {
			errs = append(errs, field.Forbidden(fldPath.Child("capacity").Key(string(name)).Child("requestPolicy"), "allowMultipleAllocations must be true"))
		}
	}
	errs = append(errs, list(d.Taints, resourcev1.DeviceTaintsMaxLength, func(t resourcev1.DeviceTaint, p *field.Path) field.ErrorList {
		return deviceTaint(t, nil, p)
	}, fldPath.Child("taints"))...)
	errs = append(errs, uniqueList(d.ConsumesCounters, resourcev1.ResourceSliceMaxDeviceCounterConsumptionsPerDevice, func(c resourcev1.DeviceCounterConsumption, p *field.Path) field.ErrorList {
		errs := dnsLabel(c.CounterSet, p.Child("counterSet"))
		return append(errs, counters(c.Counters, resourcev1.ResourceSliceMaxCountersPerDeviceCounterConsumption, p.Child("counters"))...)
	}, func(c resourcev1.DeviceCounterConsumption) string { return c.CounterSet }, fldPath.Child("consumesCounters"))...)

	if perDeviceNodes {
		var set []string
		if d.NodeName != nil {
			if *d.NodeName == "" {
				errs = append(errs, field.Invalid(fldPath.Child("nodeName"), "", "must not be empty"))
			} else {
				set = append(set, "`nodeName`")
				errs = append(errs, objectName(apimachineryvalidation.NameIsDNSSubdomain, *d.NodeName, fldPath.Child("nodeName"))...)
			}
		}
		if d.NodeSelector != nil {
			set = append(set, "`nodeSelector`")
			errs = append(errs, nodeSelector(d.NodeSelector, fldPath.Child("nodeSelector"))...)
		}
		if d.AllNodes != nil {
			if *d.AllNodes {
				set = append(set, "`allNodes`")
			} else {
				errs = append(errs, field.Invalid(fldPath.Child("allNodes"), false, "must be either unset or set to true"))
			}
		}
		switch len(set) {
		case 0:
			errs = append(errs, field.Required(fldPath, perDeviceNodeMsg))
		case 1:
		default:
			errs = append(errs, field.Invalid(fldPath, "{"+strings.Join(set, ", ")+"}", perDeviceNodeMsg))
		}
	} else if d.NodeName != nil || d.NodeSelector != nil || d.AllNodes != nil {
		errs = append(errs, field.Invalid(fldPath, nil, "`nodeName`, `nodeSelector` and `allNodes` can only be set if `perDeviceNodeSelection` is set to true in the ResourceSlice spec"))
	}
	return append(errs, bindingConditions(d.BindingConditions, d.BindingFailureConditions, fldPath)...)
}

// semverPattern is semver.org 2.0.0: three numbers without leading zeros,
// optional pre-release and build parts.
var semverPattern = regexp.MustCompile(`^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)` +
	`(-(0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*)(\.(0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*))*)?` +
	`(\+[0-9a-zA-Z-]+(\.[0-9a-zA-Z-]+)*)?$`)

// deviceAttribute requires exactly one value, strings of bounded length and
// versions in semver form.
func deviceAttribute(a resourcev1.DeviceAttribute, fldPath *field.Path) field.ErrorList {
	var errs field.ErrorList
	str := func(v string, p *field.Path) {
		if len(v) > resourcev1.DeviceAttributeMaxValueLength {
			errs = append(errs, field.TooLong(p, "", resourcev1.DeviceAttributeMaxValueLength))
		}
	}
	version := func(v string, p *field.Path) {
		if !semverPattern.MatchString(v) {
			errs = append(errs, field.Invalid(p, v, "must be a string compatible with semver.org spec 2.0.0"))
		}
		str(v, p)
	}
	n := 0
	if a.BoolValue != nil {
		n++
	}
	if a.IntValue != nil {
		n++
	}
	if a.StringValue != nil {
		n++
		str(*a.StringValue, fldPath.Child("string"))
	}
	if a.VersionValue != nil {
		n++
		version(*a.VersionValue, fldPath.Child("version"))
	}
	nonEmpty := func(set bool, length int, name string, value any) {
		if !set {
			return
		}
		n++
		if length == 0 {
			errs = append(errs, field.Invalid(fldPath.Child(name), value, "must not be empty if specified"))
		}
	}
	nonEmpty(a.BoolValues != nil, len(a.BoolValues), "bools", a.BoolValues)
	nonEmpty(a.IntValues != nil, len(a.IntValues), "ints", a.IntValues)
	nonEmpty(a.StringValues != nil, len(a.StringValues), "strings", a.StringValues)
	nonEmpty(a.VersionValues != nil, len(a.VersionValues), "versions", a.VersionValues)
	for i, v := range a.StringValues {
		str(v, fldPath.Child("strings").Index(i))
	}
	for i, v := range a.VersionValues {
		version(v, fldPath.Child("versions").Index(i))
	}
	switch n {
	case 0:
		errs = append(errs, field.Invalid(fldPath, "", "exactly one value must be specified"))
	case 1:
	default:
		errs = append(errs, field.Invalid(fldPath, a, "exactly one value must be specified"))
	}
	return errs
}

// deviceQualifiedName checks an attribute or capacity name: a C identifier,
// optionally prefixed by a domain ("gpu.example.com/memory").
func deviceQualifiedName(name resourcev1.QualifiedName, fldPath *field.Path) field.ErrorList {
	domain, id, qualified := strings.Cut(string(name), "/")
	if !qualified {
		return cIdentifier(domain, fldPath)
	}
	var errs field.ErrorList
	if domain == "" {
		errs = append(errs, field.Invalid(fldPath, "", "the domain must not be empty"))
	} else {
		errs = append(errs, csiDriverName(domain, fldPath)...)
	}
	if id == "" {
		errs = append(errs, field.Invalid(fldPath, "", "the name must not be empty"))
	} else {
		errs = append(errs, cIdentifier(id, fldPath)...)
	}
	return errs
}

// fullyQualifiedName is a deviceQualifiedName that has a domain.
func fullyQualifiedName(name resourcev1.FullyQualifiedName, fldPath *field.Path) field.ErrorList {
	errs := deviceQualifiedName(resourcev1.QualifiedName(name), fldPath)
	if !strings.Contains(string(name), "/") {
		errs = append(errs, field.Invalid(fldPath, name, "a fully qualified name must be a domain and a name separated by a slash"))
	}
	return errs
}

func cIdentifier(id string, fldPath *field.Path) field.ErrorList {
	var errs field.ErrorList
	if len(id) > resourcev1.DeviceMaxIDLength {
		errs = append(errs, field.TooLong(fldPath, "", resourcev1.DeviceMaxIDLength))
	}
	return append(errs, msgs(fldPath, id, content.IsCIdentifier(id))...)
}

// poolName is one or more DNS subdomains separated by slashes, at most 253
// characters.
func poolName(name string, fldPath *field.Path) field.ErrorList {
	if name == "" {
		return field.ErrorList{field.Required(fldPath, "")}
	}
	var errs field.ErrorList
	if len(name) > resourcev1.PoolNameMaxLength {
		errs = append(errs, field.TooLong(fldPath, "", resourcev1.PoolNameMaxLength))
	}
	for _, part := range strings.Split(name, "/") {
		errs = append(errs, dnsSubdomain(part, fldPath)...)
	}
	return errs
}

var lowerUUIDPattern = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$`)

// lowerUUID requires an RFC 4122 UUID in its normalized, lower-case form.
func lowerUUID(uid string, fldPath *field.Path) field.ErrorList {
	if !lowerUUIDPattern.MatchString(uid) {
		return field.ErrorList{field.Invalid(fldPath, uid, "uid must be in RFC 4122 normalized form, `xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx` with lowercase hexadecimal characters")}
	}
	return nil
}

// interfaceAddress is an IP address with a prefix length ("10.9.8.7/24").
func interfaceAddress(addr string, fldPath *field.Path) field.ErrorList {
	return utilvalidation.IsValidInterfaceAddress(fldPath, addr)
}

// bindingConditions: at most four of each kind, label names, unique, the
// two lists disjoint, and each only together with the other.
func bindingConditions(conds, failures []string, fldPath *field.Path) field.ErrorList {
	cp, fp := fldPath.Child("bindingConditions"), fldPath.Child("bindingFailureConditions")
	labelName := func(c string, p *field.Path) field.ErrorList { return metav1validation.ValidateLabelName(c, p) }
	self := func(c string) string { return c }
	errs := uniqueList(conds, resourcev1.BindingConditionsMaxSize, labelName, self, cp)
	errs = append(errs, uniqueList(failures, resourcev1.BindingFailureConditionsMaxSize, labelName, self, fp)...)
	for i, f := range failures {
		for _, c := range conds {
			if f == c {
				errs = append(errs, field.Invalid(fp.Index(i), f, "bindingFailureConditions must not overlap with bindingConditions"))
				break
			}
		}
	}
	if len(conds) == 0 && len(failures) > 0 {
		errs = append(errs, field.Invalid(cp, conds, "bindingConditions are required to use bindingFailureConditions"))
	}
	if len(failures) == 0 && len(conds) > 0 {
		errs = append(errs, field.Invalid(fp, failures, "bindingFailureConditions are required to use bindingConditions"))
	}
	return errs
}

var (
	deviceTaintEffects = []resourcev1.DeviceTaintEffect{resourcev1.DeviceTaintEffectNoExecute, resourcev1.DeviceTaintEffectNoSchedule, resourcev1.DeviceTaintEffectNone}
	tolerationOps      = []resourcev1.DeviceTolerationOperator{resourcev1.DeviceTolerationOpEqual, resourcev1.DeviceTolerationOpExists}
)

// deviceTaint: a label name as key, a label value, a known effect. An effect
// that did not change is not checked again.
func deviceTaint(t resourcev1.DeviceTaint, old *resourcev1.DeviceTaint, fldPath *field.Path) field.ErrorList {
	errs := metav1validation.ValidateLabelName(t.Key, fldPath.Child("key"))
	if t.Value != "" {
		errs = append(errs, labelValue(t.Value, fldPath.Child("value"))...)
	}
	if old == nil || old.Effect != t.Effect {
		errs = append(errs, oneOf(t.Effect, deviceTaintEffects, fldPath.Child("effect"))...)
	}
	return errs
}

func deviceTolerations(ts []resourcev1.DeviceToleration, fldPath *field.Path) field.ErrorList {
	return list(ts, maxDeviceTolerations, deviceToleration, fldPath)
}

func deviceToleration(t resourcev1.DeviceToleration, fldPath *field.Path) field.ErrorList {
	var errs field.ErrorList
	if t.Key != "" {
		errs = append(errs, metav1validation.ValidateLabelName(t.Key, fldPath.Child("key"))...)
	}
	switch t.Operator {
	case resourcev1.DeviceTolerationOpExists:
		if t.Value != "" {
			errs = append(errs, field.Invalid(fldPath.Child("value"), t.Value, "must be empty for operator `Exists`"))
		}
	case resourcev1.DeviceTolerationOpEqual:
		errs = append(errs, labelValue(t.Value, fldPath.Child("value"))...)
	default:
		errs = append(errs, oneOf(t.Operator, tolerationOps, fldPath.Child("operator"))...)
	}
	if t.Effect != "" {
		errs = append(errs, oneOf(t.Effect, deviceTaintEffects, fldPath.Child("effect"))...)
	}
	return errs
}

func labelValue(v string, fldPath *field.Path) field.ErrorList {
	return msgs(fldPath, v, utilvalidation.IsValidLabelValue(v))
}

// DeviceTaintRule validates a DeviceTaintRule on create: the selected
// driver, pool and device names and the taint.
func DeviceTaintRule(r *resourcev1.DeviceTaintRule) field.ErrorList {
	errs := objectMeta(&r.ObjectMeta, false, apimachineryvalidation.NameIsDNSSubdomain)
	return append(errs, deviceTaintRuleSpec(&r.Spec, nil, field.NewPath("spec"))...)
}

// DeviceTaintRuleUpdate validates a DeviceTaintRule update.
func DeviceTaintRuleUpdate(r, old *resourcev1.DeviceTaintRule) field.ErrorList {
	errs := objectMetaUpdate(&r.ObjectMeta, &old.ObjectMeta)
	return append(errs, deviceTaintRuleSpec(&r.Spec, &old.Spec, field.NewPath("spec"))...)
}

func deviceTaintRuleSpec(spec, old *resourcev1.DeviceTaintRuleSpec, fldPath *field.Path) field.ErrorList {
	var errs field.ErrorList
	if sel := spec.DeviceSelector; sel != nil {
		sp := fldPath.Child("deviceSelector")
		if sel.Driver != nil {
			errs = append(errs, csiDriverName(*sel.Driver, sp.Child("driver"))...)
		}
		if sel.Pool != nil {
			errs = append(errs, poolName(*sel.Pool, sp.Child("pool"))...)
		}
		if sel.Device != nil {
			errs = append(errs, dnsLabel(*sel.Device, sp.Child("device"))...)
		}
	}
	var oldTaint *resourcev1.DeviceTaint
	if old != nil {
		oldTaint = &old.Taint
	}
	return append(errs, deviceTaint(spec.Taint, oldTaint, fldPath.Child("taint"))...)
}

// DeviceTaintRuleStatusUpdate validates a status update of a
// DeviceTaintRule: at most eight well-formed conditions.
func DeviceTaintRuleStatusUpdate(r, old *resourcev1.DeviceTaintRule) field.ErrorList {
	errs := objectMetaUpdate(&r.ObjectMeta, &old.ObjectMeta)
	cp := field.NewPath("status", "conditions")
	errs = append(errs, metav1validation.ValidateConditions(r.Status.Conditions, cp)...)
	if n := len(r.Status.Conditions); n > resourcev1.DeviceTaintRuleStatusMaxConditions {
		errs = append(errs, field.TooMany(cp, n, resourcev1.DeviceTaintRuleStatusMaxConditions))
	}
	return errs
}
