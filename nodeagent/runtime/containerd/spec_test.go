package containerd

import (
	"os"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kubelite/kubelite/nodeagent/runtime"
)

func TestExpand(t *testing.T) {
	vars := map[string]string{"A": "x", "B": "y"}
	for in, want := range map[string]string{
		"plain":         "plain",
		"$(A)-$(B)":     "x-y",
		"$(C)":          "$(C)",
		"$$(A)":         "$(A)",
		"$$":            "$",
		"a$":            "a$",
		"$(A":           "$(A",
		"$()":           "$()",
		"cost $5 $(A)":  "cost $5 x",
		"$(A)$(A)$$(B)": "xx$(B)",
	} {
		if got := expand(in, vars); got != want {
			t.Errorf("expand(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestCommandLine(t *testing.T) {
	entry, cmd := []string{"/entry"}, []string{"default"}
	env := []string{"NAME=world"}
	for _, tc := range []struct {
		name          string
		command, args []string
		want          []string
	}{
		{"image's", nil, nil, []string{"/entry", "default"}},
		{"args replace cmd", nil, []string{"hello $(NAME)"}, []string{"/entry", "hello world"}},
		{"command drops cmd", []string{"sh"}, nil, []string{"sh"}},
		{"command and args", []string{"echo"}, []string{"$(NAME)", "$(OTHER)"}, []string{"echo", "world", "$(OTHER)"}},
	} {
		c := &corev1.Container{Command: tc.command, Args: tc.args}
		if got := commandLine(c, entry, cmd, env); !cmp.Equal(got, tc.want) {
			t.Errorf("%s: %q, want %q", tc.name, got, tc.want)
		}
	}
}

func TestContainerEnv(t *testing.T) {
	pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "p", Namespace: "ns", Labels: map[string]string{"app": "a"}}}
	field := func(path string) *corev1.EnvVarSource {
		return &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{FieldPath: path}}
	}
	c := &corev1.Container{Env: []corev1.EnvVar{
		{Name: "A", Value: "1"},
		{Name: "B", Value: "$(A)2"},
		{Name: "NS", ValueFrom: field("metadata.namespace")},
		{Name: "APP", ValueFrom: field("metadata.labels['app']")},
		{Name: "IP", ValueFrom: field("status.podIP")},
		{Name: "CM", ValueFrom: &corev1.EnvVarSource{ConfigMapKeyRef: &corev1.ConfigMapKeySelector{Key: "k"}}},
	}}
	got := containerEnv(pod, c, &sandbox{Sandbox: runtime.Sandbox{IPs: []string{"10.0.0.2"}}})
	want := []string{"A=1", "B=12", "NS=ns", "APP=a", "IP=10.0.0.2"}
	if !cmp.Equal(got, want) {
		t.Errorf("env %q, want %q", got, want)
	}
}

// TestLogStream: lines in the CRI format per stream, overlong lines split
// into partial ones, an unfinished line written whole at Close.
func TestLogStream(t *testing.T) {
	dir := t.TempDir()
	lf, err := openLog(dir + "/0.log")
	if err != nil {
		t.Fatal(err)
	}
	out, errs := lf.stream("stdout"), lf.stream("stderr")
	out.Write([]byte("one\ntw"))
	errs.Write([]byte("oops\n"))
	out.Write([]byte("o\n" + strings.Repeat("x", maxLogLine+3) + "\nend"))
	lf.Close()
	var got []string
	b, err := os.ReadFile(dir + "/0.log")
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range strings.Split(strings.TrimSuffix(string(b), "\n"), "\n") {
		f := strings.SplitN(l, " ", 4)
		if len(f) != 4 {
			t.Fatalf("line %q: want 4 fields", l)
		}
		if len(f[3]) > 10 {
			f[3] = f[3][:3] + "..."
		}
		got = append(got, f[1]+" "+f[2]+" "+f[3])
	}
	want := []string{"stdout F one", "stderr F oops", "stdout F two", "stdout P xxx...", "stdout F xxx", "stdout F end"}
	if !cmp.Equal(got, want) {
		t.Errorf("log lines %q, want %q", got, want)
	}
}
