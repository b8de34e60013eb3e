package validation

import (
	"testing"

	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func podReader() rbacv1.PolicyRule {
	return rbacv1.PolicyRule{Verbs: []string{"get", "list"}, APIGroups: []string{""}, Resources: []string{"pods"}}
}

func TestRole(t *testing.T) {
	tests := []struct {
		name   string
		mutate func(r *rbacv1.Role)
		want   []string
	}{
		{name: "valid", mutate: func(*rbacv1.Role) {}},
		{name: "path segment names allowed", mutate: func(r *rbacv1.Role) { r.Name = "system:Pod Reader" }},
		{name: "name not a path segment", mutate: func(r *rbacv1.Role) { r.Name = "a/b" },
			want: []string{"FieldValueInvalid metadata.name"}},
		{name: "namespace required", mutate: func(r *rbacv1.Role) { r.Namespace = "" },
			want: []string{"FieldValueRequired metadata.namespace"}},
		{name: "verbs required", mutate: func(r *rbacv1.Role) { r.Rules[0].Verbs = nil },
			want: []string{"FieldValueRequired rules[0].verbs"}},
		{name: "groups and resources required", mutate: func(r *rbacv1.Role) {
			r.Rules = append(r.Rules, rbacv1.PolicyRule{Verbs: []string{"get"}})
		}, want: []string{"FieldValueRequired rules[1].apiGroups", "FieldValueRequired rules[1].resources"}},
		{name: "no non-resource URLs in a namespace", mutate: func(r *rbacv1.Role) {
			r.Rules = []rbacv1.PolicyRule{{Verbs: []string{"get"}, NonResourceURLs: []string{"/healthz"}}}
		}, want: []string{"FieldValueInvalid rules[0].nonResourceURLs"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := &rbacv1.Role{ObjectMeta: meta(), Rules: []rbacv1.PolicyRule{podReader()}}
			tc.mutate(r)
			checkErrs(t, Role(r), tc.want)
		})
	}
	old := &rbacv1.Role{ObjectMeta: meta(), Rules: []rbacv1.PolicyRule{podReader()}}
	r := old.DeepCopy()
	r.Rules = append(r.Rules, rbacv1.PolicyRule{Verbs: []string{"get"}, APIGroups: []string{"apps"}, Resources: []string{"deployments"}})
	checkErrs(t, RoleUpdate(r, old), nil)
	r.Rules[1].Verbs = nil
	r.Namespace = "other"
	checkErrs(t, RoleUpdate(r, old), []string{"FieldValueRequired rules[1].verbs", "FieldValueInvalid metadata.namespace"})
}

func validClusterRole() *rbacv1.ClusterRole {
	return &rbacv1.ClusterRole{
		ObjectMeta: metav1.ObjectMeta{Name: "monitoring", ResourceVersion: "1"},
		Rules:      []rbacv1.PolicyRule{podReader(), {Verbs: []string{"get"}, NonResourceURLs: []string{"/metrics"}}},
		AggregationRule: &rbacv1.AggregationRule{ClusterRoleSelectors: []metav1.LabelSelector{
			{MatchLabels: map[string]string{"rbac.example.com/aggregate-to-monitoring": "true"}},
		}},
	}
}

func TestClusterRole(t *testing.T) {
	tests := []struct {
		name   string
		mutate func(r *rbacv1.ClusterRole)
		want   []string
	}{
		{name: "valid", mutate: func(*rbacv1.ClusterRole) {}},
		{name: "namespace forbidden", mutate: func(r *rbacv1.ClusterRole) { r.Namespace = "default" },
			want: []string{"FieldValueForbidden metadata.namespace"}},
		{name: "URLs and resources in one rule", mutate: func(r *rbacv1.ClusterRole) { r.Rules[1].Resources = []string{"pods"} },
			want: []string{"FieldValueInvalid rules[1].nonResourceURLs"}},
		{name: "selectors required", mutate: func(r *rbacv1.ClusterRole) { r.AggregationRule.ClusterRoleSelectors = nil },
			want: []string{"FieldValueRequired aggregationRule.clusterRoleSelectors"}},
		{name: "bad selector", mutate: func(r *rbacv1.ClusterRole) {
			r.AggregationRule.ClusterRoleSelectors[0].MatchExpressions = []metav1.LabelSelectorRequirement{{Key: "tier", Operator: "Near"}}
		}, want: []string{"FieldValueInvalid aggregationRule.clusterRoleSelectors[0].matchExpressions[0].operator", "FieldValueInvalid aggregationRule.clusterRoleSelectors[0]"}},
		{name: "bad selector value", mutate: func(r *rbacv1.ClusterRole) {
			r.AggregationRule.ClusterRoleSelectors[0].MatchLabels = map[string]string{"tier": "-bad"}
		}, want: []string{"FieldValueInvalid aggregationRule.clusterRoleSelectors[0].matchLabels", "FieldValueInvalid aggregationRule.clusterRoleSelectors[0]"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := validClusterRole()
			tc.mutate(r)
			checkErrs(t, ClusterRole(r), tc.want)
		})
	}
}

func TestClusterRoleUpdate(t *testing.T) {
	old := validClusterRole()
	old.AggregationRule.ClusterRoleSelectors[0].MatchExpressions = []metav1.LabelSelectorRequirement{{Key: "tier", Operator: metav1.LabelSelectorOpIn, Values: []string{"-bad"}}}
	r := old.DeepCopy()
	r.Rules = r.Rules[:1]
	// As upstream, only the value check is relaxed; parsing the selector still fails.
	checkErrs(t, ClusterRoleUpdate(r, old), []string{"FieldValueInvalid aggregationRule.clusterRoleSelectors[0]"})
	checkErrs(t, ClusterRole(r), []string{"FieldValueInvalid aggregationRule.clusterRoleSelectors[0].matchExpressions[0].values[0]", "FieldValueInvalid aggregationRule.clusterRoleSelectors[0]"})
	r.Rules[0].Verbs = nil
	checkErrs(t, ClusterRoleUpdate(r, old), []string{"FieldValueRequired rules[0].verbs", "FieldValueInvalid aggregationRule.clusterRoleSelectors[0]"})
}

func validRoleBinding() *rbacv1.RoleBinding {
	return &rbacv1.RoleBinding{
		ObjectMeta: meta(),
		RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "Role", Name: "pod-reader"},
		Subjects: []rbacv1.Subject{
			{Kind: rbacv1.ServiceAccountKind, Name: "builder"},
			{Kind: rbacv1.UserKind, APIGroup: rbacv1.GroupName, Name: "jane@example.com"},
			{Kind: rbacv1.GroupKind, APIGroup: rbacv1.GroupName, Name: "system:authenticated"},
		},
	}
}

