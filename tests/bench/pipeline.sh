# scripts/bench pipeline: cella cp of a 1 GiB file and cella exec round
# trips, against anchors measured in the same run. One line per figure.
#   cp: the same file in and out through the pipeline directly, through a
#       plain cella-pf-proxy --forward relay, through socat (default
#       options) and through the attested bridge (TLS, emulated vsock,
#       sim attestation), each against the raw bytes through the plain
#       relay; target: bridge >= 0.5x the plain relay
#   exec: `true` on an established channel (one connection, N commands)
#       and fresh (`cella exec -- true`: a new process and connection,
#       locally and through the bridge) vs a local fork+exec of true;
#       target: established p50 <= 5 ms
# One cella.yaml, run by cella-init as in an enclave: ra-web (sim), the
# bridge, the pipeline. Each path is one cp_through line.
set -eu
: "${BUILD:?run through scripts/bench}"
T=$(mktemp -d /tmp/cella-bench.XXXXXX)
S=$(mktemp -d /dev/shm/cella-bench.XXXXXX)
CELLA=$BUILD/services/cella/cella
PFP=$BUILD/services/pf-proxy/cella-pf-proxy
ST=$BUILD/tests/tools/streamtool
PB=$BUILD/tests/bench/pipe_bench
MB=${PIPE_BENCH_MB:-1024}
export CELLA_VSOCK_DIR=$T/vsock CELLA_VSOCK_CID=16
export PATH="$BUILD/services/ra-web:$BUILD/services/pf-proxy:$BUILD/services/pipeline:$BUILD/services/init:$PATH"
export CELLA_CONTROL="ipc://$T/init.sock"
mkdir -p "$CELLA_VSOCK_DIR" "$S/root"
pids=""
trap 'kill $pids 2>/dev/null; wait 2>/dev/null; rm -rf "$T" "$S"' EXIT
. "$ROOT/tests/bench/lib.sh"

ready() { wait_for 20 test -S "$1"; } # a unix socket file appeared

"$CELLA" sim-ca init --dir "$T/ca" >/dev/null
"$CELLA" sim-ca issue --dir "$T/ca" --out "$T/enclave" >/dev/null
printf '{"pcrs": {"0": "%s", "1": "%s", "2": "%s"}}\n' "$(printf 'a0%.0s' $(seq 48))" \
	"$(printf 'a1%.0s' $(seq 48))" "$(printf 'a2%.0s' $(seq 48))" >"$T/measurements.json"
key=$("$CELLA" keygen --out "$T/op.pem" --name op | sed -n 's/.*public_key: "\(.*\)"/\1/p')
cat >"$T/cella.yaml" <<EOF2
name: bench
enclave: {debug: false}
policy: {exec: true, files: true}
init: {mounts: false, loopback: false, entropy: false, heartbeat: false,
       poweroff: false, cgroup: "", control: "ipc://$T/init.sock"}
attestation:
  provider: sim
  sim: {ca: "$T/enclave", measurements: "$T/measurements.json"}
  https: {listen: "tcp://127.0.0.1:0"}
  internal: {listen: "ipc://$T/ra.sock"}
operators:
  - {name: op, public_key: "$key", roles: [exec, files]}
bridge:
  rules:
    - {listen: "vsock://any:53000", target: "ipc://$T/pipe.sock", roles: [exec, files]}
pipeline: {listen: "ipc://$T/pipe.sock", roots: ["$S/root"]}
EOF2
cella-init --config "$T/cella.yaml" 2>"$T/init.log" & pids="$pids $!"
"$ST" sink "unix://$T/sink.sock" 2>/dev/null & pids="$pids $!"
ready "$T/pipe.sock"; ready "$T/sink.sock"; ready "$CELLA_VSOCK_DIR/16_53000"
"$PFP" --forward "unix://$T/p-pipe.sock=unix://$T/pipe.sock" \
	--forward "unix://$T/p-sink.sock=unix://$T/sink.sock" 2>"$T/pfp.log" & pids="$pids $!"
