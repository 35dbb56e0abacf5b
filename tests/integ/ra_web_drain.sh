# ra_web_drain: start-up and shutdown of cella-ra-web. --check-config and
# --print-config stop after the configuration (0, or 78 naming the key);
# start-up failures exit with the documented codes (78 configuration,
# a missing file included, 69
# unavailable, 64 usage). SIGTERM with an idle keep-alive connection exits
# 0 at once, not after the drain timeout; SIGTERM with requests in flight
# answers every one of them first; a zero drain timeout forces the close.
. "$CELLA_SOURCE_ROOT/tests/integ/ra_lib.sh"

# configuration only
expect_exit 0 "$RA" --check-config --provider sim --sim-ca "$T/enc"
expect_exit 0 "$RA" --print-config --tls-min 1.2
expect_contains "$T/last.out" 'tls_min: "1.2"'
cat >"$T/bad.yaml" <<EOF
attestation:
  https:
    max_url_bytes: 10
EOF
expect_exit 78 "$RA" --check-config --config "$T/bad.yaml"
expect_contains "$T/last.err" "bad.yaml:3: attestation.https.max_url_bytes: 10 is below the minimum 256"
expect_exit 78 "$RA" --check-config --listen "unix:///x"
expect_contains "$T/last.err" "command line: attestation.https.listen: expected a tcp:// URL"
expect_exit 78 "$RA" --check-config --config "$T/missing.yaml"
expect_exit 64 "$RA" --frobnicate
expect_exit 64 "$RA" extra-argument
expect_exit 0 "$RA" --help
expect_contains "$T/last.out" "https.client_ca"

# start-up failures
expect_exit 78 "$RA" --provider sim --listen tcp://127.0.0.1:0 \
	--ra-socket "ipc://$T/f.sock"
expect_contains "$T/last.err" "provider sim needs attestation.sim.ca"
# A config is a regular file (a pipe, even <(...), is refused).
printf 'attestation: {device: %s}\n' "$T/no-nsm" >"$T/no-nsm.yaml"
expect_exit 78 "$RA" --config "$T/no-nsm.yaml" \
	--listen tcp://127.0.0.1:0 --ra-socket "ipc://$T/f.sock"
expect_contains "$T/last.err" "provider auto: no NSM device at $T/no-nsm"
expect_exit 78 "$RA" --provider sim --sim-ca "$T/nowhere" \
	--listen tcp://127.0.0.1:0 --ra-socket "ipc://$T/f.sock"
expect_exit 69 "$RA" --provider nsm --config "$T/no-nsm.yaml" \
	--listen tcp://127.0.0.1:0 --ra-socket "ipc://$T/f.sock"
ra_start ra
port=${URL##*:}
expect_exit 69 "$RA" --provider sim --sim-ca "$T/enc" \
	--listen "tcp://127.0.0.1:$port" --ra-socket "ipc://$T/g.sock"
expect_contains "$T/last.err" "evt=start_failed code=69"
expect_eq "$(ra_get /healthz)" 200 "the first instance still serves"

# an idle keep-alive connection does not hold the drain
mkfifo "$T/idle.in"
openssl s_client -connect "${URL#https://}" -quiet <"$T/idle.in" \
	>"$T/idle.out" 2>&1 &
idle=$!
exec 5>"$T/idle.in"
# connections_are N: /metrics says N open (the asking curl's own is one)
connections_are() {
	ra_get /metrics >/dev/null && grep -q "^cella_ra_connections $1\$" "$T/body"
}
try_for 5 connections_are 2 || fail "idle connection not open"
t0=$(date +%s%N)
stop ra
ms=$((($(date +%s%N) - t0) / 1000000))
[ "$ms" -lt 5000 ] || fail "drain took ${ms} ms with one idle connection"
expect_contains "$T/ra.log" "evt=drained forced=no"
expect_contains "$T/ra.log" "evt=exit code=0"
exec 5>&-
wait "$idle" 2>/dev/null

# requests in flight when SIGTERM arrives are all answered
printf 'attestation: {max_concurrency: 1}\n' >"$T/rb.yaml"
ra_start rb --config "$T/rb.yaml"
args=()
for i in $(seq 64); do
	args+=(-o "$T/p$i.cbor" "$URL/v1/attestation?nonce=$(printf '%04x' "$i")")
done
curl -sS -k --http2 --parallel --parallel-max 64 -w '%{http_code}\n' \
	"${args[@]}" >"$T/codes" 2>"$T/curl.err" &
cpid=$!
wait_for 20 compgen -G "$T/p*.cbor"
kill -TERM "$PID_rb"
wait "$cpid" || { cat "$T/curl.err" >&2; fail "curl failed during the drain"; }
rc=0
wait "$PID_rb" || rc=$?
unset "LIB_PIDS[rb]"
expect_eq "$rc" 0 "exit status after draining requests"
expect_eq "$(grep -c '^200$' "$T/codes")" 64 "answers during the drain"
expect_contains "$T/rb.log" "evt=draining signal=TERM"
grep -Eq 'evt=draining signal=TERM open=1 jobs=[1-9]' "$T/rb.log" ||
	fail "no request was in flight at SIGTERM: the drain went untested"
for i in 1 32 64; do
	verify_doc "$T/p$i.cbor" "$(printf '%04x' "$i")"
done

# drain_timeout_ms 0: connections are shut at once, still exit 0
printf 'attestation: {drain_timeout_ms: 0}\n' >"$T/rz.yaml"
ra_start rz --config "$T/rz.yaml"
exec 5<>"/dev/tcp/127.0.0.1/${URL##*:}"
ra_get /healthz >/dev/null
stop rz
expect_contains "$T/rz.log" "evt=drained forced=yes"
exec 5>&-
echo "ra_web_drain: ok"
