package defaults

import (
	flowcontrolv1 "k8s.io/api/flowcontrol/v1"
)

// Defaults of flowcontrol.apiserver.k8s.io/v1, as upstream's.
const (
	flowSchemaMatchingPrecedence int32 = 1000
	priorityLevelHandSize        int32 = 8
	priorityLevelQueues          int32 = 64
	priorityLevelQueueLength     int32 = 50
	priorityLevelSharesLimited   int32 = 30
)

// FlowSchema defaults a flowcontrol.apiserver.k8s.io/v1 flow schema:
// matchingPrecedence 1000 when zero.
func FlowSchema(fs *flowcontrolv1.FlowSchema) {
	if fs.Spec.MatchingPrecedence == 0 {
		fs.Spec.MatchingPrecedence = flowSchemaMatchingPrecedence
	}
}

// PriorityLevelConfiguration defaults a flowcontrol.apiserver.k8s.io/v1
// priority level. An exempt level gets nominalConcurrencyShares and
// lendablePercent 0; a limited one nominalConcurrencyShares 30 and
// lendablePercent 0 (an explicit 0 shares stays 0 in v1), and its queuing,
// when set, handSize 8, queues 64 and queueLengthLimit 50 where zero.
func PriorityLevelConfiguration(pl *flowcontrolv1.PriorityLevelConfiguration) {
	if e := pl.Spec.Exempt; e != nil {
		setIfNil(&e.NominalConcurrencyShares, int32(0))
		setIfNil(&e.LendablePercent, int32(0))
	}
	if l := pl.Spec.Limited; l != nil {
		setIfNil(&l.NominalConcurrencyShares, priorityLevelSharesLimited)
		setIfNil(&l.LendablePercent, int32(0))
		if q := l.LimitResponse.Queuing; q != nil {
			if q.HandSize == 0 {
				q.HandSize = priorityLevelHandSize
			}
			if q.Queues == 0 {
				q.Queues = priorityLevelQueues
			}
			if q.QueueLengthLimit == 0 {
				q.QueueLengthLimit = priorityLevelQueueLength
			}
		}
	}
}
