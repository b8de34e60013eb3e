package volumes

import (
	"fmt"
	"io/fs"
	"path/filepath"
	"syscall"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
)

// emptyDirMessage is upstream's eviction message for an emptyDir over its
// sizeLimit (volume name, limit), trailing space included.
const emptyDirMessage = "Usage of EmptyDir volume %q exceeds the limit %q. "

// EmptyDirOverLimit returns the eviction message of pod's first disk
// emptyDir volume that uses more than its sizeLimit, or "" when none does.
// A Memory emptyDir is a tmpfs of that size: the kernel keeps it in bounds.
func (m *Manager) EmptyDirOverLimit(pod *corev1.Pod) string {
	for _, v := range pod.Spec.Volumes {
		src := v.EmptyDir
		if src == nil || src.Medium == corev1.StorageMediumMemory || src.SizeLimit == nil || src.SizeLimit.Sign() != 1 {
			continue
		}
		used := resource.NewQuantity(diskUsage(filepath.Join(m.Dir(pod.UID), v.Name)), resource.BinarySI)
		if used.Cmp(*src.SizeLimit) > 0 {
			return fmt.Sprintf(emptyDirMessage, v.Name, src.SizeLimit.String())
		}
	}
	return ""
}

// diskUsage is the space the files under dir take on disk, as du counts it
// (allocated blocks), without following symbolic links; 0 for a missing dir.
func diskUsage(dir string) int64 {
	var total int64
	_ = filepath.WalkDir(dir, func(_ string, d fs.DirEntry, err error) error {
		if err != nil {
			return nil // gone meanwhile, or unreadable: not counted
		}
		if info, err := d.Info(); err == nil {
			if st, ok := info.Sys().(*syscall.Stat_t); ok {
				total += st.Blocks * 512
			}
		}
		return nil
	})
	return total
}
