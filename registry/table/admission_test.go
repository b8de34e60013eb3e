package table

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apiserver/pkg/registry/rest"
)

func TestAdmissionColumns(t *testing.T) {
	webhooks := []col{str("Name"), integer("Webhooks"), str("Age")}
	testColumns(t, []columnCase{
		{"mutatingwebhookconfigurations", MutatingWebhookConfigurations(), webhooks},
		{"validatingwebhookconfigurations", ValidatingWebhookConfigurations(), webhooks},
		{"validatingadmissionpolicies", ValidatingAdmissionPolicies(), []col{str("Name"), integer("Validations"), str("ParamKind"), str("Age")}},
		{"validatingadmissionpolicybindings", ValidatingAdmissionPolicyBindings(), []col{str("Name"), str("PolicyName"), str("ParamRef"), str("Age")}},
		{"mutatingadmissionpolicies", MutatingAdmissionPolicies(), []col{str("Name"), integer("Mutations"), str("ParamKind"), str("Age")}},
		{"mutatingadmissionpolicybindings", MutatingAdmissionPolicyBindings(), []col{str("Name"), str("PolicyName"), str("ParamRef"), str("Age")}},
	})
}

func TestAdmissionCells(t *testing.T) {
	meta := metav1.ObjectMeta{Name: "policy", CreationTimestamp: ago(6 * time.Minute)}
	binding := func(ref *admissionregistrationv1.ParamRef) *admissionregistrationv1.ValidatingAdmissionPolicyBinding {
		return &admissionregistrationv1.ValidatingAdmissionPolicyBinding{ObjectMeta: meta,
			Spec: admissionregistrationv1.ValidatingAdmissionPolicyBindingSpec{PolicyName: "replicas-limit", ParamRef: ref}}
	}
	tests := []struct {
		name string
		tc   rest.TableConvertor
		obj  runtime.Object
		want []interface{}
	}{{
		name: "mutating webhooks",
		tc:   MutatingWebhookConfigurations(),
		obj: &admissionregistrationv1.MutatingWebhookConfiguration{ObjectMeta: meta,
			Webhooks: []admissionregistrationv1.MutatingWebhook{{Name: "a.example.com"}, {Name: "b.example.com"}}},
		want: []interface{}{"policy", int64(2), "6m"},
	}, {
		name: "validating webhooks",
		tc:   ValidatingWebhookConfigurations(),
		obj:  &admissionregistrationv1.ValidatingWebhookConfiguration{ObjectMeta: meta},
		want: []interface{}{"policy", int64(0), "6m"},
	}, {
		name: "policy with param kind",
		tc:   ValidatingAdmissionPolicies(),
		obj: &admissionregistrationv1.ValidatingAdmissionPolicy{ObjectMeta: meta, Spec: admissionregistrationv1.ValidatingAdmissionPolicySpec{
			ParamKind:   &admissionregistrationv1.ParamKind{APIVersion: "rules.example.com/v1", Kind: "ReplicaLimit"},
			Validations: []admissionregistrationv1.Validation{{Expression: "true"}, {Expression: "false"}, {Expression: "1 == 1"}},
		}},
		want: []interface{}{"policy", int64(3), "rules.example.com/v1/ReplicaLimit", "6m"},
	}, {
		name: "policy without param kind",
		tc:   ValidatingAdmissionPolicies(),
		obj:  &admissionregistrationv1.ValidatingAdmissionPolicy{ObjectMeta: meta},
		want: []interface{}{"policy", int64(0), "<unset>", "6m"},
	}, {
		name: "binding to a namespaced param",
		tc:   ValidatingAdmissionPolicyBindings(),
		obj:  binding(&admissionregistrationv1.ParamRef{Namespace: "ns", Name: "limits"}),
		want: []interface{}{"policy", "replicas-limit", "ns/limits", "6m"},
	}, {
		name: "binding to a param without namespace",
		tc:   ValidatingAdmissionPolicyBindings(),
		obj:  binding(&admissionregistrationv1.ParamRef{Name: "limits"}),
		want: []interface{}{"policy", "replicas-limit", "*/limits", "6m"},
	}, {
		name: "binding by selector",
		tc:   ValidatingAdmissionPolicyBindings(),
		obj:  binding(&admissionregistrationv1.ParamRef{Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"env": "prod"}}}),
		want: []interface{}{"policy", "replicas-limit", "&LabelSelector{MatchLabels:map[string]string{env: prod,},MatchExpressions:[]LabelSelectorRequirement{},}", "6m"},
	}, {
		name: "binding with an empty param ref",
		tc:   ValidatingAdmissionPolicyBindings(),
		obj:  binding(&admissionregistrationv1.ParamRef{Namespace: "ns"}),
		want: []interface{}{"policy", "replicas-limit", "<unset>", "6m"},
	}, {
		name: "mutating policy",
		tc:   MutatingAdmissionPolicies(),
		obj: &admissionregistrationv1.MutatingAdmissionPolicy{ObjectMeta: meta, Spec: admissionregistrationv1.MutatingAdmissionPolicySpec{
			Mutations: []admissionregistrationv1.Mutation{{PatchType: admissionregistrationv1.PatchTypeJSONPatch}},
		}},
		want: []interface{}{"policy", int64(1), "<unset>", "6m"},
	}, {
		name: "mutating binding",
		tc:   MutatingAdmissionPolicyBindings(),
		obj: &admissionregistrationv1.MutatingAdmissionPolicyBinding{ObjectMeta: meta, Spec: admissionregistrationv1.MutatingAdmissionPolicyBindingSpec{
			PolicyName: "add-label", ParamRef: &admissionregistrationv1.ParamRef{Name: "p"},
		}},
		want: []interface{}{"policy", "add-label", "*/p", "6m"},
	}, {
		name: "binding without param ref",
		tc:   ValidatingAdmissionPolicyBindings(),
		obj:  binding(nil),
		want: []interface{}{"policy", "replicas-limit", "<unset>", "6m"},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			row := rowOf(t, tt.tc, tt.obj)
			if diff := cmp.Diff(tt.want, row.Cells); diff != "" {
				t.Errorf("cells (-want +got):\n%s", diff)
			}
		})
	}
}
