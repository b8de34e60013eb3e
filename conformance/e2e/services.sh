#!/usr/bin/env bash
# End-to-end scenario of Services on real containers: the built kubelite binary with
# its local node on containerd, the pod network (CNI plugins of `make cni`) and the
# service proxy (--proxy=nftables) with cluster DNS: a pod reaches a ClusterIP
# Service through a named target port, a NodePort and a LoadBalancer (answered with
# the node's address), resolves Service names through kube-dns at 10.96.0.10 with
# upstream's search path, keeps to one backend under sessionAffinity ClientIP, and a
# backend that turns unready stops getting connections.
# Needs root, containerd and runc (`make containerd`), the CNI plugins (`make cni`),
# nft, and the images of `make images`.
# Usage: services.sh path/to/kubelite [kubectl]
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
bin=$(realpath "$1"); shift
kubectl=${1:-kubectl}
images=${KUBELITE_IMAGES:-$here/../../.cache/images}
cni=${KUBELITE_CNI_BIN:-$here/../../.cache/cni/bin}
if [ "$(id -u)" != 0 ] || ! command -v containerd >/dev/null || ! command -v runc >/dev/null || ! command -v nft >/dev/null; then
	echo "services.sh needs root, containerd, runc and nft: skipped"; exit 0
fi
[ -x "$cni/bridge" ] || { echo "no CNI plugins in $cni: run make cni"; exit 1; }
busybox=registry.k8s.io/e2e-test-images/busybox:1.37.0-2
[ -f "$images/busybox-1.37.0-2.tar" ] || { echo "no $images/busybox-1.37.0-2.tar: run make images"; exit 1; }

E2E_DIR=$(mktemp -d /tmp/kl-svc.XXXXXX)
mkdir -p "$E2E_DIR/data/images"
ln -s "$(realpath "$images/busybox-1.37.0-2.tar")" "$E2E_DIR/data/images/"
start_kubelite "$bin" --local-node=containerd --kubelet-port "$(free_port)" --cni-bin-dir "$(realpath "$cni")" --proxy=nftables
ns=svc
ctr_() { ctr -a "$E2E_DIR/data/containerd/containerd.sock" -n kubelite "$@"; }
running_tasks() { ctr_ tasks ls 2>/dev/null | awk '$3 == "RUNNING" {print $1}'; }
cleanup() {
	local t
	K delete pods --all -n "$ns" --grace-period=0 --force --wait=false >/dev/null 2>&1
	for _ in $(seq 1 100); do [ -z "$(running_tasks)" ] && break; sleep 0.1; done
	for t in $(running_tasks); do ctr_ tasks kill -s SIGKILL "$t" >/dev/null 2>&1; done
	[ -n "${E2E_PID:-}" ] && kill -TERM "$E2E_PID" 2>/dev/null && wait "$E2E_PID" 2>/dev/null
	grep -o " $E2E_DIR/[^ ]*" /proc/self/mounts | sort -r | xargs -r umount -l
	# The proxy and the pod network leave their rules and bridge for a
	# restart; this cluster is gone for good.
	nft delete table ip kubelite-proxy 2>/dev/null
	nft delete table inet kubelite-podnet 2>/dev/null
	ip link del kubelite0 2>/dev/null
	E2E_PID='' stop_kubelite
}
trap cleanup EXIT
K() { "$kubectl" "$@"; }

check "create namespace" K create namespace $ns
check "default service account appears" wait_default_sa $ns K
work=$E2E_DIR/work
mkdir -p "$work"
backend() {
	cat <<YAML
---
apiVersion: v1
kind: Pod
metadata: {name: $1, namespace: $ns, labels: {app: web}}
spec:
  terminationGracePeriodSeconds: 1
  containers:
  - name: httpd
    image: $busybox
    command: [sh, -c, 'mkdir -p /www && echo $1 > /www/index.html && touch /tmp/ready && exec httpd -f -p 8080 -h /www']
    ports: [{name: http, containerPort: 8080}]
    readinessProbe: {exec: {command: [test, -f, /tmp/ready]}, periodSeconds: 1, failureThreshold: 1}
YAML
}
{
	backend web-a
	backend web-b
	cat <<YAML
---
apiVersion: v1
kind: Pod
metadata: {name: client, namespace: $ns}
spec:
  terminationGracePeriodSeconds: 1
  containers:
  - {name: main, image: $busybox, command: [sleep, "3600"]}
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
  ports: [{port: 80, targetPort: 8080, nodePort: 30480}]
---
apiVersion: v1
kind: Service
metadata: {name: web-lb, namespace: $ns}
spec:
  type: LoadBalancer
  selector: {app: web}
  ports: [{port: 18480, targetPort: 8080}]
---
apiVersion: v1
kind: Service
metadata: {name: sticky, namespace: $ns}
spec:
  selector: {app: web}
  sessionAffinity: ClientIP
  ports: [{port: 80, targetPort: 8080}]
YAML
} >"$work/objects.yaml"
check "create pods and services" K apply -f "$work/objects.yaml"
check "pods Ready" K wait --for=condition=Ready pod/web-a pod/web-b pod/client -n $ns --timeout=60s

