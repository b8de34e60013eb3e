package clusterroleaggregation

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/kubelite/kubelite/controllers/internal/loop"
	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/klog/v2"
)

// sync recomputes the rules of one aggregated cluster role and writes them
// if they changed. It is idempotent: the rules are derived from the cache
// alone, and a role that is gone or not aggregated needs nothing.
func (c *Controller) sync(ctx context.Context, name string) error {
	role, err := c.lister.Get(name)
	if apierrors.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("get cluster role %s from cache: %w", name, err)
	}
	if role.AggregationRule == nil {
		return nil
	}

	rules, err := aggregate(role, c.lister.List)
	if err != nil {
		return err
	}
	// Semantic equality treats nil and empty as the same, so a role that
	// selects nothing is not rewritten over and over.
	if equality.Semantic.DeepEqual(rules, role.Rules) {
		return nil
	}

	updated := role.DeepCopy()
	updated.Rules = rules
	// The lister's resource version guards the write: if the role changed
	// meanwhile, the update conflicts and the role is synced again.
	if _, err := c.client.RbacV1().ClusterRoles().Update(ctx, updated, metav1.UpdateOptions{}); err != nil {
		if apierrors.IsNotFound(err) {
			return nil
		}
		return fmt.Errorf("update rules of cluster role %s: %w", name, err)
	}
	klog.FromContext(ctx).V(2).Info("Updated aggregated cluster role", "clusterRole", klog.KObj(role), "rules", len(rules))
	return nil
}

// listFunc lists cluster roles matching a selector, like the lister's List.
type listFunc func(labels.Selector) ([]*rbacv1.ClusterRole, error)

// aggregate returns the union of the rules of the roles that role's
// selectors match, other than role itself. Selectors are taken in order,
// the roles each one matches in name order, and a rule already in the union
// is not added again. The result is nil if nothing matches.
func aggregate(role *rbacv1.ClusterRole, list listFunc) ([]rbacv1.PolicyRule, error) {
	var rules []rbacv1.PolicyRule
	for i := range role.AggregationRule.ClusterRoleSelectors {
		sel, err := metav1.LabelSelectorAsSelector(&role.AggregationRule.ClusterRoleSelectors[i])
		if err != nil {
			return nil, loop.Terminal(fmt.Errorf("parse selector %d of cluster role %s: %w", i, role.Name, err))
		}
		matched, err := list(sel)
		if err != nil {
			return nil, fmt.Errorf("list cluster roles for selector %d of cluster role %s: %w", i, role.Name, err)
		}
		slices.SortFunc(matched, func(a, b *rbacv1.ClusterRole) int { return strings.Compare(a.Name, b.Name) })
		for _, m := range matched {
			if m.Name == role.Name {
				continue
			}
			for _, r := range m.Rules {
				if !slices.ContainsFunc(rules, func(have rbacv1.PolicyRule) bool { return equality.Semantic.DeepEqual(have, r) }) {
					rules = append(rules, *r.DeepCopy())
				}
			}
		}
	}
	return rules, nil
}
