# scripts/bench up: `cella up -d` of the hello example until every service
# is ready (heartbeat, all services, checked through the attested bridge),
# and `cella down` until nothing is left; medians of UP_BENCH_ROUNDS
# (default 7). Anchor: the same with --backend process (no namespaces), in
# the same run. One line per figure. Target: up <= 1000 ms.
set -eu
: "${BUILD:?run through scripts/bench}"
: "${ROOT:?run through scripts/bench}"
ROUNDS=${UP_BENCH_ROUNDS:-7}
T=$(mktemp -d /var/tmp/cella-bench-up.XXXXXX)
B=$BUILD
PATH="$B/services/cella:$B/services/init:$B/services/launch:$B/services/pf-proxy:$B/services/ra-web:$B/services/pipeline:$B/deploy/examples/hello:$PATH"
export PATH CELLA_STATE_DIR="$T/state" HOME="$T/home"
unset XDG_RUNTIME_DIR XDG_DATA_HOME
mkdir -p "$T/app" "$HOME"
trap 'cella down bench >/dev/null 2>&1 || true; rm -rf "$T"' EXIT

free_port() {
	python3 -c 'import socket
s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}
ms() { echo $(($(date +%s%N) / 1000000)); }
median() { sort -n | awk '{v[NR] = $1} END {print v[int((NR + 1) / 2)]}'; }

# The hello example, with ports that are free now (the process backend
# shares the host's network, inside port included).
sed -e "s/^name: hello/name: bench/" \
	-e "s/127.0.0.1:8000/127.0.0.1:$(free_port)/g" \
	"$ROOT/deploy/examples/hello/cella.yaml" >"$T/app/cella.yaml"
inner=$(sed -n 's/.*--listen, "127.0.0.1:\([0-9]*\)".*/\1/p' "$T/app/cella.yaml")
sed -i "s/\"8080:8000\"/\"$(free_port):$inner\"/" "$T/app/cella.yaml"

run() { # backend -> "up_ms down_ms" per round, on stdout
	for _ in $(seq "$ROUNDS"); do
		t0=$(ms)
		(cd "$T/app" && cella up -d --backend "$1" >/dev/null 2>"$T/up.err") || {
			echo "bench up: cella up failed:" >&2
			cat "$T/up.err" >&2
			exit 1
		}
		t1=$(ms)
		cella down bench >/dev/null
		t2=$(ms)
		echo "$((t1 - t0)) $((t2 - t1))"
	done
}

# One warm-up round: the first creates the key and the simulation root.
run local >/dev/null
run local >"$T/local"
run process >"$T/process"
up=$(cut -d' ' -f1 "$T/local" | median)
down=$(cut -d' ' -f2 "$T/local" | median)
pup=$(cut -d' ' -f1 "$T/process" | median)
pdown=$(cut -d' ' -f2 "$T/process" | median)
echo "up_to_ready_ms median=$up rounds=$ROUNDS backend=local services=6 target_ms=1000"
echo "down_ms median=$down rounds=$ROUNDS backend=local"
echo "up_to_ready_process_backend_ms median=$pup down_ms=$pdown local_vs_process=$(echo "$up $pup" | awk '{printf "%.2f", $1 / $2}')"
