#!/usr/bin/env bash
# End-to-end scenario of two nodes on real containers: two throw-away hosts (network
# namespaces on one link, a bridge in a third namespace as the switch), the built
# kubelite server with its local containerd node on the first, and `kubelite agent
# --server URL --token T` with a containerd of its own (socket, state and root under
# its data dir) on the second; both run the pod network, the service proxy and
# NetworkPolicy (--network-policy=nftables). Shows: pod to pod across nodes, pod to a
# ClusterIP Service backed on both nodes and to a NodePort on the other node, Service
# names resolving from a pod on the agent's node, a NetworkPolicy denying and then
# allowing traffic across nodes (enforced on each side: the agent's network workers
# read pods and policies as system:kube-proxy), the agent's proxy masquerading
# traffic from outside --cluster-cidr, and a backend whose readiness probe fails
# dropping out of its Service. The script makes and removes its namespaces and
# links itself, on failure too.
# Needs root, containerd and runc (`make containerd`), the CNI plugins (`make cni`),
# nft, ip, nsenter, and the busybox image of `make images`.
# Usage: nodes.sh path/to/kubelite [kubectl]
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
bin=$(realpath "$1"); shift
kubectl=$(command -v "${1:-kubectl}")
images=${KUBELITE_IMAGES:-$here/../../.cache/images}
cni=${KUBELITE_CNI_BIN:-$here/../../.cache/cni/bin}
for c in containerd runc nft ip nsenter; do
	if [ "$(id -u)" != 0 ] || ! command -v $c >/dev/null; then
		echo "nodes.sh needs root, containerd, runc, nft, ip and nsenter: skipped"; exit 0
	fi
done
[ -x "$cni/bridge" ] || { echo "no CNI plugins in $cni: run make cni"; exit 1; }
cni=$(realpath "$cni")
busybox=registry.k8s.io/e2e-test-images/busybox:1.37.0-2
[ -f "$images/busybox-1.37.0-2.tar" ] || { echo "no $images/busybox-1.37.0-2.tar: run make images"; exit 1; }

E2E_DIR=$(mktemp -d /tmp/kl-nodes.XXXXXX)
started=$SECONDS
# The hosts: <p>-h0 (server, 10.252.0.1) and <p>-h1 (agent, 10.252.0.2) on the
# switch <p>-sw.
p=kln$$
sw=$p-sw h0=$p-h0 h1=$p-h1
server_ip=10.252.0.1 agent_ip=10.252.0.2
agent_node=kl-agent
server_pid='' agent_pid=''

