package app

import (
	"github.com/spf13/pflag"
	utilerrors "k8s.io/apimachinery/pkg/util/errors"
	genericapiserver "k8s.io/apiserver/pkg/server"
	"k8s.io/apiserver/pkg/server/options"
)

// AuditConfig is the API server's audit logging: upstream's policy file
// format, log backend (one JSON audit.k8s.io/v1 event a line, the file
// rotated by size) and webhook backend (batches of events POSTed to the
// server a kubeconfig names). Nothing is logged without a policy and a
// backend.
type AuditConfig struct {
	// PolicyFile is the audit policy (audit.k8s.io/v1 Policy).
	PolicyFile string
	// LogPath is the audit log file; "-" is standard output.
	LogPath string
	// MaxAge (days), MaxBackups and MaxSize (MiB) bound the rotated files;
	// zero MaxSize turns rotation off.
	MaxAge, MaxBackups, MaxSize int
	// WebhookConfigFile is a kubeconfig naming the webhook that receives
	// audit events (an audit.k8s.io/v1 EventList a request).
	WebhookConfigFile string
	// WebhookMode is how events reach the webhook: batch (buffered,
	// asynchronous), blocking or blocking-strict. Empty: batch.
	WebhookMode string
}

// addAuditFlags binds upstream's audit log flags, with upstream's defaults.
func addAuditFlags(fs *pflag.FlagSet, c *AuditConfig) {
	def := options.NewAuditOptions().LogOptions
	fs.StringVar(&c.PolicyFile, "audit-policy-file", "", "Path to the file that defines the audit policy configuration.")
	fs.StringVar(&c.LogPath, "audit-log-path", "", "If set, all requests coming to the apiserver will be logged to this file.  '-' means standard out.")
	fs.IntVar(&c.MaxAge, "audit-log-maxage", def.MaxAge, "The maximum number of days to retain old audit log files based on the timestamp encoded in their filename. Setting a value of 0 means old audit log files are not removed based on age.")
	fs.IntVar(&c.MaxBackups, "audit-log-maxbackup", def.MaxBackups, "The maximum number of old audit log files to retain. Setting a value of 0 will mean there's no restriction on the number of files.")
	fs.IntVar(&c.MaxSize, "audit-log-maxsize", def.MaxSize, "The maximum size in megabytes of the audit log file before it gets rotated. Setting to 0 disables rotation (not recommended).")
	fs.StringVar(&c.WebhookConfigFile, "audit-webhook-config-file", "", "Path to a kubeconfig formatted file that defines the audit webhook configuration.")
	fs.StringVar(&c.WebhookMode, "audit-webhook-mode", options.ModeBatch, "Strategy for sending audit events. Blocking indicates sending events should block server responses. Batch causes the backend to buffer and write events asynchronously. Known modes are batch,blocking,blocking-strict.")
}

// applyAudit sets gc's audit policy and backend, as kube-apiserver's audit
// options do.
func applyAudit(gc *genericapiserver.Config, c AuditConfig) error {
	if c.PolicyFile == "" && c.LogPath == "" && c.WebhookConfigFile == "" {
		return nil
	}
	o := options.NewAuditOptions()
	o.PolicyFile = c.PolicyFile
	o.LogOptions.Path = c.LogPath
	o.LogOptions.MaxAge, o.LogOptions.MaxBackups, o.LogOptions.MaxSize = c.MaxAge, c.MaxBackups, c.MaxSize
	o.WebhookOptions.ConfigFile = c.WebhookConfigFile
	if c.WebhookMode != "" {
		o.WebhookOptions.BatchOptions.Mode = c.WebhookMode
	}
	if errs := o.Validate(); len(errs) > 0 {
		return utilerrors.NewAggregate(errs)
	}
	return o.ApplyTo(gc)
}
