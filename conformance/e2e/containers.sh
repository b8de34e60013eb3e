#!/usr/bin/env bash
# End-to-end scenario on real containers: the built kubelite binary with its local
# node on containerd (--local-node=containerd), driven by the stock kubectl
# (WebSocket streaming) and kubectl 1.27 (SPDY): logs, exec, attach, run -it, cp,
# port-forward, CrashLoopBackOff, a liveness restart, a configMap update reaching
# its file, OOMKilled, an emptyDir over its sizeLimit evicted, a termination
# message and `kubectl wait`.
# Needs root, containerd and runc (`make containerd`) and the images of `make images`.
# Usage: containers.sh path/to/kubelite [kubectl ...]
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
bin=$(realpath "$1"); shift
images=${KUBELITE_IMAGES:-$here/../../.cache/images}
kubectls=("$@")
if [ ${#kubectls[@]} = 0 ]; then
	if [ -x /usr/bin/kubectl ]; then kubectls=(/usr/bin/kubectl); fi
	if [ -x /usr/bin/kubectl.1.27 ]; then
		kubectls+=(/usr/bin/kubectl.1.27)
	else
		kubectls+=("$("$here/../tools/build.sh" kubectl-1.27)") || { echo "cannot build kubectl 1.27"; exit 1; }
	fi
fi
if [ "$(id -u)" != 0 ] || ! command -v containerd >/dev/null || ! command -v runc >/dev/null; then
	echo "containers.sh needs root, containerd and runc (make containerd): skipped"; exit 0
fi
busybox=registry.k8s.io/e2e-test-images/busybox:1.37.0-2
[ -f "$images/busybox-1.37.0-2.tar" ] || { echo "no $images/busybox-1.37.0-2.tar: run make images"; exit 1; }

# The data dir's images/ is imported when the node starts. A short path: the
# containerd socket's is limited to 108 bytes.
E2E_DIR=$(mktemp -d /tmp/kl-ctr.XXXXXX)
mkdir -p "$E2E_DIR/data/images"
ln -s "$(realpath "$images/busybox-1.37.0-2.tar")" "$E2E_DIR/data/images/"
start_kubelite "$bin" --local-node=containerd --kubelet-port "$(free_port)"
ns=ctr
ctr_() { ctr -a "$E2E_DIR/data/containerd/containerd.sock" -n kubelite "$@"; }

# Containers outlive the server (the next start adopts them): delete the pods
# and kill what is left running, then stop the server, then undo what the pods
# mounted under the data dir.
running_tasks() { ctr_ tasks ls 2>/dev/null | awk '$3 == "RUNNING" {print $1}'; }
cleanup() {
	local t
	"${kubectls[0]}" delete pods --all -n "$ns" --grace-period=0 --force --wait=false >/dev/null 2>&1
	for _ in $(seq 1 100); do [ -z "$(running_tasks)" ] && break; sleep 0.1; done
	for t in $(running_tasks); do ctr_ tasks kill -s SIGKILL "$t" >/dev/null 2>&1; done
	[ -n "${E2E_PID:-}" ] && kill -TERM "$E2E_PID" 2>/dev/null && wait "$E2E_PID" 2>/dev/null
	grep -o " $E2E_DIR/[^ ]*" /proc/self/mounts | sort -r | xargs -r umount -l
	# The service proxy leaves its rules for a restart; this cluster is gone.
	nft delete table ip kubelite-proxy 2>/dev/null
	E2E_PID='' stop_kubelite
}
trap cleanup EXIT

work=$E2E_DIR/work
mkdir -p "$work"
K() { "${kubectls[0]}" "$@"; }
check "create namespace" K create namespace $ns
check "default service account appears" wait_default_sa $ns K

# All pods at once, so that the slow ones (backoff, liveness, OOM) proceed
# while the quick checks run.
cat >"$work/pods.yaml" <<YAML
apiVersion: v1
kind: ConfigMap
metadata: {name: conf, namespace: $ns}
data: {greeting: hello-1}
---
apiVersion: v1
kind: Pod
metadata: {name: web, namespace: $ns}
spec:
  terminationGracePeriodSeconds: 1
  containers:
  - name: main
    image: $busybox
    command: [sh, -c, 'echo started; i=0; while true; do i=\$((i+1)); echo tick \$i; sleep 0.5; done']
    volumeMounts: [{name: conf, mountPath: /conf}]
  - name: httpd
    image: $busybox
    command: [sh, -c, 'mkdir -p /www && echo hello-httpd > /www/index.html && exec httpd -f -p 8080 -h /www']
    ports: [{containerPort: 8080}]
    readinessProbe: {tcpSocket: {port: 8080}, periodSeconds: 1}
  - name: echo
    image: $busybox
    command: [sh, -c, 'echo echo-ready; while read l; do echo "got \$l"; done; echo stdin-closed; sleep 3600']
    stdin: true
  volumes: [{name: conf, configMap: {name: conf}}]
---
apiVersion: v1
kind: Pod
metadata: {name: crash, namespace: $ns}
spec:
  containers:
  - {name: main, image: $busybox, command: [sh, -c, 'echo crashing; exit 3']}
---
apiVersion: v1
kind: Pod
metadata: {name: live, namespace: $ns}
spec:
  terminationGracePeriodSeconds: 1
  containers:
  - name: main
    image: $busybox
    command: [sh, -c, 'touch /tmp/healthy; sleep 2; rm /tmp/healthy; sleep 3600']
    livenessProbe: {exec: {command: [test, -f, /tmp/healthy]}, periodSeconds: 1, failureThreshold: 1}
---
apiVersion: v1
kind: Pod
metadata: {name: hog, namespace: $ns}
spec:
  restartPolicy: OnFailure
  containers:
  - name: main
    image: $busybox
    command: [dd, if=/dev/zero, of=/dev/null, bs=64M, count=1]
    resources: {limits: {memory: 20Mi}}
---
apiVersion: v1
kind: Pod
metadata: {name: disk, namespace: $ns}
spec:
  terminationGracePeriodSeconds: 1
  containers:
  - name: main
    image: $busybox
    command: [sh, -c, 'dd if=/dev/zero of=/cache/f bs=1M count=3; sleep 3600']
    volumeMounts: [{name: cache, mountPath: /cache}]
  volumes: [{name: cache, emptyDir: {sizeLimit: 1Mi}}]
---
apiVersion: v1
kind: Pod
metadata: {name: term, namespace: $ns}
spec:
  restartPolicy: Never
  containers:
  - {name: main, image: $busybox, command: [sh, -c, 'printf goodbye > /dev/termination-log']}
YAML
check "create pods" K apply -f "$work/pods.yaml"
check "kubectl wait --for=condition=Ready" K wait --for=condition=Ready pod/web -n $ns --timeout=60s
check "update the configMap" K patch configmap conf -n $ns -p '{"data":{"greeting":"hello-2"}}'

# port_forward_curl NS POD PORT KUBECTL...: kubectl port-forward to PORT of POD on
# a free local port and fetches / with curl.
port_forward_curl() {
	local ns=$1 pod=$2 port=$3; shift 3
	local out; out=$(mktemp)
	"$@" port-forward "pod/$pod" -n "$ns" ":$port" >"$out" 2>&1 &
	local pid=$! local_port="" i
	for i in $(seq 1 100); do
		local_port=$(sed -nE 's/^Forwarding from 127\.0\.0\.1:([0-9]+) .*/\1/p' "$out" | head -1)
		[ -n "$local_port" ] && break
		sleep 0.1
	done
	[ -n "$local_port" ] && curl -sS --max-time 10 "http://127.0.0.1:$local_port/"
	local rc=$?
	kill "$pid" 2>/dev/null; wait "$pid" 2>/dev/null
	[ $rc = 0 ] || cat "$out"
	rm -f "$out"
	return $rc
}

# attach_echo NS KUBECTL...: kubectl attach -i to the echo container, sends a line,
# returns what came back in 3 s.
attach_echo() {
	local ns=$1; shift
	(echo "line-$RANDOM-x"; sleep 3) | timeout 5 "$@" attach -i web -n "$ns" -c echo 2>/dev/null | head -c 1000
	return 0
}

# run_tty NAME KUBECTL: `kubectl run -it --rm` of a shell on a terminal (script
# gives kubectl one): types a command, then exit; prints what the terminal showed.
run_tty() {
	local name=$1 k=$2
	(sleep 3; echo 'echo sum=$((40+2)) on $(tty)'; sleep 3; echo exit; sleep 3) |
		timeout 90 script -qec "$k run $name -n $ns -it --rm --restart=Never --image=$busybox --image-pull-policy=Never -- sh" /dev/null 2>&1 |
		tr -d '\r' | head -c 4000
	return 0
}

for k in "${kubectls[@]}"; do
	ver=$("$k" version --client -o json 2>/dev/null | python3 -c 'import json,sys; print(json.load(sys.stdin)["clientVersion"]["gitVersion"])')
	echo "== $k ($ver)"
	K() { "$k" "$@"; }
	expect_out "logs" '^started$' K logs web -n $ns -c main
	expect_out "logs --tail=1" '^tick [0-9]+$' K logs web -n $ns -c main --tail=1
	expect_out "logs --timestamps" '^20[0-9-]+T[0-9:.]+Z tick [0-9]+$' K logs web -n $ns -c main --tail=2 --timestamps
	expect_out "logs --all-containers" 'echo-ready' K logs web -n $ns --all-containers=true
	expect_out "logs -f follows" 'tick [0-9]+.*tick [0-9]+.*tick [0-9]+' \
		bash -c "timeout 2 $k logs -f web -n $ns -c main --tail=1 | tr '\n' ' '"
	expect_out "exec" '^hi web$' K exec web -n $ns -c main -- sh -c 'echo hi $(hostname)'
	expect_out "exec -i (stdin)" '^from-stdin$' bash -c "echo from-stdin | $k exec -i web -n $ns -c main -- cat"
	expect_fail "exec exit code" 'exit code 3' K exec web -n $ns -c main -- sh -c 'exit 3'
	expect_out "port-forward and curl" '^hello-httpd$' port_forward_curl $ns web 8080 K
	expect_out "attach (output)" 'tick [0-9]+' bash -c "timeout 2 $k attach web -n $ns -c main 2>/dev/null; true"
	expect_out "attach -i (stdin)" 'got line-[0-9]+-x' attach_echo $ns "$k"
	expect_out "run -it --rm (a shell on a terminal)" '^sum=42 on /dev/pts/[0-9]+$' run_tty "tty-${ver//[^0-9]/}" "$k"
	check "cp to the pod" K cp "$work/pods.yaml" "$ns/web:/tmp/pods.yaml" -c main
	expect_out "cp reached the pod" '^kind: ConfigMap$' K exec web -n $ns -c main -- cat /tmp/pods.yaml
	rm -f "$work/hostname"
	check "cp from the pod" K cp "$ns/web:/etc/hostname" "$work/hostname" -c main
	expect_out "cp brought the file" '^web$' cat "$work/hostname"
done

K() { "${kubectls[0]}" "$@"; }
jp() { K get pod "$1" -n $ns -o jsonpath="$2"; }
eventually "configMap update reaches the file" '^hello-2$' 90 K exec web -n $ns -c main -- cat /conf/greeting
eventually "emptyDir over its sizeLimit: evicted" '^Failed Evicted Usage of EmptyDir volume "cache" exceeds the limit "1Mi"\. $' 30 jp disk '{.status.phase} {.status.reason} {.status.message}'
eventually "termination message" '^Succeeded goodbye$' 30 jp term '{.status.phase} {.status.containerStatuses[0].state.terminated.message}'
eventually "OOMKilled in lastState" '^OOMKilled 137$' 60 jp hog '{.status.containerStatuses[0].lastState.terminated.reason} {.status.containerStatuses[0].lastState.terminated.exitCode}'
eventually "liveness probe restarts" '^[1-9][0-9]* Error 137$' 60 jp live '{.status.containerStatuses[0].restartCount} {.status.containerStatuses[0].lastState.terminated.reason} {.status.containerStatuses[0].lastState.terminated.exitCode}'
eventually "liveness kill event" 'failed liveness probe, will be restarted' 10 K get events -n $ns --field-selector involvedObject.name=live
eventually "liveness Unhealthy event" 'Unhealthy +pod/live +Liveness probe failed: ' 10 K get events -n $ns --field-selector involvedObject.name=live
eventually "CrashLoopBackOff, restartCount grows" '^CrashLoopBackOff ([2-9]|[1-9][0-9]+) 3$' 60 jp crash '{.status.containerStatuses[0].state.waiting.reason} {.status.containerStatuses[0].restartCount} {.status.containerStatuses[0].lastState.terminated.exitCode}'
expect_out "logs --previous" '^crashing$' K logs crash -n $ns --previous
expect_out "get pods shows CrashLoopBackOff" '^crash +0/1 +CrashLoopBackOff' K get pod crash -n $ns

summary
