package registry_test

import (
	"context"
	"fmt"
	"os"
	"slices"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	appsv1 "k8s.io/api/apps/v1"
	certificatesv1 "k8s.io/api/certificates/v1"
	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	flowcontrolv1 "k8s.io/api/flowcontrol/v1"
	networkingv1 "k8s.io/api/networking/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	apimeta "k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/yaml"

	"github.com/kubelite/kubelite/cmd/kubelite/app/testserver"
)

func pod(name string) *corev1.Pod {
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{"app": "web"}},
		Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Image: "busybox"}}},
	}
}

// TestAPIServer drives one server through the behaviours of the core API.
func TestAPIServer(t *testing.T) {
	s := testserver.Start(t)
	c := s.Client
	ctx := context.Background()

	t.Run("bootstrap objects", func(t *testing.T) {
		for _, ns := range []string{"default", "kube-system", "kube-public", "kube-node-lease"} {
			got, err := c.CoreV1().Namespaces().Get(ctx, ns, metav1.GetOptions{})
			if err != nil {
				t.Fatalf("namespace %s: %v", ns, err)
			}
			if got.Status.Phase != corev1.NamespaceActive || got.Labels[corev1.LabelMetadataName] != ns {
				t.Errorf("namespace %s: phase %q labels %v", ns, got.Status.Phase, got.Labels)
			}
		}
		svc, err := c.CoreV1().Services("default").Get(ctx, "kubernetes", metav1.GetOptions{})
		if err != nil {
			t.Fatalf("kubernetes service: %v", err)
		}
		if svc.Spec.ClusterIP != "10.96.0.1" {
			t.Errorf("kubernetes service clusterIP = %q, want 10.96.0.1", svc.Spec.ClusterIP)
		}
		cidr, err := c.NetworkingV1().ServiceCIDRs().Get(ctx, "kubernetes", metav1.GetOptions{})
		if err != nil {
			t.Fatalf("default service CIDR: %v", err)
		}
		if ready := apimeta.FindStatusCondition(cidr.Status.Conditions, "Ready"); len(cidr.Spec.CIDRs) != 1 || cidr.Spec.CIDRs[0] != "10.96.0.0/12" ||
			ready == nil || ready.Status != metav1.ConditionTrue {
			t.Errorf("default service CIDR = %+v, want 10.96.0.0/12 and Ready", cidr)
		}
		for _, name := range []string{"system-node-critical", "system-cluster-critical"} {
			if _, err := c.SchedulingV1().PriorityClasses().Get(ctx, name, metav1.GetOptions{}); err != nil {
				t.Errorf("priority class %s: %v", name, err)
			}
		}
		for _, name := range []string{"cluster-admin", "admin", "edit", "view", "system:discovery", "system:node"} {
			if _, err := c.RbacV1().ClusterRoles().Get(ctx, name, metav1.GetOptions{}); err != nil {
				t.Errorf("cluster role %s: %v", name, err)
			}
		}
		if _, err := c.RbacV1().ClusterRoleBindings().Get(ctx, "cluster-admin", metav1.GetOptions{}); err != nil {
			t.Errorf("cluster-admin binding: %v", err)
		}
		// view is aggregated from system:aggregate-to-view by the controller manager.
		err = wait.PollUntilContextTimeout(ctx, 100*time.Millisecond, 30*time.Second, true, func(ctx context.Context) (bool, error) {
			view, err := c.RbacV1().ClusterRoles().Get(ctx, "view", metav1.GetOptions{})
			return err == nil && len(view.Rules) > 5, nil
		})
		if err != nil {
			t.Errorf("the view role was never aggregated: %v", err)
		}
		for _, name := range []string{"exempt", "catch-all", "global-default", "service-accounts"} {
			fs, err := c.FlowcontrolV1().FlowSchemas().Get(ctx, name, metav1.GetOptions{})
			if err != nil || fs.Annotations[flowcontrolv1.AutoUpdateAnnotationKey] != "true" {
				t.Errorf("flow schema %s: %v %v", name, fs.Annotations, err)
			}
		}
		for _, name := range []string{"exempt", "catch-all", "global-default", "workload-low"} {
			pl, err := c.FlowcontrolV1().PriorityLevelConfigurations().Get(ctx, name, metav1.GetOptions{})
			if err != nil || pl.Annotations[flowcontrolv1.AutoUpdateAnnotationKey] != "true" {
				t.Errorf("priority level %s: %v %v", name, pl.Annotations, err)
			}
		}
		catchAll, err := c.FlowcontrolV1().FlowSchemas().Get(ctx, "catch-all", metav1.GetOptions{})
		if err == nil {
			catchAll.Spec.MatchingPrecedence = 9000
			if _, err := c.FlowcontrolV1().FlowSchemas().Update(ctx, catchAll, metav1.UpdateOptions{}); !apierrors.IsInvalid(err) {
				t.Errorf("changing the mandatory catch-all flow schema: want 422, got %v", err)
			}
		}
		v, err := c.Discovery().ServerVersion()
		if err != nil || v.GitVersion != "v1.37.2" || v.Minor != "37" {
			t.Errorf("version = %+v, %v", v, err)
		}
	})

	t.Run("create defaults and metadata", func(t *testing.T) {
		s.CreateNamespace(t, "create")
		p := pod("")
		p.GenerateName = "web-"
		got, err := c.CoreV1().Pods("create").Create(ctx, p, metav1.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if got.UID == "" || got.ResourceVersion == "" || got.CreationTimestamp.IsZero() || len(got.Name) <= len("web-") {
			t.Errorf("metadata not filled: %+v", got.ObjectMeta)
		}
		if got.Spec.RestartPolicy != corev1.RestartPolicyAlways || got.Spec.DNSPolicy != corev1.DNSClusterFirst ||
			got.Spec.SchedulerName != "default-scheduler" || ptr.Deref(got.Spec.TerminationGracePeriodSeconds, 0) != 30 ||
			got.Spec.Containers[0].ImagePullPolicy != corev1.PullAlways ||
			got.Spec.Containers[0].TerminationMessagePath != "/dev/termination-log" {
			t.Errorf("pod not defaulted: %+v", got.Spec)
		}
		if got.Status.Phase != corev1.PodPending || got.Status.QOSClass != corev1.PodQOSBestEffort {
			t.Errorf("status = %+v", got.Status)
		}
	})

	t.Run("validation errors carry field paths", func(t *testing.T) {
		p := pod("bad")
		p.Spec.Containers[0].Image = ""
		p.Spec.RestartPolicy = "Sometimes"
		_, err := c.CoreV1().Pods("default").Create(ctx, p, metav1.CreateOptions{})
		if !apierrors.IsInvalid(err) {
			t.Fatalf("want 422 Invalid, got %v", err)
		}
		causes := map[string]bool{}
		for _, cause := range err.(apierrors.APIStatus).Status().Details.Causes {
			causes[cause.Field] = true
		}
		for _, f := range []string{"spec.containers[0].image", "spec.restartPolicy"} {
			if !causes[f] {
				t.Errorf("no cause for %s in %v", f, err)
			}
		}
	})

	t.Run("namespace must exist", func(t *testing.T) {
		_, err := c.CoreV1().ConfigMaps("nowhere").Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "x"}}, metav1.CreateOptions{})
		if !apierrors.IsNotFound(err) {
			t.Fatalf("want NotFound, got %v", err)
		}
	})

	t.Run("optimistic concurrency", func(t *testing.T) {
		cm, err := c.CoreV1().ConfigMaps("default").Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "occ"}, Data: map[string]string{"a": "1"}}, metav1.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		stale := cm.DeepCopy()
		cm.Data["a"] = "2"
		if _, err := c.CoreV1().ConfigMaps("default").Update(ctx, cm, metav1.UpdateOptions{}); err != nil {
			t.Fatal(err)
		}
		stale.Data["a"] = "3"
		if _, err := c.CoreV1().ConfigMaps("default").Update(ctx, stale, metav1.UpdateOptions{}); !apierrors.IsConflict(err) {
			t.Fatalf("stale update: want 409 Conflict, got %v", err)
		}
		cm.ResourceVersion = ""
		if _, err := c.CoreV1().ConfigMaps("default").Create(ctx, cm, metav1.CreateOptions{}); !apierrors.IsAlreadyExists(err) {
			t.Fatalf("duplicate create: want AlreadyExists, got %v", err)
		}
	})

	t.Run("field selectors and pagination", func(t *testing.T) {
		s.CreateNamespace(t, "list")
		for i := 0; i < 5; i++ {
			p := pod(fmt.Sprintf("p%d", i))
			if i%2 == 0 {
				p.Spec.NodeName = "node-a"
			}
			if _, err := c.CoreV1().Pods("list").Create(ctx, p, metav1.CreateOptions{}); err != nil {
				t.Fatal(err)
			}
		}
		l, err := c.CoreV1().Pods("list").List(ctx, metav1.ListOptions{FieldSelector: "spec.nodeName=node-a"})
		if err != nil || len(l.Items) != 3 {
			t.Fatalf("spec.nodeName selector: %d items, %v", len(l.Items), err)
		}
		l, err = c.CoreV1().Pods("").List(ctx, metav1.ListOptions{FieldSelector: "status.phase=Pending,metadata.namespace=list"})
		if err != nil || len(l.Items) != 5 {
			t.Fatalf("status.phase selector: %d items, %v", len(l.Items), err)
		}
		if _, err := c.CoreV1().Pods("list").List(ctx, metav1.ListOptions{FieldSelector: "spec.foo=bar"}); !apierrors.IsBadRequest(err) {
			t.Fatalf("unknown field label: want 400, got %v", err)
		}
		var names []string
		opts := metav1.ListOptions{Limit: 2}
		for {
			page, err := c.CoreV1().Pods("list").List(ctx, opts)
			if err != nil {
				t.Fatal(err)
			}
			if len(page.Items) > 2 {
				t.Fatalf("page of %d items with limit 2", len(page.Items))
			}
			for _, p := range page.Items {
				names = append(names, p.Name)
			}
			if page.Continue == "" {
				break
			}
			opts.Continue = page.Continue
		}
		if diff := cmp.Diff([]string{"p0", "p1", "p2", "p3", "p4"}, names); diff != "" {
			t.Errorf("paged names (-want +got):\n%s", diff)
		}
	})

	t.Run("events.k8s.io field selectors use its own field names", func(t *testing.T) {
		s.CreateNamespace(t, "ev")
		now := metav1.NowMicro()
		for _, ctl := range []string{"example.com/a", "example.com/b"} {
			e := &eventsv1.Event{
				ObjectMeta:          metav1.ObjectMeta{GenerateName: "e-"},
				EventTime:           now,
				ReportingController: ctl, ReportingInstance: "i", Action: "Test", Reason: "Because", Type: "Normal",
				Regarding: corev1.ObjectReference{Kind: "Pod", Namespace: "ev", Name: "p-" + ctl[len(ctl)-1:]},
			}
			if _, err := c.EventsV1().Events("ev").Create(ctx, e, metav1.CreateOptions{}); err != nil {
				t.Fatal(err)
			}
		}
		for sel, want := range map[string]int{
			"reportingController=example.com/a":     1,
			"regarding.name=p-b,regarding.kind=Pod": 1,
			"type=Normal,reason=Because":            2,
		} {
			l, err := c.EventsV1().Events("ev").List(ctx, metav1.ListOptions{FieldSelector: sel})
			if err != nil || len(l.Items) != want {
				t.Errorf("events.k8s.io %q: %d items, %v; want %d", sel, len(l.Items), err, want)
			}
		}
		// The same events through core/v1, under the core names.
		l, err := c.CoreV1().Events("ev").List(ctx, metav1.ListOptions{FieldSelector: "reportingComponent=example.com/b,involvedObject.name=p-b"})
		if err != nil || len(l.Items) != 1 {
			t.Errorf("core/v1 reportingComponent: %d items, %v; want 1", len(l.Items), err)
		}
		if _, err := c.EventsV1().Events("ev").List(ctx, metav1.ListOptions{FieldSelector: "involvedObject.name=p-b"}); !apierrors.IsBadRequest(err) {
			t.Errorf("core field name on events.k8s.io: want 400, got %v", err)
		}
	})

	t.Run("watch resumes from a resourceVersion", func(t *testing.T) {
		cm, err := c.CoreV1().ConfigMaps("default").Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "watched"}}, metav1.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		cm.Data = map[string]string{"k": "v"}
		if _, err := c.CoreV1().ConfigMaps("default").Update(ctx, cm, metav1.UpdateOptions{}); err != nil {
			t.Fatal(err)
		}
		if err := c.CoreV1().ConfigMaps("default").Delete(ctx, "watched", metav1.DeleteOptions{}); err != nil {
			t.Fatal(err)
		}
		w, err := c.CoreV1().ConfigMaps("default").Watch(ctx, metav1.ListOptions{ResourceVersion: cm.ResourceVersion, FieldSelector: "metadata.name=watched"})
		if err != nil {
			t.Fatal(err)
		}
		defer w.Stop()
		var got []watch.EventType
		timeout := time.After(10 * time.Second)
		for len(got) < 2 {
			select {
			case ev := <-w.ResultChan():
				got = append(got, ev.Type)
			case <-timeout:
				t.Fatalf("events so far: %v", got)
			}
		}
		if diff := cmp.Diff([]watch.EventType{watch.Modified, watch.Deleted}, got); diff != "" {
			t.Errorf("events (-want +got):\n%s", diff)
		}
	})

	t.Run("services get cluster IPs and node ports once", func(t *testing.T) {
		svc := &corev1.Service{
			ObjectMeta: metav1.ObjectMeta{Name: "np"},
			Spec: corev1.ServiceSpec{Type: corev1.ServiceTypeNodePort, Selector: map[string]string{"app": "web"},
				Ports: []corev1.ServicePort{{Port: 80}}},
		}
		got, err := c.CoreV1().Services("default").Create(ctx, svc, metav1.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		np := got.Spec.Ports[0].NodePort
		if got.Spec.ClusterIP == "" || np < 30000 || np > 32767 || got.Spec.Ports[0].TargetPort.IntValue() != 80 {
			t.Fatalf("allocation: clusterIP %q nodePort %d targetPort %v", got.Spec.ClusterIP, np, got.Spec.Ports[0].TargetPort)
		}
		dup := &corev1.Service{
			ObjectMeta: metav1.ObjectMeta{Name: "dup"},
			Spec: corev1.ServiceSpec{ClusterIP: got.Spec.ClusterIP, Type: corev1.ServiceTypeNodePort,
				Ports: []corev1.ServicePort{{Port: 80, NodePort: np}}},
		}
		if _, err := c.CoreV1().Services("default").Create(ctx, dup, metav1.CreateOptions{}); !apierrors.IsInvalid(err) {
			t.Fatalf("second service with the same IP: want 422, got %v", err)
		}
		if err := c.CoreV1().Services("default").Delete(ctx, "np", metav1.DeleteOptions{}); err != nil {
			t.Fatal(err)
		}
		if _, err := c.CoreV1().Services("default").Create(ctx, dup, metav1.CreateOptions{}); err != nil {
			t.Fatalf("IP and port were not released on delete: %v", err)
		}
	})

	t.Run("each cluster IP is recorded as an IPAddress of its service", func(t *testing.T) {
		ips := c.NetworkingV1().IPAddresses()
		kube, err := ips.Get(ctx, "10.96.0.1", metav1.GetOptions{})
		if err != nil || kube.Spec.ParentRef == nil || kube.Spec.ParentRef.Name != "kubernetes" {
			t.Fatalf("IPAddress of the kubernetes service: %+v, %v", kube, err)
		}
		svc := &corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: "recorded"},
			Spec: corev1.ServiceSpec{ClusterIP: "10.96.0.88", Ports: []corev1.ServicePort{{Port: 80}}}}
		if _, err := c.CoreV1().Services("default").Create(ctx, svc, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		ip, err := ips.Get(ctx, "10.96.0.88", metav1.GetOptions{})
		if err != nil {
			t.Fatalf("IPAddress of a new service: %v", err)
		}
		want := networkingv1.ParentReference{Resource: "services", Namespace: "default", Name: "recorded"}
		if ip.Spec.ParentRef == nil || *ip.Spec.ParentRef != want ||
			ip.Labels["ipaddress.kubernetes.io/managed-by"] != "ipallocator.k8s.io" || ip.Labels["ipaddress.kubernetes.io/ip-family"] != "IPv4" {
			t.Errorf("IPAddress = %+v", ip)
		}
		if err := c.CoreV1().Services("default").Delete(ctx, "recorded", metav1.DeleteOptions{}); err != nil {
			t.Fatal(err)
		}
		if _, err := ips.Get(ctx, "10.96.0.88", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
			t.Errorf("IPAddress of a deleted service: %v, want NotFound", err)
		}
	})

	t.Run("graceful pod deletion and binding", func(t *testing.T) {
		s.CreateNamespace(t, "grace")
		p, err := c.CoreV1().Pods("grace").Create(ctx, pod("bound"), metav1.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		b := &corev1.Binding{ObjectMeta: metav1.ObjectMeta{Name: "bound", UID: p.UID}, Target: corev1.ObjectReference{Kind: "Node", Name: "node-1"}}
		if err := c.CoreV1().Pods("grace").Bind(ctx, b, metav1.CreateOptions{}); err != nil {
			t.Fatalf("bind: %v", err)
		}
		if err := c.CoreV1().Pods("grace").Bind(ctx, b, metav1.CreateOptions{}); !apierrors.IsConflict(err) {
			t.Fatalf("second bind: want 409, got %v", err)
		}
		if err := c.CoreV1().Pods("grace").Delete(ctx, "bound", metav1.DeleteOptions{}); err != nil {
			t.Fatal(err)
		}
		got, err := c.CoreV1().Pods("grace").Get(ctx, "bound", metav1.GetOptions{})
		if err != nil {
			t.Fatalf("bound pod vanished before its node agent confirmed: %v", err)
		}
		if got.DeletionTimestamp == nil || ptr.Deref(got.DeletionGracePeriodSeconds, 0) != 30 || got.Spec.NodeName != "node-1" {
			t.Fatalf("pod after delete: deletionTimestamp %v grace %v node %q", got.DeletionTimestamp, got.DeletionGracePeriodSeconds, got.Spec.NodeName)
		}
		if err := c.CoreV1().Pods("grace").Delete(ctx, "bound", *metav1.NewDeleteOptions(0)); err != nil {
			t.Fatal(err)
		}
		if _, err := c.CoreV1().Pods("grace").Get(ctx, "bound", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
			t.Fatalf("force-deleted pod: want NotFound, got %v", err)
		}
		if _, err := c.CoreV1().Pods("grace").Create(ctx, pod("unbound"), metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		if err := c.CoreV1().Pods("grace").Delete(ctx, "unbound", metav1.DeleteOptions{}); err != nil {
			t.Fatal(err)
		}
		if _, err := c.CoreV1().Pods("grace").Get(ctx, "unbound", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
			t.Fatalf("unscheduled pod should go at once, got %v", err)
		}
	})

	t.Run("namespace deletion waits for its finalizer", func(t *testing.T) {
		s.CreateNamespace(t, "doomed")
		if err := c.CoreV1().Namespaces().Delete(ctx, "doomed", metav1.DeleteOptions{}); err != nil {
			t.Fatal(err)
		}
		ns, err := c.CoreV1().Namespaces().Get(ctx, "doomed", metav1.GetOptions{})
		if err != nil || ns.Status.Phase != corev1.NamespaceTerminating {
			t.Fatalf("namespace after delete: %v %v", ns.Status.Phase, err)
		}
		_, err = c.CoreV1().ConfigMaps("doomed").Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "late"}}, metav1.CreateOptions{})
		if !apierrors.IsForbidden(err) {
			t.Fatalf("create in terminating namespace: want 403, got %v", err)
		}
		ns.Spec.Finalizers = nil
		if _, err := c.CoreV1().Namespaces().Finalize(ctx, ns, metav1.UpdateOptions{}); err != nil {
			t.Fatal(err)
		}
		if err := c.CoreV1().Namespaces().Delete(ctx, "doomed", metav1.DeleteOptions{}); err != nil && !apierrors.IsNotFound(err) {
			t.Fatal(err)
		}
		if _, err := c.CoreV1().Namespaces().Get(ctx, "doomed", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
			t.Fatalf("finalized namespace: want NotFound, got %v", err)
		}
	})

	t.Run("deleting a namespace deletes its content, then the namespace", func(t *testing.T) {
		s.CreateNamespace(t, "emptied")
		if _, err := c.CoreV1().ConfigMaps("emptied").Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "content"}}, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		p := pod("running")
		p.Spec.NodeName = "node-1"
		if _, err := c.CoreV1().Pods("emptied").Create(ctx, p, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		if err := c.CoreV1().Namespaces().Delete(ctx, "emptied", metav1.DeleteOptions{}); err != nil {
			t.Fatal(err)
		}
		// The pod is bound: it waits in graceful deletion for its node agent, and the
		// namespace with it.
		deadline := time.Now().Add(20 * time.Second)
		for {
			got, err := c.CoreV1().Pods("emptied").Get(ctx, "running", metav1.GetOptions{})
			if err == nil && got.DeletionTimestamp != nil {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("pod not marked for deletion: %v", err)
			}
			time.Sleep(200 * time.Millisecond)
		}
		if _, err := c.CoreV1().Namespaces().Get(ctx, "emptied", metav1.GetOptions{}); err != nil {
			t.Fatalf("namespace went while a pod remained: %v", err)
		}
		// The node agent confirms.
		if err := c.CoreV1().Pods("emptied").Delete(ctx, "running", *metav1.NewDeleteOptions(0)); err != nil {
			t.Fatal(err)
		}
		deadline = time.Now().Add(30 * time.Second)
		for {
			_, err := c.CoreV1().Namespaces().Get(ctx, "emptied", metav1.GetOptions{})
			if apierrors.IsNotFound(err) {
				break
			}
			if time.Now().After(deadline) {
				ns, _ := c.CoreV1().Namespaces().Get(ctx, "emptied", metav1.GetOptions{})
				t.Fatalf("namespace still there: %+v", ns.Status)
			}
			time.Sleep(200 * time.Millisecond)
		}
		if _, err := c.CoreV1().ConfigMaps("emptied").Get(ctx, "content", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
			t.Fatalf("content survived its namespace: %v", err)
		}
	})

	t.Run("certificate signing requests are approved through approval", func(t *testing.T) {
		data, err := os.ReadFile("testdata/certificatesigningrequests.yaml")
		if err != nil {
			t.Fatal(err)
		}
		csr := &certificatesv1.CertificateSigningRequest{}
		if err := yaml.Unmarshal(data, csr); err != nil {
			t.Fatal(err)
		}
		csr.Name = "approve-me"
		got, err := c.CertificatesV1().CertificateSigningRequests().Create(ctx, csr, metav1.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if got.Spec.Username != "kubernetes-admin" || !slices.Contains(got.Spec.Groups, "system:masters") {
			t.Errorf("requester not recorded: %q %v", got.Spec.Username, got.Spec.Groups)
		}
		approved := certificatesv1.CertificateSigningRequestCondition{Type: certificatesv1.CertificateApproved, Status: corev1.ConditionTrue, Reason: "Test"}
		sneaky := got.DeepCopy()
		sneaky.Status.Conditions = []certificatesv1.CertificateSigningRequestCondition{approved}
		if _, err := c.CertificatesV1().CertificateSigningRequests().UpdateStatus(ctx, sneaky, metav1.UpdateOptions{}); !apierrors.IsInvalid(err) {
			t.Fatalf("approving through status: want 422, got %v", err)
		}
		afterStatus := got.DeepCopy()
		afterStatus.Status.Conditions = []certificatesv1.CertificateSigningRequestCondition{approved}
		done, err := c.CertificatesV1().CertificateSigningRequests().UpdateApproval(ctx, "approve-me", afterStatus, metav1.UpdateOptions{})
		if err != nil || len(done.Status.Conditions) != 1 || done.Status.Conditions[0].Type != certificatesv1.CertificateApproved {
			t.Fatalf("approval: %v %v", done.Status.Conditions, err)
		}
		if done.Status.Conditions[0].LastUpdateTime.IsZero() || done.Status.Conditions[0].LastTransitionTime.IsZero() {
			t.Errorf("approval did not stamp the condition's times: %+v", done.Status.Conditions[0])
		}
	})

	t.Run("certificate signing request approval writes every condition", func(t *testing.T) {
		data, err := os.ReadFile("testdata/certificatesigningrequests.yaml")
		if err != nil {
			t.Fatal(err)
		}
		csr := &certificatesv1.CertificateSigningRequest{}
		if err := yaml.Unmarshal(data, csr); err != nil {
			t.Fatal(err)
		}
		csr.Name = "patch-approval"
		csrs := c.CertificatesV1().CertificateSigningRequests()
		if _, err := csrs.Create(ctx, csr, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		patched, err := csrs.Patch(ctx, csr.Name, types.MergePatchType,
			[]byte(`{"metadata":{"annotations":{"patchedapproval":"true"}},"status":{"conditions":[{"type":"ApprovalPatch","status":"True","reason":"e2e"}]}}`),
			metav1.PatchOptions{}, "approval")
		if err != nil {
			t.Fatal(err)
		}
		if len(patched.Status.Conditions) != 1 || patched.Status.Conditions[0].Type != "ApprovalPatch" || patched.Annotations["patchedapproval"] != "true" {
			t.Fatalf("patched approval: %+v %v", patched.Status.Conditions, patched.Annotations)
		}
		patched.Spec.Usages = []certificatesv1.KeyUsage{certificatesv1.UsageServerAuth}
		patched.Annotations["updated"] = "true"
		updated, err := csrs.Update(ctx, patched, metav1.UpdateOptions{})
		if err != nil {
			t.Fatalf("update of the main resource: %v", err)
		}
		if !slices.Equal(updated.Spec.Usages, csr.Spec.Usages) || len(updated.Status.Conditions) != 1 || updated.Annotations["updated"] != "true" {
			t.Errorf("update of the main resource changed spec or status: %v %+v", updated.Spec.Usages, updated.Status.Conditions)
		}
		st := updated.DeepCopy()
		st.Status.Conditions = append(st.Status.Conditions, certificatesv1.CertificateSigningRequestCondition{Type: "StatusUpdate", Status: corev1.ConditionTrue, Reason: "Test"})
		got, err := csrs.UpdateStatus(ctx, st, metav1.UpdateOptions{})
		if err != nil || len(got.Status.Conditions) != 2 {
			t.Fatalf("status update: %+v %v", got, err)
		}
	})

	t.Run("a statefulset's claim templates may repeat apiVersion and kind", func(t *testing.T) {
		claim := corev1.PersistentVolumeClaim{
			TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "PersistentVolumeClaim"},
			ObjectMeta: metav1.ObjectMeta{Name: "data"},
			Spec: corev1.PersistentVolumeClaimSpec{
				AccessModes: []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
				Resources:   corev1.VolumeResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceStorage: resource.MustParse("1Gi")}},
			},
		}
		ss := &appsv1.StatefulSet{
			ObjectMeta: metav1.ObjectMeta{Name: "db"},
			Spec: appsv1.StatefulSetSpec{
				ServiceName: "db",
				Selector:    &metav1.LabelSelector{MatchLabels: map[string]string{"app": "db"}},
				Template: corev1.PodTemplateSpec{
					ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": "db"}},
					Spec:       pod("").Spec,
				},
				VolumeClaimTemplates: []corev1.PersistentVolumeClaim{claim},
			},
		}
		got, err := c.AppsV1().StatefulSets("default").Create(ctx, ss, metav1.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		got.Spec.VolumeClaimTemplates = []corev1.PersistentVolumeClaim{claim}
		got.Spec.Replicas = ptr.To[int32](2)
		if _, err := c.AppsV1().StatefulSets("default").Update(ctx, got, metav1.UpdateOptions{}); err != nil {
			t.Fatalf("update repeating the claim template: %v", err)
		}
	})

	t.Run("status subresource changes only status", func(t *testing.T) {
		// A pod no scheduler serves: the server's scheduler would otherwise
		// write its PodScheduled condition between these writes.
		unscheduled := pod("status")
		unscheduled.Spec.SchedulerName = "no-scheduler"
		p, err := c.CoreV1().Pods("default").Create(ctx, unscheduled, metav1.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		p.Status.Phase = corev1.PodRunning
		p.Spec.ActiveDeadlineSeconds = ptr.To[int64](5)
		got, err := c.CoreV1().Pods("default").UpdateStatus(ctx, p, metav1.UpdateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if got.Status.Phase != corev1.PodRunning || got.Spec.ActiveDeadlineSeconds != nil {
			t.Errorf("status update: phase %q, activeDeadlineSeconds %v", got.Status.Phase, got.Spec.ActiveDeadlineSeconds)
		}
		got.Status.Phase = corev1.PodFailed
		got, err = c.CoreV1().Pods("default").Update(ctx, got, metav1.UpdateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if got.Status.Phase != corev1.PodRunning {
			t.Errorf("main update changed the status to %q", got.Status.Phase)
		}
	})

	t.Run("dry run writes nothing", func(t *testing.T) {
		_, err := c.CoreV1().ConfigMaps("default").Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "dry"}}, metav1.CreateOptions{DryRun: []string{metav1.DryRunAll}})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := c.CoreV1().ConfigMaps("default").Get(ctx, "dry", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
			t.Fatalf("dry-run create persisted: %v", err)
		}
		real, err := c.CoreV1().ConfigMaps("default").Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "wet"}, Data: map[string]string{"v": "1"}}, metav1.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		dry := []string{metav1.DryRunAll}
		changed := real.DeepCopy()
		changed.Data["v"] = "2"
		if got, err := c.CoreV1().ConfigMaps("default").Update(ctx, changed, metav1.UpdateOptions{DryRun: dry}); err != nil || got.Data["v"] != "2" {
			t.Fatalf("dry-run update: %v %v", got, err)
		}
		if _, err := c.CoreV1().ConfigMaps("default").Patch(ctx, "wet", types.MergePatchType, []byte(`{"data":{"v":"3"}}`), metav1.PatchOptions{DryRun: dry}); err != nil {
			t.Fatalf("dry-run patch: %v", err)
		}
		if err := c.CoreV1().ConfigMaps("default").Delete(ctx, "wet", metav1.DeleteOptions{DryRun: dry}); err != nil {
			t.Fatalf("dry-run delete: %v", err)
		}
		got, err := c.CoreV1().ConfigMaps("default").Get(ctx, "wet", metav1.GetOptions{})
		if err != nil || got.Data["v"] != "1" || got.ResourceVersion != real.ResourceVersion {
			t.Fatalf("dry runs changed the object: %v %v", got, err)
		}
		svc := &corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: "dry-svc"}, Spec: corev1.ServiceSpec{ClusterIP: "10.96.0.77", Ports: []corev1.ServicePort{{Port: 80}}}}
		if _, err := c.CoreV1().Services("default").Create(ctx, svc, metav1.CreateOptions{DryRun: dry}); err != nil {
			t.Fatalf("dry-run service: %v", err)
		}
		if _, err := c.CoreV1().Services("default").Create(ctx, svc, metav1.CreateOptions{}); err != nil {
			t.Fatalf("a dry-run create kept its cluster IP: %v", err)
		}
	})

	t.Run("patch types", func(t *testing.T) {
		if _, err := c.CoreV1().ConfigMaps("default").Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "patched"}, Data: map[string]string{"a": "1"}}, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		for pt, body := range map[types.PatchType]string{
			types.StrategicMergePatchType: `{"data":{"b":"2"}}`,
			types.MergePatchType:          `{"data":{"c":"3"}}`,
			types.JSONPatchType:           `[{"op":"add","path":"/data/d","value":"4"}]`,
		} {
			if _, err := c.CoreV1().ConfigMaps("default").Patch(ctx, "patched", pt, []byte(body), metav1.PatchOptions{}); err != nil {
				t.Fatalf("%s: %v", pt, err)
			}
		}
		applied := `{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"patched"},"data":{"e":"5"}}`
		got, err := c.CoreV1().ConfigMaps("default").Patch(ctx, "patched", types.ApplyPatchType, []byte(applied), metav1.PatchOptions{FieldManager: "tester"})
		if err != nil {
			t.Fatalf("apply: %v", err)
		}
		if diff := cmp.Diff(map[string]string{"a": "1", "b": "2", "c": "3", "d": "4", "e": "5"}, got.Data); diff != "" {
			t.Errorf("data (-want +got):\n%s", diff)
		}
		managers := map[string]bool{}
		for _, m := range got.ManagedFields {
			managers[m.Manager] = true
		}
		if !managers["tester"] {
			t.Errorf("managedFields without the apply manager: %v", got.ManagedFields)
		}
	})
}

