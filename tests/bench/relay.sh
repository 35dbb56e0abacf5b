# scripts/bench relay: cella-pf-proxy against a direct unix socket and socat
# (default options), all measured in this run. One line per figure.
#   targets: relayed >= 0.8x direct single stream, >= 3x socat,
#            added p50 latency <= 30 us, RSS at 1,000 idle connections <= 64 MiB
set -eu
: "${BUILD:?run through scripts/bench}"
T=$(mktemp -d /tmp/cella-bench.XXXXXX)
ST=$BUILD/tests/tools/streamtool
PFP=$BUILD/services/pf-proxy/cella-pf-proxy
pids=""
trap 'kill $pids 2>/dev/null; wait 2>/dev/null; rm -rf "$T"' EXIT
. "$ROOT/tests/bench/lib.sh"

ready() { wait_for 10 test -S "$1"; } # a unix socket file appeared

ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
"$ST" sink "unix://$T/sink.sock" 2>/dev/null & pids="$pids $!"
"$ST" echo "unix://$T/echo.sock" 2>/dev/null & pids="$pids $!"
ready "$T/sink.sock"; ready "$T/echo.sock"
"$PFP" --forward "unix://$T/p-sink.sock=unix://$T/sink.sock" \
	--forward "unix://$T/p-echo.sock=unix://$T/echo.sock" 2>"$T/pfp.log" &
pfp=$!; pids="$pids $pfp"
socat "UNIX-LISTEN:$T/s-sink.sock,fork" "UNIX-CONNECT:$T/sink.sock" & pids="$pids $!"
socat "UNIX-LISTEN:$T/s-echo.sock,fork" "UNIX-CONNECT:$T/echo.sock" & pids="$pids $!"
ready "$T/p-sink.sock"; ready "$T/s-sink.sock"; ready "$T/s-echo.sock"

# Three rounds, each running direct, proxy and socat in turn; the best run
# of each is kept. The machine is shared: interleaving puts a busy moment
# into one round of every path rather than into one path's figure, and the
# first round warms caches.
once() { "$ST" send "$1" "$2" "$3" "$4" | sed 's/mib_per_s=\([0-9.]*\).*/\1/'; }
max() { echo "$1 $2" | awk '{print ($1 > $2) ? $1 : $2}'; }
trio() { # direct_total proxy_total socat_total chunk streams -> "d p s"
	bd=0; bp=0; bs=0
	for _ in 1 2 3; do
		bd=$(max "$(once "unix://$T/sink.sock" "$1" "$4" "$5")" "$bd")
		bp=$(max "$(once "unix://$T/p-sink.sock" "$2" "$4" "$5")" "$bp")
		bs=$(max "$(once "unix://$T/s-sink.sock" "$3" "$4" "$5")" "$bs")
	done
	echo "$bd $bp $bs"
}

ratio() { echo "$1 $2" | awk '{printf "%.2f", $1 / $2}'; }

for chunk in 1M 64K; do
	set -- $(trio 2048M 2048M 512M $chunk 1)
	d=$1 p=$2 s=$3
	echo "relay_stream_${chunk}_writes direct_mib_s=$d pf_proxy_mib_s=$p socat_mib_s=$s proxy_vs_direct=$(ratio "$p" "$d") proxy_vs_socat=$(ratio "$p" "$s") target_vs_direct=0.8 target_vs_socat=3"
done

set -- $(trio 64M 64M 16M 1M 100)
d=$1 p=$2 s=$3
echo "relay_100_streams direct_mib_s=$d pf_proxy_mib_s=$p socat_mib_s=$s proxy_vs_direct=$(ratio "$p" "$d") proxy_vs_socat=$(ratio "$p" "$s")"

lat() { "$ST" ping "$1" 20000 64; }
ld=$(lat "unix://$T/echo.sock")
lp=$(lat "unix://$T/p-echo.sock")
ls=$(lat "unix://$T/s-echo.sock")
p50() { echo "$1" | sed 's/.*p50_us=\([0-9.]*\).*/\1/'; }
p99() { echo "$1" | sed 's/.*p99_us=\([0-9.]*\).*/\1/'; }
echo "relay_pingpong_64B direct_p50_us=$(p50 "$ld") direct_p99_us=$(p99 "$ld") pf_proxy_p50_us=$(p50 "$lp") pf_proxy_p99_us=$(p99 "$lp") socat_p50_us=$(p50 "$ls") added_p50_us=$(echo "$(p50 "$lp") $(p50 "$ld")" | awk '{printf "%.1f", $1 - $2}') target_added_p50_us=30"

mkfifo "$T/hold" "$T/held"
"$ST" hold "unix://$T/p-echo.sock" 1000 <"$T/hold" >"$T/held" & holder=$!
exec 4>"$T/hold"
read -r _ n <"$T/held"
# Every held connection accepted and joined to the echo: two fds each.
fds_at_least() { [ "$(ls "/proc/$pfp/fd" | wc -l)" -ge "$1" ]; }
wait_for 30 fds_at_least $((2 * n))
rss=$(awk '/^VmRSS:/ {print $2}' "/proc/$pfp/status")
echo "relay_idle_conns conns=$n pf_proxy_rss_mib=$(echo "$rss" | awk '{printf "%.1f", $1 / 1024}') target_rss_mib=64"
exec 4>&-
wait $holder