socat "UNIX-LISTEN:$T/s-pipe.sock,fork" "UNIX-CONNECT:$T/pipe.sock" & pids="$pids $!"
ready "$T/p-pipe.sock"; ready "$T/p-sink.sock"; ready "$T/s-pipe.sock"
bridge() { "$CELLA" --enclave vsock://16 --root "$T/ca/root.pem" --key "$T/op.pem" "$@"; }
local_url() { CELLA_PIPELINE=$1; shift; CELLA_PIPELINE=$CELLA_PIPELINE "$CELLA" "$@"; }

head -c $((MB << 20)) /dev/urandom >"$S/big"

# MiB/s of cp in and out with the CLI command given (best of two).
mibs() { awk -v mb="$MB" '{ s = $0; sub(/.*"seconds":/, "", s); sub(/,.*/, "", s); printf "%.0f", mb / s }'; }
best() { echo "$1 $2" | awk '{print ($1 > $2) ? $1 : $2}'; }
raw=$("$ST" send "unix://$T/p-sink.sock" "${MB}M" 1M 1 | sed 's/mib_per_s=\([0-9.]*\).*/\1/')
cp_through() { # NAME CLI...
	local name=$1 i o bi=0 bo=0
	shift
	for _ in 1 2; do
		rm -f "$S/root/big" "$S/back"
		i=$("$@" cp -q --json "$S/big" ":$S/root/big" | mibs)
		o=$("$@" cp -q --json ":$S/root/big" "$S/back" | mibs)
		bi=$(best "$i" "$bi"); bo=$(best "$o" "$bo")
	done
	cmp -s "$S/big" "$S/back" || { echo "bench pipeline: $name: the copy differs" >&2; exit 1; }
	eval "IN_$name=$bi OUT_$name=$bo"
	echo "pipeline_cp_${MB}MiB_$name in_mib_s=$bi out_mib_s=$bo raw_relay_mib_s=$raw in_vs_raw_relay=$(echo "$bi $raw" | awk '{printf "%.2f", $1 / $2}') out_vs_raw_relay=$(echo "$bo $raw" | awk '{printf "%.2f", $1 / $2}') target_bridge_vs_relay=0.5"
}
cp_through direct local_url "ipc://$T/pipe.sock"
cp_through pf_proxy local_url "ipc://$T/p-pipe.sock"
cp_through socat local_url "ipc://$T/s-pipe.sock"
cp_through bridge bridge
rm -f "$S/root/big" "$S/back" "$S/big"
# The same cp through the bridge (TLS) and through the plain relay: what
# attested TLS costs on top of everything else (hashing on both sides).
echo "pipeline_cp_bridge_vs_relay_cp in=$(echo "$IN_bridge $IN_pf_proxy" | awk '{printf "%.2f", $1 / $2}') out=$(echo "$OUT_bridge $OUT_pf_proxy" | awk '{printf "%.2f", $1 / $2}') sha256_mib_s=$(openssl speed -evp sha256 -bytes 1048576 -seconds 1 2>/dev/null | awk '/^sha256/ {printf "%.0f", $2 / 1048.576}') target=0.5"

p50() { echo "$1" | sed 's/.*p50_us=\([0-9.]*\).*/\1/'; }
p99() { echo "$1" | sed 's/.*p99_us=\([0-9.]*\).*/\1/'; }
fresh() { # CLI...: p50/p99 of N fresh `exec -- true`
	for _ in $(seq 50); do
		t0=$(date +%s%N); "$@" exec -- true
		echo $(( ($(date +%s%N) - t0) / 1000 ))
	done | sort -n | awk '{v[NR] = $1} END {print "p50_us=" v[int(NR / 2)] " p99_us=" v[int(NR * 0.99)]}'
}
est=$("$PB" exec "ipc://$T/pipe.sock" 500)
loc=$("$PB" spawn 500)
fl=$(fresh local_url "ipc://$T/pipe.sock")
fb=$(fresh bridge)
echo "pipeline_exec_true established_p50_us=$(p50 "$est") established_p99_us=$(p99 "$est") fresh_local_p50_us=$(p50 "$fl") fresh_bridge_p50_us=$(p50 "$fb") local_fork_exec_p50_us=$(p50 "$loc") established_vs_local=$(echo "$(p50 "$est") $(p50 "$loc")" | awk '{printf "%.1f", $1 / $2}') target_established_p50_us=5000"
