package table

import (
	"time"

	certificatesv1 "k8s.io/api/certificates/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/duration"
	"k8s.io/apiserver/pkg/registry/rest"
)

// CertificateSigningRequests returns the table convertor for certificate
// signing requests: Name, Age, SignerName, Requestor, RequestedDuration,
// Condition (the column order upstream uses).
//
// SignerName is "<none>" when empty, Requestor the requesting user and
// RequestedDuration spec.expirationSeconds as a duration ("<none>" when
// unset). Condition is Denied, else Approved, else Pending, followed by
// ",Failed" with a Failed condition and ",Issued" once a certificate is
// set. Any condition of a type counts, whatever its status.
func CertificateSigningRequests() rest.TableConvertor {
	spec := certificatesv1.CertificateSigningRequestSpec{}.SwaggerDoc()
	columns := []metav1.TableColumnDefinition{
		nameColumn(),
		ageColumn(),
		column("SignerName", spec["signerName"]),
		column("Requestor", spec["request"]),
		column("RequestedDuration", spec["expirationSeconds"]),
		column("Condition", certificatesv1.CertificateSigningRequestStatus{}.SwaggerDoc()["conditions"]),
	}
	return newConvertor(columns, cells(func(csr *certificatesv1.CertificateSigningRequest, now time.Time) []interface{} {
		requested := "<none>"
		if s := csr.Spec.ExpirationSeconds; s != nil {
			requested = duration.HumanDuration(time.Duration(*s) * time.Second)
		}
		return []interface{}{csr.Name, age(csr.CreationTimestamp, now), orNone(csr.Spec.SignerName), csr.Spec.Username, requested, csrCondition(csr)}
	}))
}

// csrCondition is the Condition cell.
func csrCondition(csr *certificatesv1.CertificateSigningRequest) string {
	var approved, denied, failed bool
	for _, c := range csr.Status.Conditions {
		switch c.Type {
		case certificatesv1.CertificateApproved:
			approved = true
		case certificatesv1.CertificateDenied:
			denied = true
		case certificatesv1.CertificateFailed:
			failed = true
		}
	}
	status := "Pending"
	switch {
	case denied:
		status = "Denied"
	case approved:
		status = "Approved"
	}
	if failed {
		status += ",Failed"
	}
	if len(csr.Status.Certificate) > 0 {
		status += ",Issued"
	}
	return status
}

// ClusterTrustBundles returns the table convertor for cluster trust bundles:
// Name, SignerName ("<none>" when unset).
func ClusterTrustBundles() rest.TableConvertor {
	columns := []metav1.TableColumnDefinition{
		nameColumn(),
		column("SignerName", certificatesv1.ClusterTrustBundleSpec{}.SwaggerDoc()["signerName"]),
	}
	return newConvertor(columns, cells(func(b *certificatesv1.ClusterTrustBundle, _ time.Time) []interface{} {
		return []interface{}{b.Name, orNone(b.Spec.SignerName)}
	}))
}

// PodCertificateRequests returns the table convertor for pod certificate
// requests: Name, PodName, ServiceAccountName, NodeName, SignerName, State
// (Issued, Denied or Failed after the condition of that type, else Pending)
// and UnverifiedUserAnnotations (as key=value pairs, "<none>" when empty).
func PodCertificateRequests() rest.TableConvertor {
	spec := certificatesv1.PodCertificateRequestSpec{}.SwaggerDoc()
	columns := []metav1.TableColumnDefinition{
		nameColumn(),
		column("PodName", spec["podName"]),
		column("ServiceAccountName", spec["serviceAccountName"]),
		column("NodeName", spec["nodeName"]),
		column("SignerName", spec["signerName"]),
		column("State", "Is the request Pending, Issued, Denied, or Failed?"),
		column("UnverifiedUserAnnotations", spec["unverifiedUserAnnotations"]),
	}
	return newConvertor(columns, cells(func(r *certificatesv1.PodCertificateRequest, _ time.Time) []interface{} {
		state := "Pending"
		for _, c := range r.Status.Conditions {
			switch c.Type {
			case certificatesv1.PodCertificateRequestConditionTypeIssued, certificatesv1.PodCertificateRequestConditionTypeDenied, certificatesv1.PodCertificateRequestConditionTypeFailed:
				state = c.Type
			}
		}
		return []interface{}{r.Name, r.Spec.PodName, r.Spec.ServiceAccountName, string(r.Spec.NodeName), r.Spec.SignerName, state,
			labels.FormatLabels(r.Spec.UnverifiedUserAnnotations)}
	}))
}
