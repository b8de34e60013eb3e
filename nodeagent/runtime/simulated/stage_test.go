package simulated

import (
	"flag"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/yaml"
)

var update = flag.Bool("update", false, "rewrite the golden *.output.yaml files")

func TestParseStages(t *testing.T) {
	tests := []struct {
		name    string
		yaml    string
		wantErr string // a substring; "" for success
	}{
		{"empty", "stages: []", ""},
		{"defaults", string(DefaultStageFile()), ""},
		{"no name", "stages: [{match: {}}]", "name is empty"},
		{"unknown field", "stages: [{name: a, delay: 1s}]", "unknown field"},
		{"bad regexp", "stages: [{name: a, match: {command: '('}}]", "match.command"},
		{"bad image pattern", "stages: [{name: a, match: {images: ['[']}}]", "match.images"},
		{"bad container type", "stages: [{name: a, match: {containerTypes: [Ephemeral]}}]", "unknown type"},
		{"codeFrom without submatch", "stages: [{name: a, exit: {codeFrom: 1}}]", "submatches"},
		{"bad probe result", "stages: [{name: a, readiness: {result: Maybe}}]", "neither Success nor Failure"},
		{"negative delay", "stages: [{name: a, startDelay: -1s}]", "negative"},
		{"bad duration", "stages: [{name: a, startDelay: soon}]", "duration"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseStages([]byte(tc.yaml))
			switch {
			case tc.wantErr == "" && err != nil:
				t.Errorf("ParseStages: %v", err)
			case tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)):
				t.Errorf("ParseStages = %v, want an error with %q", err, tc.wantErr)
			}
		})
	}
}

// life is how a golden file shows a container's compiled behaviour.
type life struct {
	Container string `json:"container"`
	Stage     string `json:"stage,omitempty"`
	Start     string `json:"start,omitempty"`
	Exit      string `json:"exit,omitempty"`
	Stop      string `json:"stop,omitempty"`
	Probes    string `json:"probes,omitempty"`
	Error     string `json:"error,omitempty"`
}

func describeLife(name string, b *behaviour, err error) life {
	l := life{Container: name}
	if err != nil {
		l.Error = err.Error()
		return l
	}
	if b == nil {
		b = &behaviour{}
	}
	l.Stage = b.stage
	if b.startDelay > 0 {
		l.Start = b.startDelay.String()
	}
	if b.exits {
		l.Exit = "code " + itoa(b.exitCode) + " after " + b.exitAfter.String()
		if b.reason != "" {
			l.Exit += " reason " + b.reason
		}
	}
	if b.stopDelay > 0 || b.stopCode != 0 {
		l.Stop = "code " + itoa(b.stopCode) + " after " + b.stopDelay.String()
	}
	var probes []string
	for k, name := range []string{"readiness", "liveness", "startup"} {
		p := b.probes[k]
		if p == (probeBehaviour{}) {
			continue
		}
		res := "Success"
		if p.fails {
			res = "Failure"
		}
		probes = append(probes, name+"="+res+"@"+p.after.String())
	}
	l.Probes = strings.Join(probes, " ")
	return l
}

func itoa(n int32) string { return strconv.Itoa(int(n)) }

// TestGolden compiles each testdata/<name>.stages.yaml (or the default
// stages) and writes the life of every container of the pods in
// testdata/<name>.input.yaml to <name>.output.yaml.
func TestGolden(t *testing.T) {
	inputs, err := filepath.Glob("testdata/*.input.yaml")
	if err != nil || len(inputs) == 0 {
		t.Fatalf("no golden inputs: %v", err)
	}
	for _, in := range inputs {
		base := strings.TrimSuffix(in, ".input.yaml")
		t.Run(filepath.Base(base), func(t *testing.T) {
			stages, err := defaultStages()
			if data, rerr := os.ReadFile(base + ".stages.yaml"); rerr == nil {
				stages, err = ParseStages(data)
			}
			if err != nil {
				t.Fatal(err)
			}
			data, err := os.ReadFile(in)
			if err != nil {
				t.Fatal(err)
			}
			var pods corev1.PodList
			if err := yaml.UnmarshalStrict(data, &pods); err != nil {
				t.Fatal(err)
			}
			out := map[string][]life{}
			for i := range pods.Items {
				p := &pods.Items[i]
				for _, list := range [][]corev1.Container{p.Spec.InitContainers, p.Spec.Containers} {
					for j := range list {
						b, err := stages.behaviourFor(newTarget(p, &list[j]))
						out[p.Name] = append(out[p.Name], describeLife(list[j].Name, b, err))
					}
				}
			}
			got, err := yaml.Marshal(out)
			if err != nil {
				t.Fatal(err)
			}
			if *update {
				if err := os.WriteFile(base+".output.yaml", got, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(base + ".output.yaml")
			if err != nil {
				t.Fatalf("%v (run with -update to write it)", err)
			}
			if diff := cmp.Diff(string(want), string(got)); diff != "" {
				t.Errorf("%s (-want +got):\n%s", base+".output.yaml", diff)
			}
		})
	}
}

func TestLoadStages(t *testing.T) {
	if _, err := LoadStages("testdata/custom.stages.yaml"); err != nil {
		t.Errorf("LoadStages(custom): %v", err)
	}
	if _, err := LoadStages("testdata/missing.yaml"); err == nil {
		t.Error("LoadStages(missing) succeeded")
	}
	if _, err := LoadStages("testdata/default.input.yaml"); err == nil || !strings.Contains(err.Error(), "default.input.yaml") {
		t.Errorf("LoadStages(not a stage file) = %v, want an error naming the file", err)
	}
}
