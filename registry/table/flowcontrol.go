package table

import (
	"time"

	flowcontrolv1 "k8s.io/api/flowcontrol/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apiserver/pkg/registry/rest"
)

// FlowSchemas returns the table convertor for flow schemas: Name,
// PriorityLevel, MatchingPrecedence, DistinguisherMethod ("<none>" when
// unset), Age, MissingPL (the status of the Dangling condition, "?" without
// one).
func FlowSchemas() rest.TableConvertor {
	spec := flowcontrolv1.FlowSchemaSpec{}.SwaggerDoc()
	columns := []metav1.TableColumnDefinition{
		nameColumn(),
		column("PriorityLevel", flowcontrolv1.PriorityLevelConfigurationReference{}.SwaggerDoc()["name"]),
		column("MatchingPrecedence", spec["matchingPrecedence"]),
		column("DistinguisherMethod", spec["distinguisherMethod"]),
		ageColumn(),
		column("MissingPL", "references a broken or non-existent PriorityLevelConfiguration"),
	}
	return newConvertor(columns, cells(func(fs *flowcontrolv1.FlowSchema, now time.Time) []interface{} {
		method := "<none>"
		if dm := fs.Spec.DistinguisherMethod; dm != nil {
			method = string(dm.Type)
		}
		missing := "?"
		for _, c := range fs.Status.Conditions {
			if c.Type == flowcontrolv1.FlowSchemaConditionDangling {
				missing = string(c.Status)
				break
			}
		}
		return []interface{}{fs.Name, fs.Spec.PriorityLevelConfiguration.Name, int64(fs.Spec.MatchingPrecedence), method, age(fs.CreationTimestamp, now), missing}
	}))
}

// PriorityLevelConfigurations returns the table convertor for priority
// levels: Name, Type, NominalConcurrencyShares, Queues, HandSize,
// QueueLengthLimit, Age. The numbers are those of a limited level ("<none>"
// for an exempt one), the queuing ones "<none>" when it rejects.
func PriorityLevelConfigurations() rest.TableConvertor {
	queuing := flowcontrolv1.QueuingConfiguration{}.SwaggerDoc()
	columns := []metav1.TableColumnDefinition{
		nameColumn(),
		column("Type", flowcontrolv1.PriorityLevelConfigurationSpec{}.SwaggerDoc()["type"]),
		column("NominalConcurrencyShares", flowcontrolv1.LimitedPriorityLevelConfiguration{}.SwaggerDoc()["nominalConcurrencyShares"]),
		column("Queues", queuing["queues"]),
		column("HandSize", queuing["handSize"]),
		column("QueueLengthLimit", queuing["queueLengthLimit"]),
		ageColumn(),
	}
	return newConvertor(columns, cells(func(pl *flowcontrolv1.PriorityLevelConfiguration, now time.Time) []interface{} {
		var shares, queues, hand, length interface{} = "<none>", "<none>", "<none>", "<none>"
		if l := pl.Spec.Limited; l != nil {
			if l.NominalConcurrencyShares != nil {
				shares = *l.NominalConcurrencyShares
			}
			if q := l.LimitResponse.Queuing; q != nil {
				queues, hand, length = q.Queues, q.HandSize, q.QueueLengthLimit
			}
		}
		return []interface{}{pl.Name, string(pl.Spec.Type), shares, queues, hand, length, age(pl.CreationTimestamp, now)}
	}))
}
