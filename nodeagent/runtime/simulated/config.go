package simulated

import (
	"errors"
	"fmt"
	"net/netip"
	"strings"

	"github.com/distribution/reference"
	"k8s.io/utils/clock"

	"github.com/kubelite/kubelite/nodeagent/runtime/ipam"
)

// Defaults for Config's zero values.
const (
	// DefaultPodCIDR is the pod CIDR when Config.PodCIDRs is empty.
	DefaultPodCIDR = "10.244.0.0/24"
	// DefaultVersion is the version when Config.Version is empty.
	DefaultVersion = "0.1.0"
	// Type is the runtime's type: the scheme of its container IDs.
	Type = "simulated"
)

// Config configures a Runtime. Its zero value is valid: the default stages,
// the real clock, pod addresses from DefaultPodCIDR.
type Config struct {
	// Clock drives every delayed transition. Nil: the real clock.
	Clock clock.WithDelayedExecution
	// Stages decide how containers live (ParseStages, LoadStages). Nil: the
	// embedded defaults (DefaultStageFile). Stages given replace the
	// defaults entirely: start from DefaultStageFile to keep them. One
	// *Stages may serve many runtimes.
	Stages *Stages
	// PodCIDRs are the node's pod CIDRs (Node.spec.podCIDRs), at most one per
	// IP family, the primary first; each sandbox gets one address from each.
	// In a process hosting many nodes each needs its own. Empty:
	// DefaultPodCIDR.
	PodCIDRs []string
	// Version is the runtime's version, reported as "simulated://<Version>".
	// Empty: DefaultVersion.
	Version string
	// MissingImages are images no registry has ("webserver:404"): pulling
	// one fails as a real node's pull of a nonexistent image does, so the
	// pod waits in ErrImagePull / ImagePullBackOff. Names are compared in
	// full ("nginx" is "docker.io/library/nginx:latest").
	MissingImages []string
}

// Validate checks c without changing it.
func (c *Config) Validate() error {
	var errs []error
	families := map[bool]bool{}
	for _, cidr := range c.PodCIDRs {
		p, err := netip.ParsePrefix(cidr)
		if err != nil {
			errs = append(errs, fmt.Errorf("podCIDRs: %w", err))
			continue
		}
		if families[p.Addr().Is4()] {
			errs = append(errs, fmt.Errorf("podCIDRs: %s: more than one CIDR of its IP family", cidr))
		}
		families[p.Addr().Is4()] = true
		if _, err := ipam.NewPool(cidr); err != nil {
			errs = append(errs, fmt.Errorf("podCIDRs: %w", err))
		}
	}
	for _, image := range c.MissingImages {
		if _, err := reference.ParseDockerRef(image); err != nil {
			errs = append(errs, fmt.Errorf("missingImages: %q: %w", image, err))
		}
	}
	if strings.ContainsAny(c.Version, " /") {
		errs = append(errs, fmt.Errorf("version %q: must not hold spaces or slashes", c.Version))
	}
	return errors.Join(errs...)
}
