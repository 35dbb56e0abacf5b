# scripts/bench pipeline: cella cp of a 1 GiB file and cella exec round
# trips, against anchors measured in the same run. One line per figure.
#   cp: the same file through the pipeline directly, through a plain
#       cella-pf-proxy --forward relay and through socat (default
#       options), with the raw bytes through the same relay as the
#       anchor; target: cp through the bridge >= 0.5x the plain relay
#   exec: `true` on an established channel (one connection, N commands)
#       and fresh (`cella exec -- true`, a new process and connection
#       each) vs a local fork+exec of true; target: established p50 <= 5 ms
# Each path is one cp_through line, so the bridge is one more line.
set -eu
: "${BUILD:?run through scripts/bench}"
T=$(mktemp -d /tmp/cella-bench.XXXXXX)
S=$(mktemp -d /dev/shm/cella-bench.XXXXXX)
CELLA=$BUILD/services/cella/cella
PFP=$BUILD/services/pf-proxy/cella-pf-proxy
ST=$BUILD/tests/tools/streamtool
PB=$BUILD/tests/bench/pipe_bench
MB=${PIPE_BENCH_MB:-1024}
pids=""
trap 'kill $pids 2>/dev/null; wait 2>/dev/null; rm -rf "$T" "$S"' EXIT

ready() { # wait for a unix socket file to appear
	for _ in $(seq 200); do [ -S "$1" ] && return 0; sleep 0.05; done
	echo "bench pipeline: $1 never appeared" >&2
	exit 1
}

mkdir -p "$S/root"
cat >"$T/init.yaml" <<EOF2
init: {mounts: false, loopback: false, entropy: false, heartbeat: false,
       poweroff: false, cgroup: "", control: "ipc://$T/init.sock"}
EOF2
cat "$T/init.yaml" - >"$T/cella.yaml" <<EOF2
enclave: {debug: true}
pipeline: {listen: "ipc://$T/pipe.sock", roots: ["$S/root"]}
EOF2
"$BUILD/services/init/cella-init" --config "$T/init.yaml" 2>"$T/init.log" & pids="$pids $!"
"$BUILD/services/pipeline/cella-pipeline" --config "$T/cella.yaml" 2>"$T/pipe.log" & pids="$pids $!"
"$ST" sink "unix://$T/sink.sock" 2>/dev/null & pids="$pids $!"
ready "$T/init.sock"; ready "$T/pipe.sock"; ready "$T/sink.sock"
"$PFP" --forward "unix://$T/p-pipe.sock=unix://$T/pipe.sock" \
	--forward "unix://$T/p-sink.sock=unix://$T/sink.sock" 2>"$T/pfp.log" & pids="$pids $!"
socat "UNIX-LISTEN:$T/s-pipe.sock,fork" "UNIX-CONNECT:$T/pipe.sock" & pids="$pids $!"
ready "$T/p-pipe.sock"; ready "$T/p-sink.sock"; ready "$T/s-pipe.sock"

head -c $((MB << 20)) /dev/urandom >"$S/big"
export CELLA_CONTROL="ipc://$T/init.sock"

# MiB/s of cp in and out through URL (best of two).
mibs() { awk -v mb="$MB" '{ s = $0; sub(/.*"seconds":/, "", s); sub(/,.*/, "", s); printf "%.0f", mb / s }'; }
best() { echo "$1 $2" | awk '{print ($1 > $2) ? $1 : $2}'; }
cp_through() { # NAME URL
	local i o bi=0 bo=0
	for _ in 1 2; do
		rm -f "$S/root/big" "$S/back"
		i=$(CELLA_PIPELINE=$2 "$CELLA" cp -q --json "$S/big" ":$S/root/big" | mibs)
		o=$(CELLA_PIPELINE=$2 "$CELLA" cp -q --json ":$S/root/big" "$S/back" | mibs)
		bi=$(best "$i" "$bi"); bo=$(best "$o" "$bo")
	done
	cmp -s "$S/big" "$S/back" || { echo "bench pipeline: $1: the copy differs" >&2; exit 1; }
	echo "$1 $bi $bo"
}
raw=$("$ST" send "unix://$T/p-sink.sock" "${MB}M" 1M 1 | sed 's/mib_per_s=\([0-9.]*\).*/\1/')
line() { # NAME IN OUT
	echo "pipeline_cp_${MB}MiB_$1 in_mib_s=$2 out_mib_s=$3 raw_relay_mib_s=$raw in_vs_raw_relay=$(echo "$2 $raw" | awk '{printf "%.2f", $1 / $2}') out_vs_raw_relay=$(echo "$3 $raw" | awk '{printf "%.2f", $1 / $2}') target_bridge_vs_relay=0.5"
}
line $(cp_through direct "ipc://$T/pipe.sock")
line $(cp_through pf_proxy "ipc://$T/p-pipe.sock")
line $(cp_through socat "ipc://$T/s-pipe.sock")
rm -f "$S/root/big" "$S/back" "$S/big"

p50() { echo "$1" | sed 's/.*p50_us=\([0-9.]*\).*/\1/'; }
p99() { echo "$1" | sed 's/.*p99_us=\([0-9.]*\).*/\1/'; }
est=$("$PB" exec "ipc://$T/pipe.sock" 500)
loc=$("$PB" spawn 500)
fresh=$(for _ in $(seq 100); do
	t0=$(date +%s%N); CELLA_PIPELINE="ipc://$T/pipe.sock" "$CELLA" exec -- true
	echo $(( ($(date +%s%N) - t0) / 1000 ))
done | sort -n | awk '{v[NR] = $1} END {print "p50_us=" v[int(NR / 2)] " p99_us=" v[int(NR * 0.99)]}')
echo "pipeline_exec_true established_p50_us=$(p50 "$est") established_p99_us=$(p99 "$est") fresh_p50_us=$(p50 "$fresh") local_fork_exec_p50_us=$(p50 "$loc") established_vs_local=$(echo "$(p50 "$est") $(p50 "$loc")" | awk '{printf "%.1f", $1 / $2}') target_established_p50_us=5000"
