// Package framework is the small vocabulary kubelite's scheduler and its
// plugins share: the Status a plugin returns, the per-cycle CycleState, the
// NodeInfo view of a node with the pods assigned to it, and the plugin
// interfaces the scheduler calls.
//
// A scheduling cycle places one pod. It runs, in order:
//   - PreFilter, once per pod: a plugin computes what its Filter needs and
//     writes it to the CycleState, or rejects the pod outright, or returns
//     Skip to say its Filter has nothing to check for this pod;
//   - Filter, once per node, possibly in parallel: Success keeps the node,
//     Unschedulable or UnschedulableAndUnresolvable drop it with reasons;
//   - PreScore and Score on the nodes that passed, each plugin's scores
//     optionally normalized to 0..MaxNodeScore, then weighted and summed;
//   - Reserve on the chosen node, whose plugins keep what they decided
//     for it (Unreserve undoes that if anything later fails);
//   - then, outside the cycle in the binding's goroutine, PreBind, which
//     may write to the API and wait, before the binding is posted.
//
// Plugins whose PreFilter state depends on the pods of other nodes
// (inter-pod affinity, topology spread) also implement PodChangeObserver so
// that preemption can ask "what if this pod were gone".
//
// A nil *Status means Success, as upstream's framework has it.
package framework
