package framework

import (
	"errors"
	"strings"
)

// Code is the outcome a plugin reports.
type Code int

// The codes a plugin may return.
const (
	// Success: the pod may go on (a nil *Status means the same).
	Success Code = iota
	// Error: something went wrong that is not about the pod or the node;
	// the cycle fails and the pod is retried with backoff.
	Error
	// Unschedulable: the pod does not fit the node now, but preempting pods
	// on the node might make it fit.
	Unschedulable
	// UnschedulableAndUnresolvable: the pod does not fit the node and
	// removing pods will not change that (taints, affinity, node name).
	UnschedulableAndUnresolvable
	// Skip, from PreFilter or PreScore: the plugin has nothing to check or
	// score for this pod, so its Filter or Score is not called.
	Skip
)

var codeNames = [...]string{"Success", "Error", "Unschedulable", "UnschedulableAndUnresolvable", "Skip"}

func (c Code) String() string {
	if c >= 0 && int(c) < len(codeNames) {
		return codeNames[c]
	}
	return "Unknown"
}

// Status is a plugin's outcome: a Code, the reasons a user reads (each one
// is counted in a FailedScheduling message, so a reason names the kind of
// failure, not the node), and the plugin that said so.
type Status struct {
	code    Code
	reasons []string
	err     error
	plugin  string
}

// NewStatus returns a status with code and reasons.
func NewStatus(code Code, reasons ...string) *Status {
	return &Status{code: code, reasons: reasons}
}

// Rejection returns a status with code and reasons that plugin returns
// over and over (a filter's fixed rejection), made once so that filtering
// thousands of nodes does not allocate one per node. The scheduler only
// reads statuses, so one may be shared between cycles and nodes; it must
// not be changed.
func Rejection(plugin string, code Code, reasons ...string) *Status {
	return &Status{code: code, reasons: reasons, plugin: plugin}
}

// AsStatus wraps err as an Error status.
func AsStatus(err error) *Status {
	if err == nil {
		return nil
	}
	return &Status{code: Error, reasons: []string{err.Error()}, err: err}
}

// Code is the status's code; Success for nil.
func (s *Status) Code() Code {
	if s == nil {
		return Success
	}
	return s.code
}

// IsSuccess reports whether s is nil or Success.
func (s *Status) IsSuccess() bool { return s.Code() == Success }

// IsSkip reports whether s is Skip.
func (s *Status) IsSkip() bool { return s.Code() == Skip }

// IsRejected reports whether s says the pod does not fit: Unschedulable or
// UnschedulableAndUnresolvable.
func (s *Status) IsRejected() bool {
	c := s.Code()
	return c == Unschedulable || c == UnschedulableAndUnresolvable
}

// Reasons are the status's reasons.
func (s *Status) Reasons() []string {
	if s == nil {
		return nil
	}
	return s.reasons
}

// Message joins the reasons with ", ".
func (s *Status) Message() string {
	if s == nil {
		return ""
	}
	return strings.Join(s.reasons, ", ")
}

// Plugin is the name of the plugin that returned s, once the scheduler has
// recorded it.
func (s *Status) Plugin() string {
	if s == nil {
		return ""
	}
	return s.plugin
}

// WithPlugin records the plugin that returned s and returns s. A status
// that already names the plugin is left as it is (not written), so that
// shared ones (Rejection) may be returned from filters running in
// parallel.
func (s *Status) WithPlugin(name string) *Status {
	if s != nil && s.plugin != name {
		s.plugin = name
	}
	return s
}

// AsError is the status as an error: nil for Success and Skip, the wrapped
// error for Error, and the message otherwise.
func (s *Status) AsError() error {
	switch {
	case s.IsSuccess() || s.IsSkip():
		return nil
	case s.err != nil:
		return s.err
	default:
		return errors.New(s.Message())
	}
}