func TestRoleBinding(t *testing.T) {
	tests := []struct {
		name   string
		mutate func(b *rbacv1.RoleBinding)
		want   []string
	}{
		{name: "valid", mutate: func(*rbacv1.RoleBinding) {}},
		{name: "cluster role ref", mutate: func(b *rbacv1.RoleBinding) { b.RoleRef.Kind = "ClusterRole" }},
		{name: "bad role ref", mutate: func(b *rbacv1.RoleBinding) { b.RoleRef = rbacv1.RoleRef{APIGroup: "rbac", Kind: "Policy"} },
			want: []string{"FieldValueNotSupported roleRef.apiGroup", "FieldValueNotSupported roleRef.kind", "FieldValueRequired roleRef.name"}},
		{name: "role ref name", mutate: func(b *rbacv1.RoleBinding) { b.RoleRef.Name = ".." },
			want: []string{"FieldValueInvalid roleRef.name"}},
		{name: "service account subject", mutate: func(b *rbacv1.RoleBinding) {
			b.Subjects[0].Name = "Builder"
			b.Subjects[0].APIGroup = rbacv1.GroupName
		}, want: []string{"FieldValueInvalid subjects[0].name", "FieldValueNotSupported subjects[0].apiGroup"}},
		{name: "user and group api group", mutate: func(b *rbacv1.RoleBinding) {
			b.Subjects[1].APIGroup = ""
			b.Subjects[2].APIGroup = "v1"
		}, want: []string{"FieldValueNotSupported subjects[1].apiGroup", "FieldValueNotSupported subjects[2].apiGroup"}},
		{name: "subject kind and name", mutate: func(b *rbacv1.RoleBinding) { b.Subjects[1] = rbacv1.Subject{Kind: "Robot"} },
			want: []string{"FieldValueRequired subjects[1].name", "FieldValueNotSupported subjects[1].kind"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b := validRoleBinding()
			tc.mutate(b)
			checkErrs(t, RoleBinding(b), tc.want)
		})
	}
	old := validRoleBinding()
	b := old.DeepCopy()
	b.Subjects = b.Subjects[:1]
	checkErrs(t, RoleBindingUpdate(b, old), nil)
	b.RoleRef.Name = "pod-writer"
	checkErrs(t, RoleBindingUpdate(b, old), []string{"FieldValueInvalid roleRef"})
}

func TestClusterRoleBinding(t *testing.T) {
	valid := func() *rbacv1.ClusterRoleBinding {
		return &rbacv1.ClusterRoleBinding{
			ObjectMeta: metav1.ObjectMeta{Name: "monitoring", ResourceVersion: "1"},
			RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: "monitoring"},
			Subjects:   []rbacv1.Subject{{Kind: rbacv1.ServiceAccountKind, Name: "prometheus", Namespace: "monitoring"}},
		}
	}
	tests := []struct {
		name   string
		mutate func(b *rbacv1.ClusterRoleBinding)
		want   []string
	}{
		{name: "valid", mutate: func(*rbacv1.ClusterRoleBinding) {}},
		{name: "only cluster roles", mutate: func(b *rbacv1.ClusterRoleBinding) { b.RoleRef.Kind = "Role" },
			want: []string{"FieldValueNotSupported roleRef.kind"}},
		{name: "service account namespace required", mutate: func(b *rbacv1.ClusterRoleBinding) { b.Subjects[0].Namespace = "" },
			want: []string{"FieldValueRequired subjects[0].namespace"}},
		{name: "namespace forbidden", mutate: func(b *rbacv1.ClusterRoleBinding) { b.Namespace = "default" },
			want: []string{"FieldValueForbidden metadata.namespace"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b := valid()
			tc.mutate(b)
			checkErrs(t, ClusterRoleBinding(b), tc.want)
		})
	}
	old := valid()
	b := old.DeepCopy()
	b.Subjects = nil
	checkErrs(t, ClusterRoleBindingUpdate(b, old), nil)
	b.RoleRef.Name = "admin"
	checkErrs(t, ClusterRoleBindingUpdate(b, old), []string{"FieldValueInvalid roleRef"})
}
