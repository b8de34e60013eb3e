package admission_test

import (
	"context"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"testing"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	corev1 "k8s.io/api/core/v1"
	schedulingv1 "k8s.io/api/scheduling/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/util/retry"
	"k8s.io/utils/ptr"

	"github.com/kubelite/kubelite/cmd/kubelite/app/testserver"
)

// wantError fails unless err is of the kind check reports and reads want.
func wantError(t *testing.T, err error, check func(error) bool, want string) {
	t.Helper()
	if err == nil || !check(err) || err.Error() != want {
		t.Errorf("error = %v\nwant %q", err, want)
	}
}

// warnings collects the warnings a client is sent.
type warnings struct{ got []string }

func (w *warnings) HandleWarningHeader(_ int, _ string, text string) { w.got = append(w.got, text) }

// TestPolicyAndBuiltins: a ValidatingAdmissionPolicy and a
// MutatingAdmissionPolicy with their bindings, Priority, PodSecurity and
// TaintNodesByCondition on a real server.
func TestPolicyAndBuiltins(t *testing.T) {
	s := testserver.Start(t)
	ctx := context.Background()
	reg := s.Client.AdmissionregistrationV1()

	t.Run("ValidatingAdmissionPolicy", func(t *testing.T) {
		namespace(t, s.Client, "vap", map[string]string{"policy": "small"})
		policy := &admissionregistrationv1.ValidatingAdmissionPolicy{
			ObjectMeta: metav1.ObjectMeta{Name: "small-configmaps"},
			Spec: admissionregistrationv1.ValidatingAdmissionPolicySpec{
				FailurePolicy: ptr.To(admissionregistrationv1.Fail),
				MatchConstraints: &admissionregistrationv1.MatchResources{ResourceRules: []admissionregistrationv1.NamedRuleWithOperations{{
					RuleWithOperations: admissionregistrationv1.RuleWithOperations{
						Operations: []admissionregistrationv1.OperationType{admissionregistrationv1.Create, admissionregistrationv1.Update},
						Rule:       admissionregistrationv1.Rule{APIGroups: []string{""}, APIVersions: []string{"v1"}, Resources: []string{"configmaps"}},
					},
				}}},
				Validations: []admissionregistrationv1.Validation{{
					Expression: "!has(object.data) || object.data.size() <= 1", Message: "at most one key",
				}},
			},
		}
		if _, err := reg.ValidatingAdmissionPolicies().Create(ctx, policy, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		binding := &admissionregistrationv1.ValidatingAdmissionPolicyBinding{
			ObjectMeta: metav1.ObjectMeta{Name: "small-configmaps-binding"},
			Spec: admissionregistrationv1.ValidatingAdmissionPolicyBindingSpec{
				PolicyName:        "small-configmaps",
				ValidationActions: []admissionregistrationv1.ValidationAction{admissionregistrationv1.Deny},
				MatchResources:    &admissionregistrationv1.MatchResources{NamespaceSelector: &metav1.LabelSelector{MatchLabels: map[string]string{"policy": "small"}}},
			},
		}
		if _, err := reg.ValidatingAdmissionPolicyBindings().Create(ctx, binding, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		big := map[string]string{"a": "1", "b": "2"}
		err := eventually(t, "big", func(name string) error {
			_, err := s.Client.CoreV1().ConfigMaps("vap").Create(ctx, configMap(name, nil, big), metav1.CreateOptions{})
			return err
		}, apierrors.IsInvalid)
		// Upstream's answer: 422 Invalid (the validation names no reason),
		// the message as admission's Forbidden shapes it, and the policy's
		// message as a cause.
		want := "ValidatingAdmissionPolicy 'small-configmaps' with binding 'small-configmaps-binding' denied request: at most one key"
		st := err.(apierrors.APIStatus).Status()
		if st.Code != http.StatusUnprocessableEntity || st.Reason != metav1.StatusReasonInvalid ||
			!regexp.MustCompile(`^configmaps "big-[a-z]+" is forbidden: `+regexp.QuoteMeta(want)+`$`).MatchString(st.Message) ||
			st.Details == nil || st.Details.Kind != "configmaps" || !slices.ContainsFunc(st.Details.Causes, func(c metav1.StatusCause) bool { return c.Message == want }) {
			t.Errorf("status = %+v, want 422 Invalid: configmaps \"big-...\" is forbidden: %s", st, want)
		}
		if _, err := s.Client.CoreV1().ConfigMaps("vap").Create(ctx, configMap("small", nil, map[string]string{"a": "1"}), metav1.CreateOptions{}); err != nil {
			t.Errorf("small config map: %v", err)
		}
		if _, err := s.Client.CoreV1().ConfigMaps("default").Create(ctx, configMap("big-elsewhere", nil, big), metav1.CreateOptions{}); err != nil {
			t.Errorf("namespace outside the binding: %v", err)
		}
	})

	t.Run("MutatingAdmissionPolicy", func(t *testing.T) {
		namespace(t, s.Client, "map", map[string]string{"policy": "stamp"})
		policy := &admissionregistrationv1.MutatingAdmissionPolicy{
			ObjectMeta: metav1.ObjectMeta{Name: "stamp"},
			Spec: admissionregistrationv1.MutatingAdmissionPolicySpec{
				FailurePolicy:      ptr.To(admissionregistrationv1.Fail),
				ReinvocationPolicy: admissionregistrationv1.NeverReinvocationPolicy,
				MatchConstraints: &admissionregistrationv1.MatchResources{ResourceRules: []admissionregistrationv1.NamedRuleWithOperations{{
					RuleWithOperations: admissionregistrationv1.RuleWithOperations{
						Operations: []admissionregistrationv1.OperationType{admissionregistrationv1.Create},
						Rule:       admissionregistrationv1.Rule{APIGroups: []string{""}, APIVersions: []string{"v1"}, Resources: []string{"configmaps"}},
					},
				}}},
				Mutations: []admissionregistrationv1.Mutation{{
					PatchType: admissionregistrationv1.PatchTypeApplyConfiguration,
					ApplyConfiguration: &admissionregistrationv1.ApplyConfiguration{
						Expression: `Object{metadata: Object.metadata{labels: {"stamped": "yes"}}}`,
					},
				}},
			},
		}
		if _, err := reg.MutatingAdmissionPolicies().Create(ctx, policy, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		binding := &admissionregistrationv1.MutatingAdmissionPolicyBinding{
			ObjectMeta: metav1.ObjectMeta{Name: "stamp"},
			Spec: admissionregistrationv1.MutatingAdmissionPolicyBindingSpec{
				PolicyName:     "stamp",
				MatchResources: &admissionregistrationv1.MatchResources{NamespaceSelector: &metav1.LabelSelector{MatchLabels: map[string]string{"policy": "stamp"}}},
			},
		}
		if _, err := reg.MutatingAdmissionPolicyBindings().Create(ctx, binding, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		var got *corev1.ConfigMap
		eventually(t, "stamped", func(name string) error {
			var err error
			got, err = s.Client.CoreV1().ConfigMaps("map").Create(ctx, configMap(name, nil, nil), metav1.CreateOptions{})
			return err
		}, func(err error) bool {
			if err != nil {
				t.Fatalf("create: %v", err)
			}
			return got.Labels["stamped"] == "yes"
		})
	})

	t.Run("Priority", func(t *testing.T) {
		s.CreateNamespace(t, "priority")
		pods := s.Client.CoreV1().Pods("priority")
		classes := s.Client.SchedulingV1().PriorityClasses()
		never := corev1.PreemptNever
		if _, err := classes.Create(ctx, &schedulingv1.PriorityClass{ObjectMeta: metav1.ObjectMeta{Name: "high"}, Value: 1000, PreemptionPolicy: &never}, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		got := eventuallyPod(t, s.Client, "priority", func(p *corev1.Pod) { p.Spec.PriorityClassName = "high" })
		if ptr.Deref(got.Spec.Priority, -1) != 1000 || ptr.Deref(got.Spec.PreemptionPolicy, "") != corev1.PreemptNever {
			t.Errorf("priority %v, preemption policy %v; want 1000, Never", ptr.Deref(got.Spec.Priority, -1), ptr.Deref(got.Spec.PreemptionPolicy, ""))
		}
		got, err := s.Client.CoreV1().Pods("kube-system").Create(ctx, pod("critical", func(p *corev1.Pod) {
			p.Spec.PriorityClassName = "system-node-critical"
		}), metav1.CreateOptions{DryRun: []string{metav1.DryRunAll}})
		if err != nil || ptr.Deref(got.Spec.Priority, -1) != 2000001000 {
			t.Errorf("system-node-critical: %v, %v", got, err)
		}
		plain, err := pods.Create(ctx, pod("plain"), metav1.CreateOptions{})
		if err != nil || ptr.Deref(plain.Spec.Priority, -1) != 0 || ptr.Deref(plain.Spec.PreemptionPolicy, "") != corev1.PreemptLowerPriority {
			t.Errorf("no class: %v, %v", plain, err)
		}
		_, err = pods.Create(ctx, pod("unknown", func(p *corev1.Pod) { p.Spec.PriorityClassName = "nope" }), metav1.CreateOptions{})
		wantError(t, err, apierrors.IsForbidden, `pods "unknown" is forbidden: no PriorityClass with name nope was found`)
		_, err = pods.Create(ctx, pod("mismatch", func(p *corev1.Pod) {
			p.Spec.PriorityClassName, p.Spec.Priority = "high", ptr.To[int32](5)
		}), metav1.CreateOptions{})
		wantError(t, err, apierrors.IsForbidden, `pods "mismatch" is forbidden: the integer value of priority (5) must not be provided in pod spec; priority admission controller computed 1000 from the given PriorityClass name`)

		// A global default applies to pods without a class; one only.
		if _, err := classes.Create(ctx, &schedulingv1.PriorityClass{ObjectMeta: metav1.ObjectMeta{Name: "everyone"}, Value: 7, GlobalDefault: true}, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		got = eventuallyPod(t, s.Client, "priority", func(p *corev1.Pod) {}, func(p *corev1.Pod) bool { return p.Spec.PriorityClassName == "everyone" })
		if ptr.Deref(got.Spec.Priority, -1) != 7 {
			t.Errorf("default class: priority %v", ptr.Deref(got.Spec.Priority, -1))
		}
		_, err = classes.Create(ctx, &schedulingv1.PriorityClass{ObjectMeta: metav1.ObjectMeta{Name: "second"}, Value: 8, GlobalDefault: true}, metav1.CreateOptions{})
		wantError(t, err, apierrors.IsForbidden, `priorityclasses.scheduling.k8s.io "second" is forbidden: PriorityClass everyone is already marked as default. Only one default can exist`)
		// Updates keep the priority a client leaves out.
		var updated *corev1.Pod
		err = retry.RetryOnConflict(retry.DefaultRetry, func() error {
			p, err := pods.Get(ctx, "plain", metav1.GetOptions{})
			if err != nil {
				return err
			}
			p.Spec.Priority, p.Spec.PreemptionPolicy = nil, nil
			p.Labels = map[string]string{"touched": "yes"}
			updated, err = pods.Update(ctx, p, metav1.UpdateOptions{})
			return err
		})
		if err != nil || ptr.Deref(updated.Spec.Priority, -1) != 0 || updated.Spec.PreemptionPolicy == nil {
			t.Errorf("update without priority: %v", err)
		}
	})

	t.Run("PodSecurity", func(t *testing.T) {
		privileged := func(p *corev1.Pod) {
			p.Spec.Containers[0].SecurityContext = &corev1.SecurityContext{Privileged: ptr.To(true)}
		}
		namespace(t, s.Client, "restricted", map[string]string{"pod-security.kubernetes.io/enforce": "restricted"})
		s.WaitForServiceAccount(t, "restricted")
		_, err := s.Client.CoreV1().Pods("restricted").Create(ctx, pod("priv", privileged), metav1.CreateOptions{})
		want := `pods "priv" is forbidden: violates PodSecurity "restricted:latest": privileged (container "app" must not set securityContext.privileged=true), ` +
			`allowPrivilegeEscalation != false (container "app" must set securityContext.allowPrivilegeEscalation=false), ` +
			`unrestricted capabilities (container "app" must set securityContext.capabilities.drop=["ALL"]), ` +
			`runAsNonRoot != true (pod or container "app" must set securityContext.runAsNonRoot=true), ` +
			`seccompProfile (pod or container "app" must set securityContext.seccompProfile.type to "RuntimeDefault" or "Localhost")`
		wantError(t, err, apierrors.IsForbidden, want)

		// The default level is privileged: the same pod is fine elsewhere,
		// and tightening that namespace warns about it.
		s.CreateNamespace(t, "loose")
		if _, err := s.Client.CoreV1().Pods("loose").Create(ctx, pod("priv", privileged), metav1.CreateOptions{}); err != nil {
			t.Fatalf("privileged pod under the default level: %v", err)
		}
		w := &warnings{}
		cfg := rest.CopyConfig(s.Config)
		cfg.WarningHandler = w
		client := kubernetes.NewForConfigOrDie(cfg)
		ns, err := client.CoreV1().Namespaces().Get(ctx, "loose", metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		ns.Labels["pod-security.kubernetes.io/enforce"] = "baseline"
		if _, err := client.CoreV1().Namespaces().Update(ctx, ns, metav1.UpdateOptions{}); err != nil {
			t.Fatal(err)
		}
		wantWarnings := []string{
			`existing pods in namespace "loose" violate the new PodSecurity enforce level "baseline:latest"`,
			`priv: privileged`,
		}
		if strings.Join(w.got, "\n") != strings.Join(wantWarnings, "\n") {
			t.Errorf("warnings = %q\nwant %q", w.got, wantWarnings)
		}
	})

	t.Run("TaintNodesByCondition", func(t *testing.T) {
		node := &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "tainted"}}
		got, err := s.Client.CoreV1().Nodes().Create(ctx, node, metav1.CreateOptions{DryRun: []string{metav1.DryRunAll}})
		if err != nil {
			t.Fatal(err)
		}
		want := []corev1.Taint{{Key: corev1.TaintNodeNotReady, Effect: corev1.TaintEffectNoSchedule}}
		if len(got.Spec.Taints) != 1 || got.Spec.Taints[0].Key != want[0].Key || got.Spec.Taints[0].Effect != want[0].Effect {
			t.Errorf("taints = %v, want %v", got.Spec.Taints, want)
		}
	})
}

// eventuallyPod creates pods in ns, mutated by mutate, until one is admitted
// and accepted by ok (if given), and returns it: classes take effect once
// the informer has seen them.
func eventuallyPod(t *testing.T, client kubernetes.Interface, ns string, mutate func(*corev1.Pod), ok ...func(*corev1.Pod) bool) *corev1.Pod {
	t.Helper()
	var got *corev1.Pod
	eventually(t, "pod", func(name string) error {
		var err error
		got, err = client.CoreV1().Pods(ns).Create(context.Background(), pod(name, mutate), metav1.CreateOptions{DryRun: []string{metav1.DryRunAll}})
		return err
	}, func(err error) bool { return err == nil && (len(ok) == 0 || ok[0](got)) })
	return got
}
