#!/bin/bash
# cli_timeout: one exit policy for the CLI. An enclave port that accepts
# the connection and then says nothing is a timeout, and a timeout exits
# 75 (temporary: try again) from a verb as from every other, with the
# advice to check the enclave; before, a silent bridge exited 69 from the
# dial while the same timeout exited 75 from a call. A port where nothing
# listens stays 69, and a bad flag value 64 naming the flag and the word.
. "$CELLA_SOURCE_ROOT/tests/integ/lib.sh"
command -v socat >/dev/null || skip "socat is needed for a silent peer"

CELLA=$B/services/cella/cella
export CELLA_VSOCK_DIR=$T/vsock CELLA_VSOCK_CID=3
mkdir -p "$CELLA_VSOCK_DIR"
"$CELLA" keygen --out "$T/op.pem" >/dev/null || fail "keygen"

# A silent peer on vsock://16:9001: it accepts, reads, never answers.
socat "UNIX-LISTEN:$CELLA_VSOCK_DIR/16_9001,fork" "SYSTEM:cat >/dev/null" \
	2>"$T/socat.log" &
LIB_PIDS[socat]=$!
wait_for 10 test -S "$CELLA_VSOCK_DIR/16_9001"

# ps gives up after its 10 s: the TLS handshake timed out.
expect_exit 75 "$CELLA" --enclave vsock://16 --key "$T/op.pem" ps
expect_contains "$T/last.err" "no answer in time"

# Nothing listening: unreachable, 69.
expect_exit 69 "$CELLA" --enclave vsock://17 --key "$T/op.pem" ps
# A bad value: 64, the flag and the word named, nothing dialed.
expect_exit 64 "$CELLA" --enclave vsock://16 --key "$T/op.pem" --max-age 10x ps
expect_contains "$T/last.err" "--max-age '10x': expected seconds"
expect_exit 64 "$CELLA" cp -j 0 "$T/op.pem" :/x
expect_contains "$T/last.err" "--jobs '0': expected a whole number in 1..16"
echo "cli_timeout: ok"
