// Package runtime is what the node agent asks of a container runtime: a
// sandbox per pod, containers started in it one attempt at a time, their
// states, and a signal when any of them changes.
//
// Vocabulary. A pod's sandbox holds what its containers share (network
// namespace, IPs); it lives from RunPodSandbox to RemovePod. A container is
// one attempt at running one entry of the pod's spec: restarting a container
// starts a new attempt with a new ID, and the runtime keeps the exited ones
// until the agent removes them, so that the agent can report lastState and
// count restarts. The agent decides what runs when (init containers in order,
// restart policy, back-off, termination); a runtime only does what it is told
// and reports what it sees.
//
// Two runtimes implement it: runtime/simulated (no processes; lifecycles are
// data) and runtime/containerd (real containers). Both pass runtime/suite.
package runtime

import (
	"context"
	"errors"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"
)

// ErrImageNeverPull is what PullImage returns (wrapped, with upstream's
// message) when an image is missing and its pull policy is Never.
var ErrImageNeverPull = errors.New("image is not present with pull policy of Never")

// State is where a container is in its life.
type State string

const (
	// StateCreated: created, not started yet.
	StateCreated State = "Created"
	// StateRunning: its process runs.
	StateRunning State = "Running"
	// StateExited: its process ended; ExitCode and FinishedAt say how and when.
	StateExited State = "Exited"
	// StateUnknown: the runtime lost track of it.
	StateUnknown State = "Unknown"
)

// Container is one attempt of one container of a pod, as the runtime sees it.
type Container struct {
	// ID is unique within the runtime; the agent reports it as
	// "<Runtime.Type()>://<ID>".
	ID string
	// Name is the container's name in the pod spec.
	Name string
	// Attempt counts starts of this container name in this pod, from 0.
	Attempt int
	// Image is the image the spec named; ImageRef the resolved image (imageID).
	Image, ImageRef string
	State           State
	// CreatedAt, StartedAt and FinishedAt are zero until they happened.
	CreatedAt, StartedAt, FinishedAt time.Time
	// ExitCode, Reason and Message describe an exited container. Reason is as
	// upstream reports it: "Completed" for exit code 0, "Error" otherwise,
	// "OOMKilled", ...
	ExitCode        int32
	Reason, Message string
}

// Image is one image present on the node.
type Image struct {
	// Names are the image's names as the Node reports them: its digested
	// references ("repo@sha256:...") first, then its tags ("repo:tag").
	Names []string
	// Size is its size in bytes.
	Size int64
}

// Sandbox is a pod's shared environment.
type Sandbox struct {
	ID string
	// IPs are the pod's addresses, the primary one first.
	IPs []string
	// Ready is false once the sandbox was stopped.
	Ready     bool
	CreatedAt time.Time
}

// PodStatus is everything a runtime holds for one pod.
type PodStatus struct {
	UID             types.UID
	Namespace, Name string
	// Sandbox is nil when the pod has none.
	Sandbox *Sandbox
	// Containers are all attempts not yet removed, init containers included,
	// in no particular order.
	Containers []Container
}

// ProbeResult is what a probe found.
type ProbeResult int

const (
	// ProbeSuccess: the probe passed.
	ProbeSuccess ProbeResult = iota
	// ProbeFailure: the probe ran and failed.
	ProbeFailure
	// ProbeUnknown: the probe could not run (the container is gone, say); the
	// agent keeps the previous result.
	ProbeUnknown
)

// Runtime runs the containers of the pods on one node. All methods are safe
// for concurrent use, and all are idempotent where that is meaningful:
// running a sandbox that runs returns it, stopping a stopped container or
// removing a missing pod succeeds.
type Runtime interface {
	// Type names the runtime ("simulated", "containerd"): the scheme of
	// container IDs in pod status.
	Type() string
	// Version is the runtime's version, as the Node reports it in
	// nodeInfo.containerRuntimeVersion ("containerd://1.6.20").
	Version(ctx context.Context) (string, error)

	// RunPodSandbox makes pod's sandbox and returns it.
	RunPodSandbox(ctx context.Context, pod *corev1.Pod) (*Sandbox, error)
	// StopPod stops every container of the pod, each with at most grace to
	// exit after SIGTERM, then the sandbox. What it held stays for status.
	StopPod(ctx context.Context, uid types.UID, grace time.Duration) error
	// RemovePod removes the pod's containers and sandbox; the pod must be stopped.
	RemovePod(ctx context.Context, uid types.UID) error

	// PullImage makes c's image present as c.ImagePullPolicy asks and returns
	// its reference (imageID).
	PullImage(ctx context.Context, pod *corev1.Pod, c *corev1.Container) (string, error)
	// StartContainer creates and starts attempt number attempt of c in pod's
	// sandbox and returns its ID. The container's process may exit at any time
	// after; Subscribe tells when.
	StartContainer(ctx context.Context, pod *corev1.Pod, c *corev1.Container, attempt int) (string, error)
	// StopContainer sends the container SIGTERM (after its preStop hook, if
	// any) and kills it if it has not exited after grace.
	StopContainer(ctx context.Context, pod *corev1.Pod, id string, grace time.Duration) error
	// RemoveContainer forgets an exited container.
	RemoveContainer(ctx context.Context, id string) error

	// ListImages returns the images present on the node, for the Node's
	// status.images: the largest first.
	ListImages(ctx context.Context) ([]Image, error)

	// PodStatus returns what the runtime holds for the pod, or nil if nothing.
	PodStatus(ctx context.Context, uid types.UID) (*PodStatus, error)
	// ListPods returns every pod the runtime holds (the agent picks these up
	// after a restart).
	ListPods(ctx context.Context) ([]*PodStatus, error)

	// Probe runs probe against container id of pod once.
	Probe(ctx context.Context, pod *corev1.Pod, id string, probe *corev1.Probe) (ProbeResult, string, error)

	// Subscribe registers fn to be called with a pod's UID whenever the state of
	// its sandbox or of one of its containers changes by itself (a process
	// exits, a container becomes running after a delay). fn must not block.
	// Changes that a method call made are not signalled: the caller knows.
	Subscribe(fn func(types.UID))

	// Streamer serves the logs, exec, attach and port-forward sessions of
	// the node agent's endpoint.
	Streamer
}

// PodNetwork is a Runtime whose pod network takes the node's pod CIDRs from
// its Node (spec.podCIDRs, set by the node IPAM controller), as upstream's
// kubelet does without --pod-cidr. The agent calls SetPodCIDRs whenever it
// sees its Node with pod CIDRs; until then NetworkReady fails, the Node is
// not Ready, and sandboxes other than hostNetwork ones cannot start.
type PodNetwork interface {
	SetPodCIDRs(cidrs []string) error
	NetworkReady() error
}
