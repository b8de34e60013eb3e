package validation

import (
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func TestNamespace(t *testing.T) {
	checkErrs(t, Namespace(&corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "team-a"}}), nil)
	checkErrs(t, Namespace(&corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "team.a"}}), []string{"FieldValueInvalid metadata.name"})
	checkErrs(t, Namespace(&corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "a", Namespace: "b"}}), []string{"FieldValueForbidden metadata.namespace"})
	checkErrs(t, Namespace(&corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "a"}, Spec: corev1.NamespaceSpec{Finalizers: []corev1.FinalizerName{"custom"}}}),
		[]string{"FieldValueInvalid spec.finalizers"})

	old := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "a", ResourceVersion: "1"}, Status: corev1.NamespaceStatus{Phase: corev1.NamespaceActive}}
	ns := old.DeepCopy()
	ns.Name = "b"
	checkErrs(t, NamespaceUpdate(ns, old), []string{"FieldValueInvalid metadata.name"})
	ns = old.DeepCopy()
	ns.Status.Phase = corev1.NamespaceTerminating
	checkErrs(t, NamespaceStatusUpdate(ns, old), []string{"FieldValueInvalid status.Phase"})
}

func TestConfigMap(t *testing.T) {
	meta := metav1.ObjectMeta{Name: "cfg", Namespace: "default", ResourceVersion: "1"}
	tests := []struct {
		name string
		cm   *corev1.ConfigMap
		want []string
	}{
		{name: "valid", cm: &corev1.ConfigMap{ObjectMeta: meta, Data: map[string]string{"app.conf": "x"}}},
		{name: "cluster scoped", cm: &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "cfg"}}, want: []string{"FieldValueRequired metadata.namespace"}},
		{name: "bad keys", cm: &corev1.ConfigMap{ObjectMeta: meta, Data: map[string]string{"a/b": "x", "k": "1"}, BinaryData: map[string][]byte{"k": nil}},
			want: []string{"FieldValueInvalid data[a/b]", "FieldValueInvalid data[k]"}},
		{name: "too large", cm: &corev1.ConfigMap{ObjectMeta: meta, Data: map[string]string{"big": strings.Repeat("x", maxDataSize+1)}},
			want: []string{"FieldValueTooLong []"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) { checkErrs(t, ConfigMap(tc.cm), tc.want) })
	}

	old := &corev1.ConfigMap{ObjectMeta: meta, Data: map[string]string{"k": "v"}, Immutable: ptr(true)}
	cm := old.DeepCopy()
	cm.Data["k"] = "w"
	cm.Immutable = ptr(false)
	checkErrs(t, ConfigMapUpdate(cm, old), []string{"FieldValueForbidden immutable", "FieldValueForbidden data"})
	cm = old.DeepCopy()
	cm.Labels = map[string]string{"a": "b"}
	checkErrs(t, ConfigMapUpdate(cm, old), nil)
}

func TestSecret(t *testing.T) {
	meta := metav1.ObjectMeta{Name: "s", Namespace: "default", ResourceVersion: "1"}
	tests := []struct {
		name string
		s    *corev1.Secret
		want []string
	}{
		{name: "opaque", s: &corev1.Secret{ObjectMeta: meta, Type: corev1.SecretTypeOpaque, Data: map[string][]byte{"password": []byte("x")}}},
		{name: "bad key in stringData", s: &corev1.Secret{ObjectMeta: meta, StringData: map[string]string{"bad key": "x"}},
			want: []string{"FieldValueInvalid data[bad key]"}},
		{name: "service account token needs annotation", s: &corev1.Secret{ObjectMeta: meta, Type: corev1.SecretTypeServiceAccountToken},
			want: []string{"FieldValueRequired metadata.annotations[kubernetes.io/service-account.name]"}},
		{name: "dockerconfigjson missing", s: &corev1.Secret{ObjectMeta: meta, Type: corev1.SecretTypeDockerConfigJson},
			want: []string{"FieldValueRequired data[.dockerconfigjson]"}},
		{name: "dockerconfigjson not json", s: &corev1.Secret{ObjectMeta: meta, Type: corev1.SecretTypeDockerConfigJson,
			Data: map[string][]byte{corev1.DockerConfigJsonKey: []byte("{")}}, want: []string{"FieldValueInvalid data[.dockerconfigjson]"}},
		{name: "tls", s: &corev1.Secret{ObjectMeta: meta, Type: corev1.SecretTypeTLS, Data: map[string][]byte{corev1.TLSCertKey: nil}},
			want: []string{"FieldValueRequired data[tls.key]"}},
		{name: "basic auth", s: &corev1.Secret{ObjectMeta: meta, Type: corev1.SecretTypeBasicAuth},
			want: []string{"FieldValueRequired data[username]", "FieldValueRequired data[password]"}},
		{name: "ssh auth", s: &corev1.Secret{ObjectMeta: meta, Type: corev1.SecretTypeSSHAuth},
			want: []string{"FieldValueRequired data[ssh-privatekey]"}},
		{name: "too large", s: &corev1.Secret{ObjectMeta: meta, Data: map[string][]byte{"k": make([]byte, maxDataSize+1)}},
			want: []string{"FieldValueTooLong data"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) { checkErrs(t, Secret(tc.s), tc.want) })
	}

	old := &corev1.Secret{ObjectMeta: meta, Type: corev1.SecretTypeOpaque, Data: map[string][]byte{"k": []byte("v")}, Immutable: ptr(true)}
	s := old.DeepCopy()
	s.Type = "example.com/custom"
	s.Data["k"] = []byte("w")
	checkErrs(t, SecretUpdate(s, old), []string{"FieldValueInvalid type", "FieldValueForbidden data"})
}