node_ip=$(K get nodes -o jsonpath='{.items[0].status.addresses[?(@.type=="InternalIP")].address}')
ip_of() { K get service "$1" -n $ns -o jsonpath='{.spec.clusterIP}'; }
# fetch N ADDR PORT: N requests from the client pod, one answer (a backend's name) a line.
fetch() {
	K exec client -n $ns -- sh -c "for i in \$(seq $1); do printf 'GET / HTTP/1.0\r\n\r\n' | nc -w 2 $2 $3 | tail -1; done"
}
both() { local out; out=$(fetch 20 "$@") || return 1; grep -q web-a <<<"$out" && grep -q web-b <<<"$out" && echo both; }

eventually "pod to ClusterIP (named target port) reaches both backends" '^both$' 30 both "$(ip_of web)" 80
hairpin() {
	local out; out=$(K exec web-a -n $ns -- sh -c "for i in \$(seq 20); do printf 'GET / HTTP/1.0\r\n\r\n' | nc -w 2 $1 80 | tail -1; done") || return 1
	grep -q web-a <<<"$out" && grep -q web-b <<<"$out" && echo both
}
eventually "hairpin: a backend reaches its own Service, itself included" '^both$' 20 hairpin "$(ip_of web)"
eventually "pod to NodePort on the node's address" '^both$' 20 both "$node_ip" 30480
eventually "LoadBalancer ingress is the node's address" "^$node_ip\$" 20 K get service web-lb -n $ns -o jsonpath='{.status.loadBalancer.ingress[0].ip}'
eventually "pod to the LoadBalancer address" '^both$' 20 both "$node_ip" 18480
host_fetch() {
	python3 - "$1" "$2" <<'PY'
import socket, sys
s = socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=3)
s.sendall(b"GET / HTTP/1.0\r\n\r\n")
data = b""
while True:
    chunk = s.recv(4096)
    if not chunk:
        break
    data += chunk
print(data.decode().strip().splitlines()[-1])
PY
}
eventually "host to NodePort" '^web-[ab]$' 20 host_fetch "$node_ip" 30480
sticky_one() { local out; out=$(fetch 10 "$(ip_of sticky)" 80) || return 1; sort -u <<<"$out" | wc -l; }
eventually "sessionAffinity ClientIP keeps one backend" '^1$' 20 sticky_one

expect_out "resolv.conf names kube-dns" '^nameserver 10\.96\.0\.10$' K exec client -n $ns -- cat /etc/resolv.conf
expect_out "resolv.conf searches the namespace" "^search $ns\.svc\.cluster\.local svc\.cluster\.local cluster\.local" K exec client -n $ns -- cat /etc/resolv.conf
expect_out "resolv.conf ndots:5" '^options ndots:5$' K exec client -n $ns -- cat /etc/resolv.conf
web_ip=$(ip_of web)
eventually "DNS: the Service's FQDN from a pod" "Address: $web_ip" 30 K exec client -n $ns -- nslookup web.$ns.svc.cluster.local
eventually "DNS: the kubernetes Service" "Address: 10\.96\.0\.1\$" 10 K exec client -n $ns -- nslookup kubernetes.default.svc.cluster.local
eventually "DNS: no such Service, NXDOMAIN" "can't find nosuch\.$ns\.svc\.cluster\.local: NXDOMAIN" 10 K exec client -n $ns -- sh -c "nslookup nosuch.$ns.svc.cluster.local; true"
# busybox's nslookup ignores ndots; nc resolves as every program does (search path).
eventually "pod to a Service by its short name (search path)" '^both$' 20 both web 80

check "web-b turns unready" K exec web-b -n $ns -- rm /tmp/ready
eventually "web-b is not Ready" '^False$' 20 K get pod web-b -n $ns -o jsonpath='{.status.conditions[?(@.type=="Ready")].status}'
only_a() { local out; out=$(fetch 20 "$(ip_of web)" 80) || return 1; sort -u <<<"$out" | tr '\n' ' '; }
eventually "the unready backend gets no more connections" '^web-a $' 20 only_a

summary
