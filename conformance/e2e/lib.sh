# Shared helpers for the end-to-end scenarios: start the built kubelite binary on a
# temporary data dir and free ports, and assert on what kubectl prints.

E2E_FAILED=0
E2E_PASSED=0

free_port() {
	python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}

# start_kubelite BIN [ARGS...]: starts the server with ARGS on the data dir
# $E2E_DIR/data (E2E_DIR: a new temporary dir unless set), waits until it is
# ready, exports KUBECONFIG. No local node unless ARGS ask for one
# (--local-node=containerd; the server's default as root with containerd).
start_kubelite() {
	local bin=$1; shift
	E2E_DIR=${E2E_DIR:-$(mktemp -d /tmp/kubelite-e2e.XXXXXX)}
	local port; port=$(free_port)
	: >"$E2E_DIR/server.log"
	"$bin" server --data-dir "$E2E_DIR/data" --bind-address 127.0.0.1 --advertise-address 127.0.0.1 \
		--secure-port "$port" --etcd-client-port "$(free_port)" --etcd-peer-port "$(free_port)" --local-node= "$@" \
		>"$E2E_DIR/server.log" 2>&1 &
	E2E_PID=$!
	trap stop_kubelite EXIT
	for _ in $(seq 1 600); do
		if grep -q "kubelite is ready" "$E2E_DIR/server.log"; then
			export KUBECONFIG="$E2E_DIR/data/kubeconfig"
			return 0
		fi
		if ! kill -0 "$E2E_PID" 2>/dev/null; then
			echo "kubelite exited before it was ready:"; tail -50 "$E2E_DIR/server.log"; exit 1
		fi
		sleep 0.1
	done
	echo "kubelite not ready after 60 s"; tail -50 "$E2E_DIR/server.log"; exit 1
}

stop_kubelite() {
	if [ -n "${E2E_PID:-}" ] && kill -0 "$E2E_PID" 2>/dev/null; then
		kill -TERM "$E2E_PID"; wait "$E2E_PID" 2>/dev/null || true
	fi
	if [ "${E2E_FAILED:-0}" != 0 ] && [ -f "$E2E_DIR/server.log" ]; then
		echo "--- last lines of the server log"; tail -30 "$E2E_DIR/server.log"
	fi
	rm -rf "$E2E_DIR"
}

# wait_default_sa NS KUBECTL...: waits up to 30 s for the "default" service account
# of namespace NS, which the controller creates a moment after the namespace. Pods
# created before it exists are refused by the ServiceAccount admission plugin, as
# upstream refuses them.
wait_default_sa() {
	local ns=$1; shift
	for _ in $(seq 1 300); do
		"$@" get serviceaccount default -n "$ns" >/dev/null 2>&1 && return 0
		sleep 0.1
	done
	echo "no default service account in namespace $ns after 30 s"; return 1
}

# show_out TEXT: a failed command's output, indented; of a long one the first
# 10 and the last 20 lines, since kubectl and helm print their errors last.
show_out() {
	awk -v n="$(printf '%s\n' "$1" | wc -l)" '
		NR <= 10 || NR > n - 20 { print "     " $0; next }
		NR == 11 { print "     [... " n - 30 " lines ...]" }' <<<"$1"
}

# check NAME CMD...: runs CMD, records pass or failure with its output.
check() {
	local name=$1; shift
	local out
	if out=$("$@" 2>&1); then
		E2E_PASSED=$((E2E_PASSED+1)); echo "ok   $name"
	else
		E2E_FAILED=$((E2E_FAILED+1)); echo "FAIL $name"; show_out "$out"
	fi
}

# expect_out NAME PATTERN CMD...: CMD succeeds and its output matches the extended regex.
expect_out() {
	local name=$1 pattern=$2; shift 2
	local out
	if out=$("$@" 2>&1) && grep -Eq -- "$pattern" <<<"$out"; then
		E2E_PASSED=$((E2E_PASSED+1)); echo "ok   $name"
	else
		E2E_FAILED=$((E2E_FAILED+1)); echo "FAIL $name (want /$pattern/)"; show_out "$out"
	fi
}

# eventually_out NAME PATTERN CMD...: like expect_out, but retries CMD for up to 10 s
# until its output matches, for what a controller does shortly after a write.
eventually_out() {
	local name=$1 pattern=$2; shift 2
	local out i
	for i in $(seq 1 50); do
		if out=$("$@" 2>&1) && grep -Eq -- "$pattern" <<<"$out"; then
			E2E_PASSED=$((E2E_PASSED+1)); echo "ok   $name"
			return
		fi
		sleep 0.2
	done
	E2E_FAILED=$((E2E_FAILED+1)); echo "FAIL $name (want /$pattern/ within 10 s)"; show_out "$out"
}

# eventually NAME PATTERN SECONDS CMD...: CMD's output matches within SECONDS.
eventually() {
	local name=$1 pattern=$2 secs=$3; shift 3
	local out end=$((SECONDS+secs))
	while :; do
		if out=$("$@" 2>&1) && grep -Eq -- "$pattern" <<<"$out"; then
			E2E_PASSED=$((E2E_PASSED+1)); echo "ok   $name"; return
		fi
		[ $SECONDS -ge $end ] && break
		sleep 0.5
	done
	E2E_FAILED=$((E2E_FAILED+1)); echo "FAIL $name (want /$pattern/ within $secs s)"; show_out "$out"
}

# expect_fail NAME PATTERN CMD...: CMD fails and its output matches the regex.
expect_fail() {
	local name=$1 pattern=$2; shift 2
	local out
	if ! out=$("$@" 2>&1) && grep -Eq -- "$pattern" <<<"$out"; then
		E2E_PASSED=$((E2E_PASSED+1)); echo "ok   $name"
	else
		E2E_FAILED=$((E2E_FAILED+1)); echo "FAIL $name (want failure matching /$pattern/)"; show_out "$out"
	fi
}

# port_forward_echo NS POD PORT KUBECTL...: runs kubectl port-forward to PORT
# of POD on a free local port and checks that a line sent comes back
# (simulated pods echo).
port_forward_echo() {
	local ns=$1 pod=$2 port=$3; shift 3
	local out; out=$(mktemp)
	"$@" port-forward "pod/$pod" -n "$ns" ":$port" >"$out" 2>&1 &
	local pid=$! local_port="" i
	for i in $(seq 1 100); do
		local_port=$(sed -nE 's/^Forwarding from 127\.0\.0\.1:([0-9]+) .*/\1/p' "$out" | head -1)
		[ -n "$local_port" ] && break
		sleep 0.1
	done
	local rc=1
	if [ -n "$local_port" ] && python3 - "$local_port" <<'PY'
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=10)
s.sendall(b"ping\n")
data = b""
while not data.endswith(b"\n"):
    chunk = s.recv(100)
    if not chunk:
        break
    data += chunk
sys.exit(0 if data == b"ping\n" else 1)
PY
	then rc=0; fi
	kill "$pid" 2>/dev/null; wait "$pid" 2>/dev/null
	[ $rc = 0 ] || cat "$out"
	rm -f "$out"
	return $rc
}

summary() {
	echo "$E2E_PASSED passed, $E2E_FAILED failed"
	[ "$E2E_FAILED" = 0 ]
}

# diff_rc CMD...: runs kubectl diff, whose exit code 1 means "differences found".
diff_rc() {
	"$@"; local rc=$?
	[ $rc -le 1 ]
}
