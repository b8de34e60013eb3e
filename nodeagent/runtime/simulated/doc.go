// Package simulated is a runtime.Runtime with no processes: its containers'
// lives are data. One Runtime serves one node; a process may hold thousands,
// each with its own pod CIDR. A container costs a few hundred bytes and no
// goroutine; a timer of the configured clock exists only while a delayed
// transition (a start, an exit, a slow stop) is pending.
//
//	r, err := simulated.New(simulated.Config{PodCIDRs: node.Spec.PodCIDRs, Stages: stages})
//
// # Stages
//
// A stage file (ParseStages; DefaultStageFile is the built-in one) lists
// stages in order. The first stage whose match selects a container decides,
// when the container starts, how it lives; a container no stage selects
// runs until stopped and passes every probe:
//
//	stages:
//	- name: job
//	  match:                      # all given fields must match
//	    labels: {app: batch}      # pod labels (and annotations:)
//	    ownerKinds: [Job]         # the pod's controller's kind
//	    restartPolicies: [Never, OnFailure]
//	    containerTypes: [Regular] # Init, Sidecar, Regular
//	    names: [main]             # container names
//	    images: ["*/busybox:*"]   # path.Match patterns
//	    command: 'sleep (\d+)'    # RE2 over command and args joined by spaces
//	  startDelay: 10ms            # StartContainer to Running (default 0)
//	  exit:                       # absent: runs until stopped
//	    after: 1s                 # Running to exit (default 0)
//	    code: 0                   # reason: Completed for 0, Error otherwise,
//	    reason: OOMKilled         # unless given
//	    afterFrom: 1              # or: seconds from a submatch of command
//	    codeFrom: 0               # or: code from a submatch of command
//	  stop: {delay: 2s, code: 0}  # answer to SIGTERM (default: exit 0 at once)
//	  readiness: {result: Failure}            # also liveness, startup
//	  startup: {result: Success, after: 5s}   # Failure before 5s, then Success
//
// The default stages: "true", "false", `sh -c "exit N"`, `sh -c "sleep S;
// exit N"` and "sleep S" behave as they would; init containers (not
// sidecars) exit 0 at once; a Job's regular containers (restartPolicy Never
// or OnFailure, controller kind Job) exit 0 one second after they started;
// everything else (Deployments, StatefulSets, DaemonSets, bare pods) is
// Running at once, Ready at its first probe, and runs until stopped.
//
// # Per-pod overrides
//
// The pod annotation "container.sim.kubelite.io/<container name>" changes one
// container's stage (see AnnotationPrefix for every key):
//
//	container.sim.kubelite.io/init: "exit=1"              # fails at once
//	container.sim.kubelite.io/main: "exit=0,after=30s"    # completes after 30s
//	container.sim.kubelite.io/main: "readiness=Failure"   # never Ready
//	container.sim.kubelite.io/main: "liveness=Failure@1m" # fails liveness after 1m
//	container.sim.kubelite.io/main: "exit=never"          # a Job's pod that runs on
//
// # Stopping
//
// StopContainer and StopPod send SIGTERM: by default the container exits at
// once with code 0, reason "Completed", as a process that handles SIGTERM
// does. A stage's stop.delay makes it take that long, and past the grace
// period it is killed with code 137, reason "Error", as a runtime's SIGKILL
// reports. Exits at once happen before the call returns; later ones are
// signalled through Subscribe, and a stopping pod's sandbox stops with its
// last container.
//
// # Probes
//
// Probe finds which probe it runs (readiness, liveness or startup) by
// comparing it with the container's probes in the pod's spec, so the caller
// passes the pointer from the spec. Exec, HTTP, TCP and gRPC probes are all
// alike: they succeed unless the stage or annotation says otherwise.
//
// # Logs, exec, attach, port-forward
//
// A container's log is derived from its life: a line when an attempt starts
// and one when it exits, or instead the lines of the pod annotation
// "logs.sim.kubelite.io/<container name>" (LogAnnotationPrefix), logged when
// the attempt starts. Exec runs no process: it interprets true, false, echo,
// cat, hostname, sleep, tar (kubectl cp, on a small in-memory file system
// per pod) and `sh -c` scripts of those and exit; any other command fails
// with exit code 127, as a shell reports a missing command. Attach writes
// nothing and ends when the container exits. Port-forward reaches an echo
// server on every port of a pod with a ready sandbox.
package simulated
