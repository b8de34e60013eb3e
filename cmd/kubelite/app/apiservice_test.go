package app_test

import (
	"context"
	"slices"
	"testing"
	"time"

	apiextensionsclient "k8s.io/apiextensions-apiserver/pkg/client/clientset/clientset"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	apiregistrationv1 "k8s.io/kube-aggregator/pkg/apis/apiregistration/v1"
	"k8s.io/kube-aggregator/pkg/apis/apiregistration/v1/helper"
	aggregatorclient "k8s.io/kube-aggregator/pkg/client/clientset_generated/clientset"
	"k8s.io/utils/ptr"

	"github.com/kubelite/kubelite/cmd/kubelite/app/testserver"
)

// TestAPIServices checks the apiregistration.k8s.io APIServices: a local one
// for every served group version and CRD version, available, and a non-local
// one whose Service is missing reported unavailable without breaking
// discovery.
func TestAPIServices(t *testing.T) {
	s := testserver.Start(t)
	ctx := context.Background()
	client := aggregatorclient.NewForConfigOrDie(s.Config).ApiregistrationV1().APIServices()

	groups, err := s.Client.Discovery().ServerGroups()
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"v1."}
	for _, g := range groups.Groups {
		for _, v := range g.Versions {
			if g.Name != apiregistrationv1.GroupName {
				want = append(want, v.Version+"."+g.Name)
			}
		}
	}
	if !slices.Contains(want, "v1.apiextensions.k8s.io") || !slices.Contains(want, "v1.autoscaling") {
		t.Fatalf("discovery lacks groups: %v", want)
	}
	// The core group comes first from /api; /apis starts with apiregistration.k8s.io.
	if len(groups.Groups) < 2 || groups.Groups[1].Name != apiregistrationv1.GroupName {
		t.Errorf("first named group is not apiregistration.k8s.io, as upstream lists it: %v", groups.Groups)
	}

	waitFor := func(what string, ok func() (bool, error)) {
		t.Helper()
		if err := wait.PollUntilContextTimeout(ctx, 100*time.Millisecond, 30*time.Second, true, func(context.Context) (bool, error) { return ok() }); err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	}
	waitFor("local APIServices", func() (bool, error) {
		for _, name := range want {
			got, err := client.Get(ctx, name, metav1.GetOptions{})
			if apierrors.IsNotFound(err) {
				return false, nil
			}
			if err != nil {
				return false, err
			}
			c := helper.GetAPIServiceConditionByType(got, apiregistrationv1.Available)
			if got.Spec.Service != nil || c == nil || c.Status != apiregistrationv1.ConditionTrue || c.Reason != "Local" {
				t.Errorf("%s: service %v, available %+v", name, got.Spec.Service, c)
			}
		}
		return true, nil
	})
	apps, err := client.Get(ctx, "v1.apps", metav1.GetOptions{})
	if err != nil || apps.Spec.GroupPriorityMinimum != 17800 || apps.Spec.VersionPriority != 15 {
		t.Errorf("v1.apps: %+v %v, want upstream's priorities 17800/15", apps, err)
	}

	t.Run("a non-local APIService with a missing service", func(t *testing.T) {
		metrics := &apiregistrationv1.APIService{
			ObjectMeta: metav1.ObjectMeta{Name: "v1beta1.metrics.k8s.io"},
			Spec: apiregistrationv1.APIServiceSpec{
				Group: "metrics.k8s.io", Version: "v1beta1", GroupPriorityMinimum: 100, VersionPriority: 100,
				Service:               &apiregistrationv1.ServiceReference{Namespace: "kube-system", Name: "metrics-server"},
				InsecureSkipTLSVerify: true,
			},
		}
		created, err := client.Create(ctx, metrics, metav1.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if p := created.Spec.Service.Port; p == nil || *p != 443 {
			t.Errorf("service port %v, want the default 443", p)
		}
		waitFor("ServiceNotFound", func() (bool, error) {
			got, err := client.Get(ctx, metrics.Name, metav1.GetOptions{})
			if err != nil {
				return false, err
			}
			c := helper.GetAPIServiceConditionByType(got, apiregistrationv1.Available)
			return c != nil && c.Status == apiregistrationv1.ConditionFalse && c.Reason == "ServiceNotFound", nil
		})
		if _, _, err := s.Client.Discovery().ServerGroupsAndResources(); err != nil {
			t.Errorf("discovery with an unavailable APIService: %v", err)
		}
		groups, err := s.Client.Discovery().ServerGroups()
		if err != nil {
			t.Fatal(err)
		}
		for _, g := range groups.Groups {
			if g.Name == "metrics.k8s.io" {
				t.Errorf("discovery lists the unavailable group %v", g)
			}
		}
		// Invalid: the name must be version.group.
		bad := metrics.DeepCopy()
		bad.Name = "metrics"
		_, err = client.Create(ctx, bad, metav1.CreateOptions{})
		if status, ok := err.(apierrors.APIStatus); !ok || !apierrors.IsInvalid(err) || status.Status().Details.Causes[0].Field != "metadata.name" {
			t.Errorf("misnamed APIService: %v", err)
		}
	})

	t.Run("CRD versions come and go", func(t *testing.T) {
		x := apiextensionsclient.NewForConfigOrDie(s.Config).ApiextensionsV1().CustomResourceDefinitions()
		crd := widgetCRD()
		crd.Spec.Versions[0].Subresources = nil
		crd.Spec.Versions = append(crd.Spec.Versions, *crd.Spec.Versions[0].DeepCopy())
		crd.Spec.Versions[1].Name, crd.Spec.Versions[1].Storage, crd.Spec.Versions[1].Served = "v2alpha1", false, false
		if _, err := x.Create(ctx, crd, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		waitFor("v1.example.com", func() (bool, error) {
			got, err := client.Get(ctx, "v1.example.com", metav1.GetOptions{})
			if apierrors.IsNotFound(err) {
				return false, nil
			}
			return err == nil && got.Spec.GroupPriorityMinimum == 1000 && got.Spec.VersionPriority == 100, err
		})
		if _, err := client.Get(ctx, "v2alpha1.example.com", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
			t.Errorf("an unserved CRD version has an APIService: %v", err)
		}
		if err := x.Delete(ctx, crd.Name, metav1.DeleteOptions{GracePeriodSeconds: ptr.To[int64](0)}); err != nil {
			t.Fatal(err)
		}
		waitFor("v1.example.com to go", func() (bool, error) {
			_, err := client.Get(ctx, "v1.example.com", metav1.GetOptions{})
			return apierrors.IsNotFound(err), nil
		})
	})
}
