// Package volumes makes the volumes of the pods on one node, for a runtime
// that runs real containers: each volume becomes a directory (or file) on
// the host that the runtime binds into the containers that mount it.
//
// Volume kinds:
//   - emptyDir: a directory under the pod's directory; medium Memory is a
//     tmpfs, as large as sizeLimit when set. (A disk emptyDir's sizeLimit
//     is not enforced: upstream evicts the pod, kubelite does not yet.)
//   - configMap, secret, downwardAPI, projected (configMap, secret,
//     downwardAPI, serviceAccountToken sources): files written atomically
//     (a "..data" symlink swapped to a new hidden directory, as upstream),
//     rewritten when the objects change: each object a pod references is
//     watched by name, and every pod's files are refreshed each Resync.
//     Service account tokens come from the TokenRequest API, bound to the
//     pod, and are renewed after 80 % of their lifetime.
//   - hostPath, with its type's checks and creations.
//   - persistentVolumeClaim bound to a hostPath or local volume (what the
//     local-path provisioner makes): that path.
//
// The Manager reads objects through the API, only those its pods reference:
// from its watch of the object once that has listed it (so the pods of a
// namespace share one watch of kube-root-ca.crt, as upstream's kubelet),
// else with a GET.
package volumes

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/cache"
	"k8s.io/klog/v2"
	"k8s.io/utils/clock"
)

// DefaultResync is how often Run rewrites every pod's API-backed volumes
// when Config.Resync is zero: about upstream's pod sync period.
const DefaultResync = time.Minute

// Config configures a Manager.
type Config struct {
	// Client reads the objects that volumes project and asks for tokens.
	// Nil: only emptyDir and hostPath volumes work.
	Client kubernetes.Interface
	// Dir holds the pods' directories; a pod's volumes are under
	// <Dir>/<pod UID>/volumes/<volume name>. Required.
	Dir string
	// Resync is how often Run rewrites every pod's API-backed volumes.
	// Zero: DefaultResync.
	Resync time.Duration
	// Clock decides when tokens are renewed. Nil: the real clock.
	Clock clock.PassiveClock
}

// Volume is one volume of a pod as it is on the host.
type Volume struct {
	// Path is what containers bind.
	Path string
	// ReadOnly: the volume is always mounted read-only (configMap, secret,
	// downwardAPI, projected, and claims or sources marked read-only).
	ReadOnly bool
}

// MountError is the error of a volume that could not be made.
type MountError struct {
	Volume string
	Err    error
}

func (e *MountError) Error() string {
	return fmt.Sprintf("MountVolume.SetUp failed for volume %q : %v", e.Volume, e.Err)
}

func (e *MountError) Unwrap() error { return e.Err }

// Manager makes and refreshes the volumes of a node's pods. Its methods are
// safe for concurrent use.
type Manager struct {
	cfg  Config
	kick chan struct{}

	mu     sync.Mutex
	pods   map[types.UID]*podVolumes
	tokens map[tokenKey]token
	// dirty are pods whose referenced objects changed since Run last looked.
	dirty map[types.UID]bool
	// watched are the informers of Run's watches, by object.
	watched map[objectKey]cache.SharedIndexInformer
}

// podVolumes is what the manager holds for one pod.
type podVolumes struct {
	pod  *corev1.Pod
	vols map[string]Volume
	// adopted: known from a previous run, its spec not fetched yet.
	adopted bool
	// op serialises writes to the pod's volumes.
	op sync.Mutex
}

// New checks cfg and returns a Manager.
func New(cfg Config) (*Manager, error) {
	if cfg.Dir == "" {
		return nil, errors.New("volumes: directory is required")
	}
	if cfg.Resync == 0 {
		cfg.Resync = DefaultResync
	}
	if cfg.Clock == nil {
		cfg.Clock = clock.RealClock{}
	}
	return &Manager{
		cfg: cfg, kick: make(chan struct{}, 1),
		pods: map[types.UID]*podVolumes{}, tokens: map[tokenKey]token{}, dirty: map[types.UID]bool{},
		watched: map[objectKey]cache.SharedIndexInformer{},
	}, nil
}

// Dir is where the volumes of the pod with uid are.
func (m *Manager) Dir(uid types.UID) string {
	return filepath.Join(m.cfg.Dir, string(uid), "volumes")
}