func TestServiceAccount(t *testing.T) {
	sa := &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: "builder", Namespace: "ci", ResourceVersion: "1"}}
	checkErrs(t, ServiceAccount(sa), nil)
	bad := sa.DeepCopy()
	bad.Name = "Builder"
	checkErrs(t, ServiceAccount(bad), []string{"FieldValueInvalid metadata.name"})
	upd := sa.DeepCopy()
	upd.Namespace = "other"
	checkErrs(t, ServiceAccountUpdate(upd, sa), []string{"FieldValueInvalid metadata.namespace"})
}

func TestEvent(t *testing.T) {
	ev := &corev1.Event{
		ObjectMeta:     metav1.ObjectMeta{Name: "web.17a", Namespace: "default"},
		InvolvedObject: corev1.ObjectReference{Kind: "Pod", Namespace: "default", Name: "web"},
		Reason:         "Started",
	}
	checkErrs(t, Event(ev), nil)
	bad := ev.DeepCopy()
	bad.InvolvedObject.Namespace = "other"
	checkErrs(t, Event(bad), []string{"FieldValueInvalid involvedObject.namespace"})
	modern := ev.DeepCopy()
	modern.EventTime = metav1.NowMicro()
	checkErrs(t, Event(modern), []string{
		"FieldValueRequired reportingComponent",
		"FieldValueInvalid reportingComponent",
		"FieldValueInvalid reportingComponent",
		"FieldValueRequired reportingInstance",
		"FieldValueRequired action",
	})
}

func TestEventsV1(t *testing.T) {
	ev := &corev1.Event{
		ObjectMeta:          metav1.ObjectMeta{Name: "web.17a", Namespace: "default", ResourceVersion: "1"},
		InvolvedObject:      corev1.ObjectReference{Kind: "Pod", Namespace: "default", Name: "web"},
		Reason:              "Started",
		Type:                corev1.EventTypeNormal,
		Action:              "Start",
		ReportingController: "example.com/ctl",
		ReportingInstance:   "ctl-1",
		EventTime:           metav1.NowMicro(),
	}
	checkErrs(t, EventsV1(ev), nil)
	for _, tc := range []struct {
		name   string
		mutate func(*corev1.Event)
		want   []string
	}{
		{"no event time", func(e *corev1.Event) { e.EventTime = metav1.MicroTime{} }, []string{
			// Without an eventTime the legacy rules of old events apply; the
			// new API still requires one.
			"FieldValueRequired eventTime",
		}},
		{"bad type", func(e *corev1.Event) { e.Type = "Bogus" }, []string{"FieldValueInvalid type"}},
		{"deprecated fields", func(e *corev1.Event) {
			e.Count, e.Source.Component, e.FirstTimestamp = 3, "kubelet", metav1.Now()
		}, []string{"FieldValueInvalid firstTimestamp", "FieldValueInvalid count", "FieldValueInvalid source"}},
		{"short series", func(e *corev1.Event) { e.Series = &corev1.EventSeries{Count: 1} }, []string{
			"FieldValueInvalid series.count", "FieldValueRequired series.lastObservedTime",
		}},
		{"no reporting controller", func(e *corev1.Event) { e.ReportingController = "" }, []string{
			"FieldValueRequired reportingController", "FieldValueInvalid reportingController", "FieldValueInvalid reportingController",
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			bad := ev.DeepCopy()
			tc.mutate(bad)
			checkErrs(t, EventsV1(bad), tc.want)
		})
	}

	upd := ev.DeepCopy()
	upd.Labels = map[string]string{"a": "b"}
	checkErrs(t, EventsV1Update(upd, ev), nil)
	upd.Type, upd.Action = corev1.EventTypeWarning, "Stop"
	checkErrs(t, EventsV1Update(upd, ev), []string{"FieldValueInvalid type", "FieldValueInvalid action"})
}
