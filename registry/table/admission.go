package table

import (
	"time"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apiserver/pkg/registry/rest"
)

// webhooksDoc describes the Webhooks column of both webhook configurations.
const webhooksDoc = "Webhooks indicates the number of webhooks registered in this configuration"

// MutatingWebhookConfigurations returns the table convertor for mutating
// webhook configurations: Name, Webhooks (how many), Age.
func MutatingWebhookConfigurations() rest.TableConvertor {
	return newConvertor(webhookColumns(), cells(func(c *admissionregistrationv1.MutatingWebhookConfiguration, now time.Time) []interface{} {
		return []interface{}{c.Name, int64(len(c.Webhooks)), age(c.CreationTimestamp, now)}
	}))
}

// ValidatingWebhookConfigurations returns the table convertor for validating
// webhook configurations: Name, Webhooks (how many), Age.
func ValidatingWebhookConfigurations() rest.TableConvertor {
	return newConvertor(webhookColumns(), cells(func(c *admissionregistrationv1.ValidatingWebhookConfiguration, now time.Time) []interface{} {
		return []interface{}{c.Name, int64(len(c.Webhooks)), age(c.CreationTimestamp, now)}
	}))
}

func webhookColumns() []metav1.TableColumnDefinition {
	return []metav1.TableColumnDefinition{
		nameColumn(),
		typed(column("Webhooks", webhooksDoc), "integer"),
		ageColumn(),
	}
}

// ValidatingAdmissionPolicies returns the table convertor for validating
// admission policies: Name, Validations (how many), ParamKind
// ("apiVersion/Kind" or "<unset>"), Age.
func ValidatingAdmissionPolicies() rest.TableConvertor {
	columns := []metav1.TableColumnDefinition{
		nameColumn(),
		typed(column("Validations", "Validations indicates the number of validation rules defined in this configuration"), "integer"),
		column("ParamKind", "ParamKind specifies the kind of resources used to parameterize this policy"),
		ageColumn(),
	}
	return newConvertor(columns, cells(func(p *admissionregistrationv1.ValidatingAdmissionPolicy, now time.Time) []interface{} {
		kind := "<unset>"
		if k := p.Spec.ParamKind; k != nil {
			kind = k.APIVersion + "/" + k.Kind
		}
		return []interface{}{p.Name, int64(len(p.Spec.Validations)), kind, age(p.CreationTimestamp, now)}
	}))
}

// ValidatingAdmissionPolicyBindings returns the table convertor for
// validating admission policy bindings: Name, PolicyName, ParamRef, Age.
//
// ParamRef reads "namespace/name", "*/name" when the reference has no
// namespace, the selector in its Go struct form when it selects by label,
// or "<unset>".
func ValidatingAdmissionPolicyBindings() rest.TableConvertor {
	columns := []metav1.TableColumnDefinition{
		nameColumn(),
		column("PolicyName", "PolicyName indicates the policy definition which the policy binding binded to"),
		column("ParamRef", "ParamRef indicates the param resource which sets the configuration param"),
		ageColumn(),
	}
	return newConvertor(columns, cells(func(b *admissionregistrationv1.ValidatingAdmissionPolicyBinding, now time.Time) []interface{} {
		return []interface{}{b.Name, b.Spec.PolicyName, paramRefCell(b.Spec.ParamRef), age(b.CreationTimestamp, now)}
	}))
}

// paramRefCell is the ParamRef cell. Upstream cannot tell whether a param
// without a namespace is cluster scoped, so it writes "*" for the namespace,
// and it prints a selector with the protobuf String method; both are kept.
func paramRefCell(ref *admissionregistrationv1.ParamRef) string {
	switch {
	case ref == nil:
		return "<unset>"
	case ref.Name != "" && ref.Namespace != "":
		return ref.Namespace + "/" + ref.Name
	case ref.Name != "":
		return "*/" + ref.Name
	case ref.Selector != nil:
		return ref.Selector.String()
	default:
		return "<unset>"
	}
}

// MutatingAdmissionPolicies returns the table convertor for mutating
// admission policies: Name, Mutations (how many), ParamKind
// ("apiVersion/Kind" or "<unset>"), Age.
func MutatingAdmissionPolicies() rest.TableConvertor {
	columns := []metav1.TableColumnDefinition{
		nameColumn(),
		typed(column("Mutations", "Mutation indicates the number of mutations rules defined in this configuration"), "integer"),
		column("ParamKind", "ParamKind specifies the kind of resources used to parameterize this policy"),
		ageColumn(),
	}
	return newConvertor(columns, cells(func(p *admissionregistrationv1.MutatingAdmissionPolicy, now time.Time) []interface{} {
		kind := "<unset>"
		if k := p.Spec.ParamKind; k != nil {
			kind = k.APIVersion + "/" + k.Kind
		}
		return []interface{}{p.Name, int64(len(p.Spec.Mutations)), kind, age(p.CreationTimestamp, now)}
	}))
}

// MutatingAdmissionPolicyBindings returns the table convertor for mutating
// admission policy bindings: Name, PolicyName, ParamRef (as for validating
// bindings), Age.
func MutatingAdmissionPolicyBindings() rest.TableConvertor {
	columns := []metav1.TableColumnDefinition{
		nameColumn(),
		column("PolicyName", "PolicyName indicates the policy definition which the policy binding binded to"),
		column("ParamRef", "ParamRef indicates the param resource which sets the configuration param"),
		ageColumn(),
	}
	return newConvertor(columns, cells(func(b *admissionregistrationv1.MutatingAdmissionPolicyBinding, now time.Time) []interface{} {
		return []interface{}{b.Name, b.Spec.PolicyName, paramRefCell(b.Spec.ParamRef), age(b.CreationTimestamp, now)}
	}))
}