// SetUp makes every volume of pod that is not made yet, writes the content
// of its API-backed volumes, and returns them by name. It is idempotent; a
// newer pod (labels, annotations) updates downwardAPI files.
func (m *Manager) SetUp(ctx context.Context, pod *corev1.Pod) (map[string]Volume, error) {
	m.mu.Lock()
	pv := m.pods[pod.UID]
	if pv == nil {
		pv = &podVolumes{vols: map[string]Volume{}}
		m.pods[pod.UID] = pv
	}
	pv.pod = pod
	m.mu.Unlock()
	m.signal()

	pv.op.Lock()
	defer pv.op.Unlock()
	for i := range pod.Spec.Volumes {
		v := &pod.Spec.Volumes[i]
		vol, err := m.setUp(ctx, pod, v, pv.vols[v.Name])
		if err != nil {
			return nil, &MountError{Volume: v.Name, Err: err}
		}
		pv.vols[v.Name] = vol
	}
	return maps.Clone(pv.vols), nil
}

// setUp makes one volume, or refreshes the content of one that was made.
func (m *Manager) setUp(ctx context.Context, pod *corev1.Pod, v *corev1.Volume, made Volume) (Volume, error) {
	dir := filepath.Join(m.Dir(pod.UID), v.Name)
	switch {
	case v.EmptyDir != nil:
		if made.Path != "" {
			return made, nil
		}
		return Volume{Path: dir}, makeEmptyDir(dir, v.EmptyDir, fsGroup(pod), podMemoryLimit(pod))
	case v.HostPath != nil:
		return Volume{Path: v.HostPath.Path}, checkHostPath(v.HostPath)
	case v.PersistentVolumeClaim != nil:
		if made.Path != "" {
			return made, nil
		}
		return m.claim(ctx, pod.Namespace, v.PersistentVolumeClaim)
	case v.ConfigMap != nil, v.Secret != nil, v.DownwardAPI != nil, v.Projected != nil:
		files, err := m.files(ctx, pod, v)
		if err != nil {
			return Volume{}, err
		}
		if _, err := writeAtomic(dir, files, fsGroup(pod)); err != nil {
			return Volume{}, fmt.Errorf("write files: %w", err)
		}
		return Volume{Path: dir, ReadOnly: true}, nil
	}
	return Volume{}, errors.New("unsupported volume type")
}

// files is the content of an API-backed volume.
func (m *Manager) files(ctx context.Context, pod *corev1.Pod, v *corev1.Volume) (map[string]File, error) {
	if m.cfg.Client == nil && v.DownwardAPI == nil {
		return nil, errors.New("no API client to read the volume's source")
	}
	out := map[string]File{}
	switch {
	case v.ConfigMap != nil:
		s := v.ConfigMap
		return out, m.configMapFiles(ctx, pod.Namespace, s.LocalObjectReference, s.Items, s.Optional, modeOr(s.DefaultMode, defaultMode), out)
	case v.Secret != nil:
		s := v.Secret
		return out, m.secretFiles(ctx, pod.Namespace, s.SecretName, s.Items, s.Optional, modeOr(s.DefaultMode, defaultMode), out)
	case v.DownwardAPI != nil:
		return out, m.downwardFiles(ctx, pod, v.DownwardAPI.Items, modeOr(v.DownwardAPI.DefaultMode, defaultMode), out)
	}
	mode := modeOr(v.Projected.DefaultMode, defaultMode)
	for _, src := range v.Projected.Sources {
		var err error
		switch {
		case src.ConfigMap != nil:
			s := src.ConfigMap
			err = m.configMapFiles(ctx, pod.Namespace, s.LocalObjectReference, s.Items, s.Optional, mode, out)
		case src.Secret != nil:
			s := src.Secret
			err = m.secretFiles(ctx, pod.Namespace, s.Name, s.Items, s.Optional, mode, out)
		case src.DownwardAPI != nil:
			err = m.downwardFiles(ctx, pod, src.DownwardAPI.Items, mode, out)
		case src.ServiceAccountToken != nil:
			var tok string
			tok, err = m.serviceAccountToken(ctx, pod, src.ServiceAccountToken)
			out[src.ServiceAccountToken.Path] = File{Data: []byte(tok), Mode: fileMode(mode)}
		default:
			err = errors.New("unsupported projected volume source")
		}
		if err != nil {
			return nil, err
		}
	}
	return out, nil
}

