# ra_web_slow: slowloris. 300 connections from one peer (127.0.0.2), half
# of them silent and half dripping request headers that never end, must
# not lock anyone else out: over max_connections_per_peer they are closed
# at accept (evt=connection_refused peer=...), and the ones let in are shut
# at header_timeout_ms (evt=conn_timeout why=header). Meanwhile a fresh
# client (127.0.0.1) gets its attestation document at once; afterwards
# /metrics counts both limits.
. "$CELLA_SOURCE_ROOT/tests/integ/ra_lib.sh"

cat >"$T/ra.yaml" <<EOF2
attestation:
  https:
    max_connections_per_peer: 32
    header_timeout_ms: 2000
EOF2
ra_start ra --config "$T/ra.yaml"
PORT=${URL##*:}

start slow bash -c 'exec "$0" "$@" >"'"$T/slow.out"'"' \
	"$B/tests/tools/slowloris" 127.0.0.1 "$PORT" 300 127.0.0.2
nonce=$(head -c 32 /dev/urandom | od -An -v -tx1 | tr -d ' \n')
t0=$(date +%s%N)
expect_eq "$(ra_get "/v1/attestation?nonce=$nonce" \
	-H 'Accept: application/cbor')" 200 "a fresh client's document"
t1=$(date +%s%N)
k=$(sed -n 's/^closed //p' "$T/slow.out" | tail -n 1)
[ "${k:-0}" -lt 300 ] || fail "every slow connection was gone before the client"
echo "document with 300 slow connections from one peer: $(( (t1 - t0) / 1000000 )) ms"
verify_doc "$T/body" "$nonce"

rc=0
wait "$PID_slow" || rc=$?
unset "LIB_PIDS[slow]"
[ "$rc" -eq 0 ] || fail "slow connections left open (exit $rc)"
expect_contains "$T/slow.out" "all closed after"
n=$(grep -c "evt=connection_refused peer=127.0.0.2" "$T/ra.log")
[ "$n" -eq 268 ] || fail "$n connections refused over the per-peer cap, expected 268"
n=$(grep -c "evt=conn_timeout why=header" "$T/ra.log")
[ "$n" -eq 32 ] || fail "$n header timeouts, expected 32"
expect_eq "$(ra_get /metrics)" 200 "/metrics"
expect_contains "$T/body" 'cella_ra_errors_total{kind="peer_limit"} 268'
expect_contains "$T/body" 'cella_ra_errors_total{kind="header_timeout"} 32'
echo "ok"
