package apis

import (
	"fmt"
	"strconv"
	"strings"

	batchv1 "k8s.io/api/batch/v1"
	certificatesv1 "k8s.io/api/certificates/v1"
	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	resourcev1 "k8s.io/api/resource/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// FieldsFunc returns the selectable fields of an object beyond metadata.name and
// metadata.namespace, which every resource supports. Called on a zero object it still
// returns every key: that is how the supported field labels are listed.
type FieldsFunc func(obj runtime.Object) fields.Set

// SelectableFields returns, per kind, the fields that field selectors may name, as
// upstream's field-label conversions allow them.
func SelectableFields() map[schema.GroupVersionKind]FieldsFunc {
	core := corev1.SchemeGroupVersion
	return map[schema.GroupVersionKind]FieldsFunc{
		core.WithKind("Pod"):                       podFields,
		core.WithKind("Node"):                      nodeFields,
		core.WithKind("ReplicationController"):     rcFields,
		core.WithKind("Event"):                     eventFields,
		core.WithKind("Namespace"):                 namespaceFields,
		core.WithKind("Secret"):                    secretFields,
		core.WithKind("Service"):                   serviceFields,
		batchv1.SchemeGroupVersion.WithKind("Job"): jobFields,
		certificatesv1.SchemeGroupVersion.WithKind("CertificateSigningRequest"): csrFields,
		eventsv1.SchemeGroupVersion.WithKind("Event"):                           eventV1Fields,
		certificatesv1.SchemeGroupVersion.WithKind("ClusterTrustBundle"):        trustBundleFields,
		certificatesv1.SchemeGroupVersion.WithKind("PodCertificateRequest"):     podCertificateFields,
		resourcev1.SchemeGroupVersion.WithKind("ResourceSlice"):                 resourceSliceFields,
	}
}

// fieldLabels maps each field label a client may send for gvk to the field of
// the FieldsFunc's set it selects on. Most kinds take their set's own keys;
// pods also take the legacy spec.host; events.k8s.io Events are selected on
// the core Event's fields under their events.k8s.io names only, as upstream.
func fieldLabels(gvk schema.GroupVersionKind, fn FieldsFunc) map[string]string {
	if gvk == eventsv1.SchemeGroupVersion.WithKind("Event") {
		m := map[string]string{
			"reason":              "reason",
			"type":                "type",
			"reportingController": "reportingComponent",
			"metadata.name":       "metadata.name",
			"metadata.namespace":  "metadata.namespace",
		}
		for _, f := range []string{"kind", "namespace", "name", "uid", "apiVersion", "resourceVersion", "fieldPath"} {
			m["regarding."+f] = "involvedObject." + f
		}
		return m
	}
	m := map[string]string{"metadata.name": "metadata.name", "metadata.namespace": "metadata.namespace"}
	for k := range fn(nil) {
		m[k] = k
	}
	if gvk == corev1.SchemeGroupVersion.WithKind("Pod") {
		m["spec.host"] = "spec.nodeName"
	}
	return m
}

func podFields(obj runtime.Object) fields.Set {
	p, _ := obj.(*corev1.Pod)
	if p == nil {
		p = &corev1.Pod{}
	}
	ips := make([]string, 0, len(p.Status.PodIPs))
	for _, ip := range p.Status.PodIPs {
		ips = append(ips, ip.IP)
	}
	return fields.Set{
		"spec.nodeName":            p.Spec.NodeName,
		"spec.restartPolicy":       string(p.Spec.RestartPolicy),
		"spec.schedulerName":       p.Spec.SchedulerName,
		"spec.serviceAccountName":  p.Spec.ServiceAccountName,
		"spec.hostNetwork":         strconv.FormatBool(p.Spec.HostNetwork),
		"status.phase":             string(p.Status.Phase),
		"status.podIP":             p.Status.PodIP,
		"status.podIPs":            strings.Join(ips, ","),
		"status.nominatedNodeName": p.Status.NominatedNodeName,
	}
}

func nodeFields(obj runtime.Object) fields.Set {
	n, _ := obj.(*corev1.Node)
	if n == nil {
		n = &corev1.Node{}
	}
	return fields.Set{"spec.unschedulable": strconv.FormatBool(n.Spec.Unschedulable)}
}

func rcFields(obj runtime.Object) fields.Set {
	rc, _ := obj.(*corev1.ReplicationController)
	if rc == nil {
		rc = &corev1.ReplicationController{}
	}
	return fields.Set{"status.replicas": strconv.Itoa(int(rc.Status.Replicas))}
}

func eventFields(obj runtime.Object) fields.Set {
	e, _ := obj.(*corev1.Event)
	if e == nil {
		e = &corev1.Event{}
	}
	source := e.Source.Component
	if source == "" {
		source = e.ReportingController
	}
	return fields.Set{
		"involvedObject.kind":            e.InvolvedObject.Kind,
		"involvedObject.namespace":       e.InvolvedObject.Namespace,
		"involvedObject.name":            e.InvolvedObject.Name,
		"involvedObject.uid":             string(e.InvolvedObject.UID),
		"involvedObject.apiVersion":      e.InvolvedObject.APIVersion,
		"involvedObject.resourceVersion": e.InvolvedObject.ResourceVersion,
		"involvedObject.fieldPath":       e.InvolvedObject.FieldPath,
		"reason":                         e.Reason,
		"reportingComponent":             e.ReportingController,
		"source":                         source,
		"type":                           e.Type,
	}
}

// eventV1Fields selects events.k8s.io Events on the fields of the core Event
// they are stored as.
func eventV1Fields(obj runtime.Object) fields.Set {
	e, _ := obj.(*eventsv1.Event)
	if e == nil {
		return eventFields(nil)
	}
	var core corev1.Event
	EventV1ToCore(e, &core)
	return eventFields(&core)
}

func namespaceFields(obj runtime.Object) fields.Set {
	ns, _ := obj.(*corev1.Namespace)
	if ns == nil {
		ns = &corev1.Namespace{}
	}
	return fields.Set{"status.phase": string(ns.Status.Phase)}
}

func secretFields(obj runtime.Object) fields.Set {
	s, _ := obj.(*corev1.Secret)
	if s == nil {
		s = &corev1.Secret{}
	}
	return fields.Set{"type": string(s.Type)}
}

func serviceFields(obj runtime.Object) fields.Set {
	s, _ := obj.(*corev1.Service)
	if s == nil {
		s = &corev1.Service{}
	}
	return fields.Set{"spec.clusterIP": s.Spec.ClusterIP, "spec.type": string(s.Spec.Type)}
}

func jobFields(obj runtime.Object) fields.Set {
	j, _ := obj.(*batchv1.Job)
	if j == nil {
		j = &batchv1.Job{}
	}
	return fields.Set{"status.successful": strconv.Itoa(int(j.Status.Succeeded))}
}

func csrFields(obj runtime.Object) fields.Set {
	csr, _ := obj.(*certificatesv1.CertificateSigningRequest)
	if csr == nil {
		csr = &certificatesv1.CertificateSigningRequest{}
	}
	return fields.Set{"spec.signerName": csr.Spec.SignerName}
}

func trustBundleFields(obj runtime.Object) fields.Set {
	b, _ := obj.(*certificatesv1.ClusterTrustBundle)
	if b == nil {
		b = &certificatesv1.ClusterTrustBundle{}
	}
	return fields.Set{"spec.signerName": b.Spec.SignerName}
}

func podCertificateFields(obj runtime.Object) fields.Set {
	r, _ := obj.(*certificatesv1.PodCertificateRequest)
	if r == nil {
		r = &certificatesv1.PodCertificateRequest{}
	}
	return fields.Set{"spec.signerName": r.Spec.SignerName, "spec.podName": r.Spec.PodName, "spec.nodeName": string(r.Spec.NodeName)}
}

// addFieldLabelConversions registers a field-label conversion for every kind in
// SelectableFields, accepting exactly the labels fieldLabels gives.
func addFieldLabelConversions(s *runtime.Scheme) error {
	for gvk, fn := range SelectableFields() {
		labels := fieldLabels(gvk, fn)
		err := s.AddFieldLabelConversionFunc(gvk, func(label, value string) (string, string, error) {
			if to, ok := labels[label]; ok {
				return to, value, nil
			}
			return "", "", fmt.Errorf("field label not supported: %s", label)
		})
		if err != nil {
			return err
		}
	}
	return nil
}

// resourceSliceFields lets a node's agent and a driver list their slices:
// by node (empty for slices not bound to one), driver and pool.
func resourceSliceFields(obj runtime.Object) fields.Set {
	s, _ := obj.(*resourcev1.ResourceSlice)
	if s == nil {
		s = &resourcev1.ResourceSlice{}
	}
	node := ""
	if s.Spec.NodeName != nil {
		node = *s.Spec.NodeName
	}
	return fields.Set{
		resourcev1.ResourceSliceSelectorNodeName: node,
		resourcev1.ResourceSliceSelectorDriver:   s.Spec.Driver,
		resourcev1.ResourceSliceSelectorPoolName: s.Spec.Pool.Name,
	}
}
