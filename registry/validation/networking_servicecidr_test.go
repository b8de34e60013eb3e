package validation

import (
	"testing"

	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func validServiceCIDR() *networkingv1.ServiceCIDR {
	return &networkingv1.ServiceCIDR{
		ObjectMeta: metav1.ObjectMeta{Name: "extra", ResourceVersion: "1"},
		Spec:       networkingv1.ServiceCIDRSpec{CIDRs: []string{"10.96.0.0/16"}},
	}
}

func TestServiceCIDR(t *testing.T) {
	tests := []struct {
		name   string
		mutate func(c *networkingv1.ServiceCIDR)
		want   []string
	}{
		{name: "valid", mutate: func(*networkingv1.ServiceCIDR) {}},
		{name: "dual stack", mutate: func(c *networkingv1.ServiceCIDR) { c.Spec.CIDRs = append(c.Spec.CIDRs, "fd00:10:96::/112") }},
		{name: "name", mutate: func(c *networkingv1.ServiceCIDR) { c.Name = "Bad_Name" },
			want: []string{"FieldValueInvalid metadata.name"}},
		{name: "cluster scoped", mutate: func(c *networkingv1.ServiceCIDR) { c.Namespace = "default" },
			want: []string{"FieldValueForbidden metadata.namespace"}},
		{name: "cidrs required", mutate: func(c *networkingv1.ServiceCIDR) { c.Spec.CIDRs = nil },
			want: []string{"FieldValueRequired spec.cidrs"}},
		{name: "at most two", mutate: func(c *networkingv1.ServiceCIDR) {
			c.Spec.CIDRs = []string{"10.0.0.0/24", "fd00::/64", "10.1.0.0/24"}
		}, want: []string{"FieldValueInvalid spec.cidrs"}},
		{name: "one per family", mutate: func(c *networkingv1.ServiceCIDR) { c.Spec.CIDRs = []string{"10.0.0.0/24", "10.1.0.0/24"} },
			want: []string{"FieldValueInvalid spec.cidrs"}},
		{name: "not a CIDR", mutate: func(c *networkingv1.ServiceCIDR) { c.Spec.CIDRs = []string{"10.0.0.1"} },
			want: []string{"FieldValueInvalid spec.cidrs[0]"}},
		{name: "not canonical", mutate: func(c *networkingv1.ServiceCIDR) { c.Spec.CIDRs = []string{"10.0.0.1/24"} },
			want: []string{"FieldValueInvalid spec.cidrs[0]"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := validServiceCIDR()
			tc.mutate(c)
			checkErrs(t, ServiceCIDR(c), tc.want)
		})
	}
}

func TestServiceCIDRUpdate(t *testing.T) {
	tests := []struct {
		name   string
		mutate func(c *networkingv1.ServiceCIDR)
		want   []string
	}{
		{name: "labels", mutate: func(c *networkingv1.ServiceCIDR) { c.Labels = map[string]string{"a": "b"} }},
		{name: "add the other family", mutate: func(c *networkingv1.ServiceCIDR) { c.Spec.CIDRs = append(c.Spec.CIDRs, "fd00::/108") }},
		{name: "add the same family", mutate: func(c *networkingv1.ServiceCIDR) { c.Spec.CIDRs = append(c.Spec.CIDRs, "10.1.0.0/16") },
			want: []string{"FieldValueInvalid spec.cidrs"}},
		{name: "change", mutate: func(c *networkingv1.ServiceCIDR) { c.Spec.CIDRs = []string{"10.97.0.0/16"} },
			want: []string{"FieldValueInvalid spec.cidrs[0]"}},
		{name: "change while adding", mutate: func(c *networkingv1.ServiceCIDR) { c.Spec.CIDRs = []string{"10.97.0.0/16", "fd00::/108"} },
			want: []string{"FieldValueInvalid spec.cidrs[0]"}},
		{name: "remove", mutate: func(c *networkingv1.ServiceCIDR) { c.Spec.CIDRs = nil },
			want: []string{"FieldValueInvalid spec.cidrs"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			old := validServiceCIDR()
			c := old.DeepCopy()
			tc.mutate(c)
			checkErrs(t, ServiceCIDRUpdate(c, old), tc.want)
		})
	}
}

func validIPAddress() *networkingv1.IPAddress {
	return &networkingv1.IPAddress{
		ObjectMeta: metav1.ObjectMeta{Name: "10.96.0.10", ResourceVersion: "1"},
		Spec: networkingv1.IPAddressSpec{ParentRef: &networkingv1.ParentReference{
			Resource: "services", Namespace: "kube-system", Name: "kube-dns",
		}},
	}
}

func TestIPAddress(t *testing.T) {
	tests := []struct {
		name   string
		mutate func(ip *networkingv1.IPAddress)
		want   []string
	}{
		{name: "valid", mutate: func(*networkingv1.IPAddress) {}},
		{name: "ipv6", mutate: func(ip *networkingv1.IPAddress) { ip.Name = "fe80::42:1dff:fe84:f9e2" }},
		{name: "broadcast", mutate: func(ip *networkingv1.IPAddress) { ip.Name = "255.255.255.255" }},
		{name: "cluster scoped parent", mutate: func(ip *networkingv1.IPAddress) {
			ip.Spec.ParentRef = &networkingv1.ParentReference{Group: "example.com", Resource: "gateways", Name: "gw"}
		}},
		{name: "not an IP", mutate: func(ip *networkingv1.IPAddress) { ip.Name = "kube-dns" },
			want: []string{"FieldValueInvalid metadata.name"}},
		{name: "not canonical", mutate: func(ip *networkingv1.IPAddress) { ip.Name = "2001:DB8::1" },
			want: []string{"FieldValueInvalid metadata.name"}},
		{name: "leading zeros", mutate: func(ip *networkingv1.IPAddress) { ip.Name = "10.096.0.10" },
			want: []string{"FieldValueInvalid metadata.name"}},
		{name: "parent required", mutate: func(ip *networkingv1.IPAddress) { ip.Spec.ParentRef = nil },
			want: []string{"FieldValueRequired spec.parentRef"}},
		{name: "parent fields", mutate: func(ip *networkingv1.IPAddress) {
			ip.Spec.ParentRef = &networkingv1.ParentReference{Group: "Bad_Group", Namespace: "a/b"}
		}, want: []string{
			"FieldValueInvalid spec.parentRef.group",
			"FieldValueRequired spec.parentRef.resource",
			"FieldValueRequired spec.parentRef.name",
			"FieldValueInvalid spec.parentRef.namespace",
		}},
		{name: "path segments", mutate: func(ip *networkingv1.IPAddress) {
			ip.Spec.ParentRef.Resource, ip.Spec.ParentRef.Name = "..", "a%b"
		}, want: []string{"FieldValueInvalid spec.parentRef.resource", "FieldValueInvalid spec.parentRef.name"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ip := validIPAddress()
			tc.mutate(ip)
			checkErrs(t, IPAddress(ip), tc.want)
		})
	}
}

func TestIPAddressUpdate(t *testing.T) {
	old := validIPAddress()
	ip := old.DeepCopy()
	ip.Annotations = map[string]string{"a": "b"}
	checkErrs(t, IPAddressUpdate(ip, old), nil)
	ip.Spec.ParentRef.Name = "other"
	checkErrs(t, IPAddressUpdate(ip, old), []string{"FieldValueInvalid spec.parentRef"})
}
