// Package persistentvolume is the PersistentVolume controller: it binds
// PersistentVolumeClaims to PersistentVolumes, provisions volumes for
// claims whose StorageClass names a provisioner built into kubelite, and
// reclaims volumes whose claims are gone, as upstream's persistent volume
// controller does.
//
// A claim without the pv.kubernetes.io/bind-completed annotation is
// unbound. With spec.volumeName empty it is matched to the smallest
// Available volume of its class that satisfies its access modes, size,
// selector and volume mode (a volume pre-bound to it through claimRef wins);
// with spec.volumeName set (pre-bound by the user), to that volume if it
// fits. A claim whose class binds WaitForFirstConsumer is only matched to
// volumes pre-bound to it, until the scheduler sets the
// volume.kubernetes.io/selected-node annotation, which starts provisioning
// (an event "waiting for first consumer to be created before binding"
// until then). A claim created without a class gets the default class
// once there is one, as upstream's retroactive assignment. Binding writes, in order: the volume's claimRef (annotated
// pv.kubernetes.io/bound-by-controller when the controller chose it), the
// volume's phase Bound, the claim's volumeName with bind-completed (and
// bound-by-controller), the claim's phase Bound with the volume's capacity
// and access modes. Each step is idempotent; a sync that stops half-way is
// finished by the next.
//
// A bound claim whose volume is gone or bound elsewhere becomes Lost. A
// volume whose claim is gone becomes Released and is reclaimed by its
// policy: Retain keeps it; Delete removes the volume through the
// provisioner that made it (pv.kubernetes.io/provisioned-by), then the
// PersistentVolume; a volume no built-in provisioner made, and Recycle,
// become Failed with upstream's events. Claims for provisioners kubelite
// does not have get the ExternalProvisioning event and wait.
package persistentvolume

import (
	"context"
	"errors"
	"fmt"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/labels"
	coreinformers "k8s.io/client-go/informers/core/v1"
	storageinformers "k8s.io/client-go/informers/storage/v1"
	"k8s.io/client-go/kubernetes"
	corelisters "k8s.io/client-go/listers/core/v1"
	storagelisters "k8s.io/client-go/listers/storage/v1"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/tools/record"
	"k8s.io/utils/clock"

	"github.com/kubelite/kubelite/controllers/internal/loop"
)

// Provisioner makes and removes the storage behind PersistentVolumes of
// one provisioner name.
type Provisioner interface {
	// Provision returns the volume source and node affinity of a new
	// volume called name for claim. node is the node the scheduler chose
	// (nil when the class binds Immediately). The controller fills in the
	// rest of the PersistentVolume.
	Provision(ctx context.Context, name string, claim *corev1.PersistentVolumeClaim, node *corev1.Node) (corev1.PersistentVolumeSource, *corev1.VolumeNodeAffinity, error)
	// Delete removes the storage of pv; it is done when it returns nil,
	// also when there was nothing to remove.
	Delete(ctx context.Context, pv *corev1.PersistentVolume) error
}

// Config holds what the controller needs. Fields without a documented
// zero value are required.
type Config struct {
	Client  kubernetes.Interface
	Claims  coreinformers.PersistentVolumeClaimInformer
	Volumes coreinformers.PersistentVolumeInformer
	Classes storageinformers.StorageClassInformer
	// Nodes tells provisioners about the selected node. Zero: they get a
	// node with only its name.
	Nodes coreinformers.NodeInformer
	// Events records the controller's events.
	Events record.EventRecorder
	// Provisioners are the built-in provisioners by name. Zero: none;
	// every class then waits for an external provisioner.
	Provisioners map[string]Provisioner
	// Clock stamps phase transitions. Zero: the real clock.
	Clock clock.PassiveClock
}

// Validate reports missing fields.
func (c Config) Validate() error {
	if c.Client == nil || c.Claims == nil || c.Volumes == nil || c.Classes == nil || c.Events == nil {
		return errors.New("persistentvolume controller: Client, Claims, Volumes, Classes and Events are required")
	}
	return nil
}

// Queue keys: a prefix for the kind, then the object's cache key.
const (
	claimPrefix  = "pvc:"
	volumePrefix = "pv:"
)

// Controller is the PersistentVolume controller. Build it with New.
type Controller struct {
	client       kubernetes.Interface
	claims       corelisters.PersistentVolumeClaimLister
	volumes      corelisters.PersistentVolumeLister
	classes      storagelisters.StorageClassLister
	nodes        corelisters.NodeLister
	events       record.EventRecorder
	provisioners map[string]Provisioner
	clock        clock.PassiveClock
	loop         *loop.Loop
}

