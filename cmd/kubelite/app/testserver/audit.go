package testserver

import (
	"bufio"
	"encoding/json"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"testing"

	auditv1 "k8s.io/apiserver/pkg/apis/audit/v1"

	"github.com/kubelite/kubelite/cmd/kubelite/app"
)

// AuditLog writes policy (an audit.k8s.io/v1 Policy, in YAML) into dir and
// returns the audit configuration that logs what it selects to
// dir/audit.log, for ServerConfig.Audit.
func AuditLog(t testing.TB, dir, policy string) app.AuditConfig {
	t.Helper()
	path := filepath.Join(dir, "audit-policy.yaml")
	if err := os.WriteFile(path, []byte(policy), 0o600); err != nil {
		t.Fatal(err)
	}
	return app.AuditConfig{PolicyFile: path, LogPath: filepath.Join(dir, "audit.log")}
}

// AuditEvents returns the events of the audit log at path, in order; none
// while the log does not exist yet. A line that is not an event fails t.
func AuditEvents(t testing.TB, path string) []auditv1.Event {
	t.Helper()
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var events []auditv1.Event
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var e auditv1.Event
		if err := json.Unmarshal(sc.Bytes(), &e); err != nil {
			t.Fatalf("audit line %q: %v", sc.Text(), err)
		}
		events = append(events, e)
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return events
}
