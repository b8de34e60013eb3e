package simulated

import (
	"fmt"
	"path"
	"slices"
	"strconv"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// target is what stages match against: one container of one pod.
type target struct {
	pod       *corev1.Pod
	c         *corev1.Container
	ctype     ContainerType
	ownerKind string
	argv      string // command and args joined by spaces, filled lazily
	argvDone  bool
}

func newTarget(pod *corev1.Pod, c *corev1.Container) *target {
	t := &target{pod: pod, c: c, ctype: containerType(pod, c.Name)}
	if ref := metav1.GetControllerOfNoCopy(pod); ref != nil {
		t.ownerKind = ref.Kind
	}
	return t
}

func (t *target) commandLine() string {
	if !t.argvDone {
		t.argv = strings.Join(slices.Concat(t.c.Command, t.c.Args), " ")
		t.argvDone = true
	}
	return t.argv
}

// containerType finds the role of the container named name in pod.
func containerType(pod *corev1.Pod, name string) ContainerType {
	for i := range pod.Spec.InitContainers {
		ic := &pod.Spec.InitContainers[i]
		if ic.Name == name {
			if ic.RestartPolicy != nil && *ic.RestartPolicy == corev1.ContainerRestartPolicyAlways {
				return ContainerSidecar
			}
			return ContainerInit
		}
	}
	return ContainerRegular
}

// matches reports whether st selects t, and the command's submatches.
func (st *stage) matches(t *target) (bool, []string) {
	m := &st.match
	if !subset(m.Labels, t.pod.Labels) || !subset(m.Annotations, t.pod.Annotations) {
		return false, nil
	}
	if len(m.OwnerKinds) > 0 && !slices.Contains(m.OwnerKinds, t.ownerKind) {
		return false, nil
	}
	if len(m.RestartPolicies) > 0 && !slices.Contains(m.RestartPolicies, restartPolicy(t.pod)) {
		return false, nil
	}
	if len(m.ContainerTypes) > 0 && !slices.Contains(m.ContainerTypes, t.ctype) {
		return false, nil
	}
	if len(m.Names) > 0 && !slices.Contains(m.Names, t.c.Name) {
		return false, nil
	}
	if len(m.Images) > 0 && !slices.ContainsFunc(m.Images, func(p string) bool {
		ok, _ := path.Match(p, t.c.Image)
		return ok
	}) {
		return false, nil
	}
	if st.command == nil {
		return true, nil
	}
	sub := st.command.FindStringSubmatch(t.commandLine())
	return sub != nil, sub
}

func restartPolicy(pod *corev1.Pod) corev1.RestartPolicy {
	if pod.Spec.RestartPolicy == "" {
		return corev1.RestartPolicyAlways
	}
	return pod.Spec.RestartPolicy
}

func subset(want, have map[string]string) bool {
	for k, v := range want {
		if got, ok := have[k]; !ok || got != v {
			return false
		}
	}
	return true
}

// behaviourFor returns the life of the container t: the shared behaviour of
// the first stage that selects it, or a fresh one when submatches or
// overrides change it. nil means the zero behaviour.
func (s *Stages) behaviourFor(t *target) (*behaviour, error) {
	var b *behaviour
	for _, st := range s.list {
		ok, sub := st.matches(t)
		if !ok {
			continue
		}
		b = &st.b
		if st.codeFrom > 0 || st.afterFrom > 0 {
			own := st.b
			if err := own.fromSubmatches(st, sub); err != nil {
				return nil, fmt.Errorf("stage %q: %w", st.name, err)
			}
			b = &own
		}
		break
	}
	return applyOverrides(b, t)
}

func (b *behaviour) fromSubmatches(st *stage, sub []string) error {
	if st.codeFrom > 0 {
		code, err := strconv.ParseInt(sub[st.codeFrom], 10, 32)
		if err != nil {
			return fmt.Errorf("exit code from command: %w", err)
		}
		b.exitCode = int32(code & 0xff)
	}
	if st.afterFrom > 0 {
		secs, err := strconv.ParseFloat(sub[st.afterFrom], 64)
		if err != nil || secs < 0 {
			return fmt.Errorf("exit after from command: %q is not a number of seconds", sub[st.afterFrom])
		}
		b.exitAfter = time.Duration(secs * float64(time.Second))
	}
	return nil
}