// TestRestartKeepsObjects checks that every acknowledged write survives a restart on
// the same data dir.
func TestRestartKeepsObjects(t *testing.T) {
	s := testserver.Start(t)
	ctx := context.Background()
	for i := 0; i < 20; i++ {
		cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("cm-%d", i)}, Data: map[string]string{"i": fmt.Sprint(i)}}
		if _, err := s.Client.CoreV1().ConfigMaps("default").Create(ctx, cm, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	svc, err := s.Client.CoreV1().Services("default").Create(ctx, &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: "kept"},
		Spec:       corev1.ServiceSpec{Ports: []corev1.ServicePort{{Port: 80}}},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	// An IPAddress lost while the server was down is written again on start.
	if err := s.Client.NetworkingV1().IPAddresses().Delete(ctx, svc.Spec.ClusterIP, metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	s = s.Restart(t)
	if _, err := s.Client.NetworkingV1().IPAddresses().Get(ctx, svc.Spec.ClusterIP, metav1.GetOptions{}); err != nil {
		t.Errorf("IPAddress not restored on restart: %v", err)
	}
	l, err := s.Client.CoreV1().ConfigMaps("default").List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, cm := range l.Items {
		if len(cm.Name) > 3 && cm.Name[:3] == "cm-" {
			n++
		}
	}
	if n != 20 {
		t.Fatalf("after restart: %d of 20 configmaps", n)
	}
	dup := &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: "dup"},
		Spec:       corev1.ServiceSpec{ClusterIP: svc.Spec.ClusterIP, Ports: []corev1.ServicePort{{Port: 80}}},
	}
	if _, err := s.Client.CoreV1().Services("default").Create(ctx, dup, metav1.CreateOptions{}); !apierrors.IsInvalid(err) {
		t.Fatalf("allocations not rebuilt after restart: want 422, got %v", err)
	}
}
