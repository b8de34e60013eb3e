// Package containerd is the node agent's runtime.Runtime on containerd and
// runc, through containerd's Go client.
//
// Layout. Everything kubelite runs lives in one containerd namespace
// (Namespace, "kubelite"). A pod's sandbox is a containerd container record
// without a task: its labels hold the pod's identity, addresses and state,
// and the namespaces it stands for (network, IPC, UTS) are bind-mounted
// files under Config.Dir, held open without any process. Each container
// attempt is a containerd container with a task; it joins the sandbox's
// namespaces, and its labels hold what PodStatus reports (name, attempt,
// image, times, and the exit once it ended). So a restarted agent finds all
// it needs in containerd and adopts running containers.
//
// Files under Config.Dir, per pod <dir>/<uid>/: ns/{net,ipc,uts}, hosts,
// resolv.conf and hostname; and logs/<container>/<attempt>.log in the CRI
// log format ("<RFC 3339 time> stdout F <line>").
//
// Daemon starts a containerd of kubelite's own (its own socket, root and
// state under the data dir) when none answers there.
package containerd