// claim is the host path of the volume a claim is bound to.
func (m *Manager) claim(ctx context.Context, ns string, src *corev1.PersistentVolumeClaimVolumeSource) (Volume, error) {
	if m.cfg.Client == nil {
		return Volume{}, errors.New("no API client to read the claim")
	}
	pvc, err := m.cfg.Client.CoreV1().PersistentVolumeClaims(ns).Get(ctx, src.ClaimName, metav1.GetOptions{})
	if err != nil {
		return Volume{}, fmt.Errorf("claim %q: %w", src.ClaimName, err)
	}
	if pvc.Spec.VolumeName == "" || pvc.Status.Phase != corev1.ClaimBound {
		return Volume{}, fmt.Errorf("claim %q is not bound", src.ClaimName)
	}
	pv, err := m.cfg.Client.CoreV1().PersistentVolumes().Get(ctx, pvc.Spec.VolumeName, metav1.GetOptions{})
	if err != nil {
		return Volume{}, fmt.Errorf("volume %q of claim %q: %w", pvc.Spec.VolumeName, src.ClaimName, err)
	}
	ro := src.ReadOnly
	switch {
	case pv.Spec.HostPath != nil:
		return Volume{Path: pv.Spec.HostPath.Path, ReadOnly: ro}, checkHostPath(pv.Spec.HostPath)
	case pv.Spec.Local != nil:
		if _, err := os.Stat(pv.Spec.Local.Path); err != nil {
			return Volume{}, fmt.Errorf("local volume %q: %w", pv.Name, err)
		}
		return Volume{Path: pv.Spec.Local.Path, ReadOnly: ro}, nil
	}
	return Volume{}, fmt.Errorf("volume %q is neither hostPath nor local, which this node can mount", pv.Name)
}

// fsGroup is the group that owns the pod's volumes, or -1.
func fsGroup(pod *corev1.Pod) int64 {
	if sc := pod.Spec.SecurityContext; sc != nil && sc.FSGroup != nil {
		return *sc.FSGroup
	}
	return -1
}

// Adopt takes over the volumes of a pod that a previous run set up (the
// runtime found the pod after a restart): Run fetches the pod and keeps its
// API-backed volumes current from then on.
func (m *Manager) Adopt(namespace, name string, uid types.UID) {
	m.mu.Lock()
	if m.pods[uid] == nil {
		m.pods[uid] = &podVolumes{
			pod:  &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: namespace, Name: name, UID: uid}},
			vols: map[string]Volume{}, adopted: true,
		}
		m.dirty[uid] = true
	}
	m.mu.Unlock()
	m.signal()
}

// TearDown unmounts and removes the pod's volumes (never what hostPath
// and claims point at) and forgets the pod.
func (m *Manager) TearDown(ctx context.Context, uid types.UID) error {
	m.mu.Lock()
	pv := m.pods[uid]
	delete(m.pods, uid)
	delete(m.dirty, uid)
	for k := range m.tokens {
		if k.uid == uid {
			delete(m.tokens, k)
		}
	}
	m.mu.Unlock()
	m.signal()
	if pv != nil {
		pv.op.Lock()
		defer pv.op.Unlock()
	}
	dir := m.Dir(uid)
	entries, err := os.ReadDir(dir)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	var errs []error
	for _, e := range entries {
		p := filepath.Join(dir, e.Name())
		if err := unmountAll(p); err != nil {
			errs = append(errs, err)
			continue
		}
		errs = append(errs, os.RemoveAll(p))
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("tear down volumes of pod %s: %w", uid, err)
	}
	return os.Remove(dir)
}

// Run keeps the volumes current until ctx ends: it watches the configMaps
// and secrets that pods reference and rewrites the volumes of their pods
// when they change, and rewrites every pod's volumes each Resync (pods
// fetched again, for downwardAPI; tokens renewed when due).
func (m *Manager) Run(ctx context.Context) {
	logger := klog.LoggerWithName(klog.FromContext(ctx), "volumes")
	ctx = klog.NewContext(ctx, logger)
	ticker := time.NewTicker(m.cfg.Resync)
	defer ticker.Stop()
	watches := map[objectKey]context.CancelFunc{}
	defer func() {
		for _, cancel := range watches {
			cancel()
		}
	}()
	for {
		if m.cfg.Client != nil {
			m.syncWatches(ctx, watches)
		}
		var uids []types.UID
		fetch := false
		select {
		case <-ctx.Done():
			return
		case <-ticker.C:
			m.mu.Lock()
			uids = slices.Collect(maps.Keys(m.pods))
			clear(m.dirty)
			m.mu.Unlock()
			fetch = true
		case <-m.kick:
			m.mu.Lock()
			uids = slices.Collect(maps.Keys(m.dirty))
			clear(m.dirty)
			m.mu.Unlock()
		}
		for _, uid := range uids {
			if err := m.refresh(ctx, uid, fetch); err != nil {
				logger.V(2).Info("Refresh volumes failed", "podUID", uid, "err", err)
			}
		}
	}
}