# on HOST CMD...: CMD in HOST's network namespace (only: the files are the machine's).
on() { local h=$1; shift; nsenter --net=/run/netns/"$h" -- "$@"; }
K() { on "$h0" "$kubectl" --kubeconfig "$E2E_DIR/server/kubeconfig" "$@"; }
ctr_() { ctr -a "$E2E_DIR/$1/containerd/containerd.sock" -n kubelite "${@:2}"; }
running_tasks() { ctr_ "$1" tasks ls 2>/dev/null | awk '$3 == "RUNNING" {print $1}'; }
stop_pid() { # stop_pid PID: SIGTERM, then SIGKILL after 20 s.
	[ -n "$1" ] || return 0
	kill -TERM "$1" 2>/dev/null || return 0
	for _ in $(seq 1 200); do kill -0 "$1" 2>/dev/null || break; sleep 0.1; done
	kill -KILL "$1" 2>/dev/null
	wait "$1" 2>/dev/null
}
cleanup() {
	local t d h pid
	trap - EXIT INT TERM
	if [ "${E2E_FAILED:-0}" != 0 ]; then
		for d in server agent; do
			[ -f "$E2E_DIR/$d.log" ] && { echo "--- last lines of the $d log"; tail -25 "$E2E_DIR/$d.log"; }
		done
	fi
	[ -f "$E2E_DIR/server/kubeconfig" ] && K delete pods --all -n "$ns" --grace-period=0 --force --wait=false >/dev/null 2>&1
	for d in server agent; do
		for _ in $(seq 1 50); do [ -z "$(running_tasks $d)" ] && break; sleep 0.1; done
		for t in $(running_tasks $d); do ctr_ $d tasks kill -s SIGKILL "$t" >/dev/null 2>&1; done
	done
	stop_pid "$agent_pid"
	stop_pid "$server_pid"
	# What still runs in the hosts' namespaces (containerd shims) is this
	# scenario's own: end it, so that the namespaces go with their names.
	for h in "$h0" "$h1"; do
		for pid in $(ip netns pids "$h" 2>/dev/null); do kill -KILL "$pid" 2>/dev/null; done
	done
	grep -o " $E2E_DIR/[^ ]*" /proc/self/mounts | sort -r | xargs -r umount -l
	for h in "$h0" "$h1" "$sw"; do ip netns del "$h" 2>/dev/null; done
	rm -rf "$E2E_DIR"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

# The hosts and their link: each host's eth0 plugs into the switch's bridge.
ns=nodes
setup_hosts() {
	ip netns add "$sw" && ip -n "$sw" link add br0 type bridge && ip -n "$sw" link set br0 up || return 1
	local i h addr
	for i in 0 1; do
		h=$p-h$i addr=10.252.0.$((i + 1))
		ip netns add "$h" &&
			ip -n "$sw" link add "v$i" type veth peer name eth0 netns "$h" &&
			ip -n "$sw" link set "v$i" master br0 up &&
			ip -n "$h" addr add "$addr/24" dev eth0 &&
			ip -n "$h" link set eth0 up &&
			ip -n "$h" link set lo up &&
			# Host processes reach cluster IPs through the proxy's rules.
			ip -n "$h" route add 10.96.0.0/12 dev eth0 || return 1
	done
}
check "two hosts on one link (network namespaces, veth, a bridge)" setup_hosts
[ "$E2E_FAILED" = 0 ] || exit 1
for d in server agent; do
	mkdir -p "$E2E_DIR/$d/images"
	ln -s "$(realpath "$images/busybox-1.37.0-2.tar")" "$E2E_DIR/$d/images/"
done

# wait_log FILE PID PATTERN SECS: FILE matches PATTERN before PID exits, within SECS.
wait_log() {
	local end=$((SECONDS + $4))
	while [ $SECONDS -lt $end ]; do
		grep -q "$3" "$1" && return 0
		kill -0 "$2" 2>/dev/null || { echo "exited:"; tail -30 "$1"; return 1; }
		sleep 0.2
	done
	echo "no /$3/ within $4 s:"; tail -30 "$1"; return 1
}
on "$h0" "$bin" server --data-dir "$E2E_DIR/server" --advertise-address $server_ip \
	--local-node=containerd --cni-bin-dir "$cni" --proxy=nftables --network-policy=nftables \
	>"$E2E_DIR/server.log" 2>&1 &
server_pid=$!
check "server ready on the first host" wait_log "$E2E_DIR/server.log" $server_pid "kubelite is ready" 60
[ "$E2E_FAILED" = 0 ] || exit 1
token=$(on "$h0" "$bin" token create --kubeconfig "$E2E_DIR/server/kubeconfig")
on "$h1" "$bin" agent --server "https://$server_ip:6443" --token "$token" --node-name $agent_node \
	--data-dir "$E2E_DIR/agent" --cni-bin-dir "$cni" --proxy=nftables --network-policy=nftables \
	--cluster-cidr 10.42.0.0/16 >"$E2E_DIR/agent.log" 2>&1 &
agent_pid=$!
server_node=$(hostname | tr '[:upper:]' '[:lower:]')
ready_nodes() {
	K get node "$server_node" $agent_node -o jsonpath='{range .items[*]}{.status.conditions[?(@.type=="Ready")].status}{" "}{end}'
}
eventually "both nodes Ready (the agent joined with its token)" '^True True $' 60 ready_nodes
[ "$E2E_FAILED" = 0 ] || exit 1
check "create namespace" K create namespace $ns
check "default service account appears" wait_default_sa $ns K

# backend NAME NODE: an HTTP server answering its name, Ready while /tmp/ready exists.
backend() {
	cat <<YAML
---
apiVersion: v1
kind: Pod
metadata: {name: $1, namespace: $ns, labels: {app: web}}
spec:
  nodeName: $2
  terminationGracePeriodSeconds: 1
  containers:
  - name: httpd
    image: $busybox
    command: [sh, -c, 'mkdir -p /www && echo $1 > /www/index.html && touch /tmp/ready && exec httpd -f -p 8080 -h /www']
    ports: [{name: http, containerPort: 8080}]
    readinessProbe: {exec: {command: [test, -f, /tmp/ready]}, periodSeconds: 1, failureThreshold: 1}
YAML
}
client() {
	cat <<YAML
---
apiVersion: v1
kind: Pod
metadata: {name: $1, namespace: $ns, labels: {role: client}}
spec:
  nodeName: $2
  terminationGracePeriodSeconds: 1
  containers:
  - {name: main, image: $busybox, command: [sleep, "3600"]}
YAML
}
{
	backend web-s "$server_node"
	backend web-a $agent_node
	client client-s "$server_node"
	client client-a $agent_node
	cat <<YAML
---
apiVersion: v1
kind: Service
metadata: {name: web, namespace: $ns}
spec:
  selector: {app: web}
  ports: [{name: http, port: 80, targetPort: http}]
---
apiVersion: v1
kind: Service
metadata: {name: web-np, namespace: $ns}
spec:
  type: NodePort
  selector: {app: web}
  ports: [{port: 80, targetPort: 8080, nodePort: 30481}]
YAML
} >"$E2E_DIR/objects.yaml"
check "create pods on both nodes and services" K apply -f "$E2E_DIR/objects.yaml"
check "pods Ready" K wait --for=condition=Ready pod/web-s pod/web-a pod/client-s pod/client-a -n $ns --timeout=60s

pod_ip() { K get pod "$1" -n $ns -o jsonpath='{.status.podIP}'; }
svc_ip() { K get service "$1" -n $ns -o jsonpath='{.spec.clusterIP}'; }
# fetch POD N ADDR PORT: N requests from POD, one answer (a backend's name) a line.
fetch() {
	K exec "$1" -n $ns -- sh -c "for i in \$(seq $2); do printf 'GET / HTTP/1.0\r\n\r\n' | nc -w 2 $3 $4 | tail -1; done"
}
# both POD ADDR PORT: 20 requests from POD reach both backends.
both() { local out; out=$(fetch "$1" 20 "$2" "$3") || return 1; grep -q web-s <<<"$out" && grep -q web-a <<<"$out" && echo both; }

web_s=$(pod_ip web-s) web_a=$(pod_ip web-a)
expect_out "pod CIDRs differ by node" '^ok$' sh -c "[ \"\${1%.*}\" != \"\${2%.*}\" ] && echo ok" - "$web_s" "$web_a"
eventually "pod to pod across nodes: agent's node to server's" '^web-s$' 30 fetch client-a 1 "$web_s" 8080
eventually "pod to pod across nodes: server's node to agent's" '^web-a$' 20 fetch client-s 1 "$web_a" 8080
eventually "ping across nodes" ' 0% packet loss' 10 K exec client-a -n $ns -- ping -c 2 -W 2 "$web_s"
eventually "ClusterIP from the agent's node reaches backends on both nodes" '^both$' 30 both client-a "$(svc_ip web)" 80
eventually "ClusterIP from the server's node reaches backends on both nodes" '^both$' 20 both client-s "$(svc_ip web)" 80
eventually "NodePort on the server's node from a pod on the agent's" '^both$' 20 both client-a $server_ip 30481
eventually "NodePort on the agent's node from a pod on the server's" '^both$' 20 both client-s $agent_ip 30481

expect_out "resolv.conf on the agent's node names kube-dns" '^nameserver 10\.96\.0\.10$' K exec client-a -n $ns -- cat /etc/resolv.conf
eventually "DNS: <svc>.<ns>.svc.cluster.local from a pod on the agent's node" "Address: $(svc_ip web)" 30 \
	K exec client-a -n $ns -- nslookup web.$ns.svc.cluster.local
eventually "DNS: kubernetes.default.svc.cluster.local from the agent's node" 'Address: 10\.96\.0\.1$' 10 \
	K exec client-a -n $ns -- nslookup kubernetes.default.svc.cluster.local
eventually "pod on the agent's node to a Service by its short name" '^both$' 20 both client-a web 80

# The agent's proxy knows the cluster's pod range (--cluster-cidr): traffic to a
# cluster IP from outside it is masqueraded, as on the server's node.
eventually "the agent's proxy masquerades traffic from outside --cluster-cidr" 'saddr != (\{ )?10\.42\.0\.0/16' 10 \
	on "$h1" nft list table ip kubelite-proxy

# NetworkPolicy across nodes: only pods labelled access=true reach the web pods.
# client-a -> web-s is judged on the server's node, client-s -> web-a on the agent's.
cat >"$E2E_DIR/policy.yaml" <<YAML
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: web-allow-access, namespace: $ns}
spec:
  podSelector: {matchLabels: {app: web}}
  policyTypes: [Ingress]
  ingress:
  - from: [{podSelector: {matchLabels: {access: "true"}}}]
    ports: [{port: 8080}]
