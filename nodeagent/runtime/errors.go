package runtime

// ConfigError is a StartContainer failure in the container's configuration
// rather than in running it (runAsNonRoot refused, a volume mount that names
// no volume): the agent reports it as CreateContainerConfigError with the
// error's message, as upstream.
type ConfigError struct{ Err error }

func (e *ConfigError) Error() string { return e.Err.Error() }

func (e *ConfigError) Unwrap() error { return e.Err }

// HookError is a lifecycle hook that failed: a postStart hook's failure
// fails StartContainer (the container was killed), which the agent reports
// as PostStartHookError with a FailedPostStartHook event.
type HookError struct {
	// Hook is "PostStart" or "PreStop".
	Hook string
	Err  error
}

func (e *HookError) Error() string { return e.Err.Error() }

func (e *HookError) Unwrap() error { return e.Err }