// refresh rewrites the API-backed volumes of a pod that was set up.
func (m *Manager) refresh(ctx context.Context, uid types.UID, fetch bool) error {
	m.mu.Lock()
	pv := m.pods[uid]
	m.mu.Unlock()
	if pv == nil {
		return nil
	}
	m.mu.Lock()
	pod, adopted := pv.pod, pv.adopted
	m.mu.Unlock()
	if (fetch || adopted) && m.cfg.Client != nil {
		fresh, err := m.cfg.Client.CoreV1().Pods(pod.Namespace).Get(ctx, pod.Name, metav1.GetOptions{})
		switch {
		case apierrors.IsNotFound(err):
		case err != nil:
			return err
		case fresh.UID == uid:
			pod, adopted = fresh, false
		}
	}
	if adopted {
		return nil // the pod is gone: the runtime removes it
	}
	pv.op.Lock()
	defer pv.op.Unlock()
	m.mu.Lock()
	if m.pods[uid] != pv {
		m.mu.Unlock()
		return nil // torn down meanwhile
	}
	pv.pod, pv.adopted = pod, false
	m.mu.Unlock()
	var errs []error
	for i := range pod.Spec.Volumes {
		v := &pod.Spec.Volumes[i]
		if v.ConfigMap == nil && v.Secret == nil && v.DownwardAPI == nil && v.Projected == nil {
			continue
		}
		vol, err := m.setUp(ctx, pod, v, pv.vols[v.Name])
		if err != nil {
			errs = append(errs, &MountError{Volume: v.Name, Err: err})
			continue
		}
		pv.vols[v.Name] = vol
	}
	return errors.Join(errs...)
}

func (m *Manager) signal() {
	select {
	case m.kick <- struct{}{}:
	default:
	}
}

// objectKey names an object that volumes reference.
type objectKey struct {
	secret          bool
	namespace, name string
}

// references are the configMaps and secrets the pod's volumes read.
func references(pod *corev1.Pod) []objectKey {
	var out []objectKey
	add := func(secret bool, name string) {
		out = append(out, objectKey{secret: secret, namespace: pod.Namespace, name: name})
	}
	for _, v := range pod.Spec.Volumes {
		switch {
		case v.ConfigMap != nil:
			add(false, v.ConfigMap.Name)
		case v.Secret != nil:
			add(true, v.Secret.SecretName)
		case v.Projected != nil:
			for _, s := range v.Projected.Sources {
				if s.ConfigMap != nil {
					add(false, s.ConfigMap.Name)
				}
				if s.Secret != nil {
					add(true, s.Secret.Name)
				}
			}
		}
	}
	return out
}

// syncWatches starts a watch for each object the pods reference and stops
// those no pod references any more.
func (m *Manager) syncWatches(ctx context.Context, watches map[objectKey]context.CancelFunc) {
	m.mu.Lock()
	want := map[objectKey]bool{}
	for _, pv := range m.pods {
		for _, k := range references(pv.pod) {
			want[k] = true
		}
	}
	m.mu.Unlock()
	for k, cancel := range watches {
		if !want[k] {
			cancel()
			delete(watches, k)
		}
	}
	for k := range want {
		if watches[k] == nil {
			watches[k] = m.watch(ctx, k)
		}
	}
}

// watch follows one object by name and marks the pods that reference it
// dirty when it changes.
func (m *Manager) watch(ctx context.Context, k objectKey) context.CancelFunc {
	ctx, cancel := context.WithCancel(ctx)
	f := informers.NewSharedInformerFactoryWithOptions(m.cfg.Client, 0,
		informers.WithNamespace(k.namespace),
		informers.WithTweakListOptions(func(o *metav1.ListOptions) {
			o.FieldSelector = fields.OneTermEqualSelector("metadata.name", k.name).String()
		}))
	inf := f.Core().V1().ConfigMaps().Informer()
	if k.secret {
		inf = f.Core().V1().Secrets().Informer()
	}
	changed := func(any) { m.changed(k) }
	_, _ = inf.AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    changed,
		UpdateFunc: func(_, obj any) { changed(obj) },
		DeleteFunc: changed,
	})
	m.mu.Lock()
	m.watched[k] = inf
	m.mu.Unlock()
	f.Start(ctx.Done())
	return func() {
		m.mu.Lock()
		delete(m.watched, k)
		m.mu.Unlock()
		cancel()
	}
}

// cached is k's object as its watch last saw it, if the watch has listed
// it.
func (m *Manager) cached(k objectKey) (any, bool) {
	m.mu.Lock()
	inf := m.watched[k]
	m.mu.Unlock()
	if inf == nil || !inf.HasSynced() {
		return nil, false
	}
	obj, ok, err := inf.GetStore().GetByKey(k.namespace + "/" + k.name)
	if err != nil || !ok {
		return nil, false
	}
	return obj, true
}

// changed marks the pods that reference k dirty.
func (m *Manager) changed(k objectKey) {
	m.mu.Lock()
	for uid, pv := range m.pods {
		if slices.Contains(references(pv.pod), k) {
			m.dirty[uid] = true
		}
	}
	m.mu.Unlock()
	m.signal()
}