YAML
# denied POD ADDR: a connection from POD to ADDR:8080 fails.
denied() { if fetch "$1" 1 "$2" 8080 | grep -q web-; then echo reached; else echo denied; fi; }
check "create a NetworkPolicy that lets only access=true pods in" K apply -f "$E2E_DIR/policy.yaml"
eventually "policy denies the agent's node's pod to the server's node's pod" '^denied$' 20 denied client-a "$web_s"
eventually "policy denies the server's node's pod to the agent's node's pod" '^denied$' 20 denied client-s "$web_a"
eventually "policy denies through the Service too" '^denied$' 20 denied client-a "$(svc_ip web)"
check "label both clients access=true" K label pod client-a client-s -n $ns access=true
eventually "policy allows the labelled pod on the agent's node to the server's" '^web-s$' 20 fetch client-a 1 "$web_s" 8080
eventually "policy allows the labelled pod on the server's node to the agent's" '^web-a$' 20 fetch client-s 1 "$web_a" 8080
check "delete the NetworkPolicy" K delete networkpolicy web-allow-access -n $ns

# A backend whose readiness probe fails leaves its Service, on both nodes' proxies.
check "web-a (agent's node) turns unready" K exec web-a -n $ns -- rm /tmp/ready
eventually "web-a is not Ready" '^False$' 20 K get pod web-a -n $ns -o jsonpath='{.status.conditions[?(@.type=="Ready")].status}'
only_s() { local out; out=$(fetch "$1" 20 "$2" "$3") || return 1; sort -u <<<"$out" | tr '\n' ' '; }
eventually "ClusterIP from the agent's node: only web-s left" '^web-s $' 20 only_s client-a "$(svc_ip web)" 80
eventually "NodePort on the agent's node: only web-s left" '^web-s $' 20 only_s client-s $agent_ip 30481
echo "took $((SECONDS - started)) s"
summary
