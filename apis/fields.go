package apis

import (
	"fmt"
	"strconv"
	"strings"

	batchv1 "k8s.io/api/batch/v1"
	certificatesv1 "k8s.io/api/certificates/v1"
	corev1 "k8s.io/api/core/v1"
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
		certificatesv1.SchemeGroupVersion.WithKind("ClusterTrustBundle"):        trustBundleFields,
		certificatesv1.SchemeGroupVersion.WithKind("PodCertificateRequest"):     podCertificateFields,
	}
}

// fieldAliases maps legacy field labels to the ones they stand for.
func fieldAliases(gvk schema.GroupVersionKind) map[string]string {
	if gvk == corev1.SchemeGroupVersion.WithKind("Pod") {
		return map[string]string{"spec.host": "spec.nodeName"}
	}
	return nil
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
// SelectableFields, accepting exactly the keys its FieldsFunc returns.
func addFieldLabelConversions(s *runtime.Scheme) error {
	for gvk, fn := range SelectableFields() {
		keys := fn(nil)
		keys["metadata.name"] = ""
		keys["metadata.namespace"] = ""
		aliases := fieldAliases(gvk)
		err := s.AddFieldLabelConversionFunc(gvk, func(label, value string) (string, string, error) {
			if to, ok := aliases[label]; ok {
				return to, value, nil
			}
			if _, ok := keys[label]; ok {
				return label, value, nil
			}
			return "", "", fmt.Errorf("field label not supported: %s", label)
		})
		if err != nil {
			return err
		}
	}
	return nil
}
