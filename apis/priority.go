package apis

import (
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// Priority orders a group version in discovery: groups by Group, highest
// first, and the versions of a group by Version, highest first. They are the
// groupPriorityMinimum and versionPriority of the group version's APIService.
type Priority struct {
	Group, Version int32
}

// APIRegistrationGroupPriority puts apiregistration.k8s.io first in discovery,
// as upstream's aggregator does; like upstream, its own group gets no
// APIService.
const APIRegistrationGroupPriority = 20001

// Priorities returns the priority of every group version kubelite serves
// locally, apiextensions.k8s.io/v1 included, with upstream kube-apiserver's
// values; a local APIService is registered for each.
func Priorities() map[schema.GroupVersion]Priority {
	gv := func(group, version string) schema.GroupVersion {
		return schema.GroupVersion{Group: group, Version: version}
	}
	return map[schema.GroupVersion]Priority{
		gv("", "v1"):                             {18000, 1},
		gv("apps", "v1"):                         {17800, 15},
		gv("events.k8s.io", "v1"):                {17750, 15},
		gv("authentication.k8s.io", "v1"):        {17700, 15},
		gv("authorization.k8s.io", "v1"):         {17600, 15},
		gv("autoscaling", "v2"):                  {17500, 30},
		gv("autoscaling", "v1"):                  {17500, 15},
		gv("batch", "v1"):                        {17400, 15},
		gv("certificates.k8s.io", "v1"):          {17300, 15},
		gv("networking.k8s.io", "v1"):            {17200, 15},
		gv("policy", "v1"):                       {17100, 15},
		gv("rbac.authorization.k8s.io", "v1"):    {17000, 15},
		gv("storage.k8s.io", "v1"):               {16800, 15},
		gv("apiextensions.k8s.io", "v1"):         {16700, 15},
		gv("admissionregistration.k8s.io", "v1"): {16700, 15},
		gv("scheduling.k8s.io", "v1"):            {16600, 15},
		gv("coordination.k8s.io", "v1"):          {16500, 15},
		gv("node.k8s.io", "v1"):                  {16300, 15},
		gv("discovery.k8s.io", "v1"):             {16200, 15},
		gv("flowcontrol.apiserver.k8s.io", "v1"): {16100, 21},
		gv("resource.k8s.io", "v1"):              {15900, 15},
		gv("storagemigration.k8s.io", "v1"):      {15800, 15},
	}
}