// New registers the controller's handlers; nothing runs until Run.
func New(cfg Config) (*Controller, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	c := &Controller{
		client:       cfg.Client,
		claims:       cfg.Claims.Lister(),
		volumes:      cfg.Volumes.Lister(),
		classes:      cfg.Classes.Lister(),
		events:       cfg.Events,
		provisioners: cfg.Provisioners,
		clock:        cfg.Clock,
	}
	if c.clock == nil {
		c.clock = clock.RealClock{}
	}
	c.loop = loop.New("persistentvolume-binder-controller", c.sync)
	if cfg.Nodes != nil {
		c.nodes = cfg.Nodes.Lister()
		c.loop.WaitFor(cfg.Nodes.Informer().HasSynced)
	}
	// A claim's change syncs it and, so that a deleted claim releases it,
	// its volume.
	claimKeys := func(obj any) []string {
		keys := loop.OwnKey(obj)
		if len(keys) == 1 {
			keys[0] = claimPrefix + keys[0]
		}
		if pvc, ok := obj.(*corev1.PersistentVolumeClaim); ok && pvc.Spec.VolumeName != "" {
			keys = append(keys, volumePrefix+pvc.Spec.VolumeName)
		}
		return keys
	}
	if err := loop.Watch(c.loop, cfg.Claims.Informer(), claimKeys, true); err != nil {
		return nil, err
	}
	// A volume's change syncs it and its claim; one that may now be free
	// syncs the unbound claims, which may fit it (upstream waits for its
	// periodic resync instead).
	if err := loop.Watch(c.loop, cfg.Volumes.Informer(), c.volumeKeys, true); err != nil {
		return nil, err
	}
	// A new or changed class may let its claims provision.
	if err := loop.Watch(c.loop, cfg.Classes.Informer(), func(any) []string { return c.unboundClaimKeys() }, false); err != nil {
		return nil, err
	}
	return c, nil
}

// Run syncs claims and volumes until ctx ends.
func (c *Controller) Run(ctx context.Context, workers int) error { return c.loop.Run(ctx, workers) }

func (c *Controller) volumeKeys(obj any) []string {
	pv, ok := obj.(*corev1.PersistentVolume)
	if !ok {
		return nil
	}
	keys := []string{volumePrefix + pv.Name}
	if ref := pv.Spec.ClaimRef; ref != nil {
		keys = append(keys, claimPrefix+ref.Namespace+"/"+ref.Name)
	}
	if ref := pv.Spec.ClaimRef; ref == nil || ref.UID == "" {
		// The unbound claims, and those that name this volume: one synced
		// before the volume was seen stays Pending until it syncs again.
		keys = append(keys, c.claimKeys(func(pvc *corev1.PersistentVolumeClaim) bool {
			return pvc.Spec.VolumeName == "" || pvc.Spec.VolumeName == pv.Name
		})...)
	}
	return keys
}

// unboundClaimKeys lists the keys of the claims that are not bound yet.
func (c *Controller) unboundClaimKeys() []string {
	return c.claimKeys(func(pvc *corev1.PersistentVolumeClaim) bool { return pvc.Spec.VolumeName == "" })
}

// claimKeys lists the keys of the claims, not being deleted, that match.
func (c *Controller) claimKeys(match func(*corev1.PersistentVolumeClaim) bool) []string {
	all, err := c.claims.List(labels.Everything())
	if err != nil {
		return nil
	}
	var keys []string
	for _, pvc := range all {
		if pvc.DeletionTimestamp == nil && match(pvc) {
			keys = append(keys, claimPrefix+pvc.Namespace+"/"+pvc.Name)
		}
	}
	return keys
}

func (c *Controller) sync(ctx context.Context, key string) error {
	if k, ok := strings.CutPrefix(key, claimPrefix); ok {
		ns, name, err := cache.SplitMetaNamespaceKey(k)
		if err != nil {
			return loop.Terminal(err)
		}
		return c.syncClaimKey(ctx, ns, name)
	}
	if name, ok := strings.CutPrefix(key, volumePrefix); ok {
		return c.syncVolumeKey(ctx, name)
	}
	return loop.Terminal(fmt.Errorf("unknown key %q", key))
}
