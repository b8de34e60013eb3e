package history

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes/fake"
	"k8s.io/utils/ptr"
)

func template(image string) *corev1.PodTemplateSpec {
	return &corev1.PodTemplateSpec{
		ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": "web"}},
		Spec: corev1.PodSpec{Containers: []corev1.Container{
			{Name: "main", Image: image, Env: []corev1.EnvVar{{Name: "A", Value: "1"}}},
		}},
	}
}

func TestPatchAndTemplate(t *testing.T) {
	patch, err := Patch(template("v1"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(string(patch), `{"spec":{"template":{"$patch":"replace","metadata":`) {
		t.Errorf("patch = %s, want spec.template replaced with sorted keys", patch)
	}
	again, _ := Patch(template("v1"))
	if string(again) != string(patch) {
		t.Errorf("patch not stable: %s vs %s", patch, again)
	}
	// Applying the revision to a different template restores v1 whole: the
	// extra env var and label of the current template go.
	current := template("v2")
	current.Labels["extra"] = "x"
	current.Spec.Containers[0].Env = append(current.Spec.Containers[0].Env, corev1.EnvVar{Name: "B", Value: "2"})
	got, err := Template(current, &appsv1.ControllerRevision{Data: runtime.RawExtension{Raw: patch}})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(template("v1"), got); diff != "" {
		t.Errorf("restored template (-want +got):\n%s", diff)
	}
}

func TestHash(t *testing.T) {
	// The FNV-1 (not 1a) hash of "data" then "0", as upstream's StatefulSet
	// names revisions.
	if got, want := Hash([]byte("data"), ptr.To[int32](0)), Hash([]byte("data0"), nil); got != want {
		t.Errorf("Hash with collisions 0 = %s, want the hash of data+\"0\" %s", got, want)
	}
	if Hash([]byte("data"), ptr.To[int32](1)) == Hash([]byte("data"), ptr.To[int32](0)) {
		t.Error("collision count does not change the hash")
	}
	if TemplateHash(template("v1"), nil) == TemplateHash(template("v2"), nil) {
		t.Error("different templates hash alike")
	}
	if got := Name(strings.Repeat("a", 300), "h"); len(got) != maxPrefix+2 {
		t.Errorf("long name has length %d, want %d", len(got), maxPrefix+2)
	}
}

func TestCreateCollision(t *testing.T) {
	owner := &appsv1.StatefulSet{ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "ns", UID: "uid-web"}}
	data, _ := Patch(template("v1"))
	spec := Spec{
		Owner: owner, Kind: appsv1.SchemeGroupVersion.WithKind("StatefulSet"),
		Labels: map[string]string{"app": "web"}, HashLabel: appsv1.ControllerRevisionHashLabelKey,
		Data: data, Revision: 1,
		Hash: func(c *int32) string { return Hash(data, c) },
	}
	collisions := int32(0)
	// Another revision with other data already holds the first name.
	taken := &appsv1.ControllerRevision{
		ObjectMeta: metav1.ObjectMeta{Name: Name("web", Hash(data, &collisions)), Namespace: "ns"},
		Data:       runtime.RawExtension{Raw: []byte(`{"other":true}`)},
	}
	client := fake.NewClientset(taken)
	ctx := context.Background()
	rev, err := Create(ctx, client, spec, &collisions)
	if err != nil {
		t.Fatal(err)
	}
	if collisions != 1 || rev.Name != Name("web", Hash(data, ptr.To[int32](1))) {
		t.Errorf("created %s with collisions %d, want the name for collision count 1", rev.Name, collisions)
	}
	if rev.Labels[appsv1.ControllerRevisionHashLabelKey] != Hash(data, ptr.To[int32](1)) || rev.Labels["app"] != "web" {
		t.Errorf("labels = %v", rev.Labels)
	}
	if ref := metav1.GetControllerOf(rev); ref == nil || ref.UID != owner.UID {
		t.Errorf("owner = %v, want the set", rev.OwnerReferences)
	}
	// Creating the same data again finds the existing revision.
	again, err := Create(ctx, client, spec, &collisions)
	if err != nil || again.Name != rev.Name || collisions != 1 {
		t.Errorf("second create: %v %v, collisions %d", again, err, collisions)
	}
}

func TestTruncateAndSort(t *testing.T) {
	now := time.Now()
	var revs []*appsv1.ControllerRevision
	var objs []runtime.Object
	for i, name := range []string{"r3", "r1", "r2", "r4", "r5"} {
		r := &appsv1.ControllerRevision{
			ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "ns", CreationTimestamp: metav1.NewTime(now.Add(time.Duration(i) * time.Second))},
			Revision:   int64(name[1] - '0'),
		}
		revs = append(revs, r)
		objs = append(objs, r)
	}
	Sort(revs)
	var order []string
	for _, r := range revs {
		order = append(order, r.Name)
	}
	if diff := cmp.Diff([]string{"r1", "r2", "r3", "r4", "r5"}, order); diff != "" {
		t.Errorf("order (-want +got):\n%s", diff)
	}
	client := fake.NewClientset(objs...)
	// r1 is live (a pod runs it) and r5 is the update revision: of r2, r3,
	// r4 only the newest, r4, stays with a limit of 1.
	if err := Truncate(context.Background(), client, revs, map[string]bool{"r1": true, "r5": true}, 1); err != nil {
		t.Fatal(err)
	}
	list, _ := client.AppsV1().ControllerRevisions("ns").List(context.Background(), metav1.ListOptions{})
	var left []string
	for _, r := range list.Items {
		left = append(left, r.Name)
	}
	if diff := cmp.Diff([]string{"r1", "r4", "r5"}, left); diff != "" {
		t.Errorf("left (-want +got):\n%s", diff)
	}
}
