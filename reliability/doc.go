// Package reliability is kubelite's reliability suite: tests that drive the
// whole server (the built binary, or an in-process one) through crashes,
// restarts, bad input and overload, and check that nothing acknowledged is
// lost and that the server keeps answering.
//
//   - TestKillAndRestart: writers and an informer while `kubelite server` is
//     killed with SIGKILL at random moments (durability, watch continuity).
//   - FuzzDecode, FuzzUpdate: decoding, defaulting and validation of every
//     served kind, driven by the registry's resource table.
//   - TestBadBodies: malformed, oversized and deeply nested bodies against a
//     live server.
//   - TestOverload: a flood of clients while priority and fairness keeps node
//     heartbeats and the admin answered.
//   - TestMemberLoss: three servers on an embedded etcd cluster, each on a
//     host of its own (network namespaces), under writers and an informer
//     that fail over between them; the etcd leader's server is killed
//     (durability, watch continuity, the longest write outage). Root only,
//     and in `make reliability` only: it starts three servers.
//
// `make reliability` runs the whole suite (KUBELITE_TRIALS kills, the fuzz
// targets for a bounded time each); plain `go test` (in `make test`) runs its
// fast part. The tests print the suite's figures as lines starting with
// "FIGURE", which the README's Reliability section quotes.
package reliability
