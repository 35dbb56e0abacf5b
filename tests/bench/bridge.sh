# scripts/bench bridge: the attested bridge's memory over many sessions.
# cella-pf-proxy's resident size is read after a warm-up of
# BRIDGE_BENCH_WARMUP whole sessions (default 2000: TLS, document, verdict,
# session socket, relay, close) and again after BRIDGE_BENCH_SESSIONS more
# (default 4000). The figure is the ratio of the two and the growth per
# session. Nothing in the bridge leaks (LeakSanitizer, heaptrack, and a
# flat heap with one glibc arena and no tcache all agree), but a bridge
# whose handshakes allocate on sixteen worker threads and free on the loop
# thread grew through glibc's per-thread caches and arenas by about 250 B
# a session, still growing after 10,000; with a connection's TLS state
# made and freed on the loop it levels off after the warm-up.
#                                                        target <= 1.02x
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
: "${BUILD:?run through scripts/bench}"
: "${ROOT:?run through scripts/bench}"
export CELLA_BUILD_ROOT=$BUILD CELLA_SOURCE_ROOT=$ROOT
. "$ROOT/tests/integ/bridge_lib.sh"

N=${BRIDGE_BENCH_SESSIONS:-4000}
W=${BRIDGE_BENCH_WARMUP:-2000}
bridge_setup
bridge_start
pfp=$(pgrep -P "$PID_init" -f cella-pf-proxy) || fail "no cella-pf-proxy"
rss() { awk '/^VmRSS/ {print $2}' "/proc/$pfp/status"; }
sessions() {
	"$B/tests/tools/bridgepeer" sessions vsock://16:9001 "$T/alice.pem" \
		"$T/ca/root.pem" "$1" >/dev/null || fail "sessions"
}

sessions "$W"
r0=$(rss)
sessions "$N"
r1=$(rss)
echo "$r0 $r1 $N" | awk '{printf "bridge_rss_sessions sessions=%d rss_kib=%d->%d growth_b_per_session=%.0f ratio=%.3f target=1.02\n", $3, $1, $2, ($2 - $1) * 1024 / $3, $2 / $1}'
