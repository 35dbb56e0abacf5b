# A hello the bridge cannot accept is answered with the reason, as the
# refusal frame of proto/bridge.md ({"error": ...}), before the stream
# ends, and logged as evt=bridge_bad_hello with the same reason: bytes that
# are not CBOR, CBOR that is not a map, another version, a short nonce, a
# frame length out of 1..16384 (0, and 65536 announced), and a hello still
# incomplete at the deadline. The bridge goes on serving operators.
. "$CELLA_SOURCE_ROOT/tests/integ/bridge_lib.sh"

BRIDGE_KEYS="  hello_ms: 1500"
bridge_setup
bridge_start
PEER=$B/tests/tools/bridgepeer

bad_hello() { # kind, the reason the peer must hear
	expect_exit 0 "$PEER" hello vsock://16:9001 "$T/alice.pem" "$1"
	expect_contains "$T/last.out" "error: $2"
	wait_contains "$T/init.log" "evt=bridge_bad_hello"
	wait_contains "$T/init.log" "$2"
}

bad_hello garbage "the hello is not CBOR"
bad_hello notmap "the hello is not a CBOR map"
bad_hello version "unsupported exchange version 2 (this bridge speaks 1)"
bad_hello nonce "the nonce must be 32 bytes"
bad_hello oversize "a frame of 65536 bytes (1..16384)"
bad_hello empty "a frame of 0 bytes (1..16384)"
bad_hello truncated "no complete hello within 1500 ms (14 bytes came)"
# The hello is judged before the operator: an unknown key hears the same.
expect_exit 0 "$PEER" hello vsock://16:9001 "$T/eve.pem" version
expect_contains "$T/last.out" "error: unsupported exchange version 2"

n=$(grep -c "evt=bridge_bad_hello" "$T/init.log")
[ "$n" -eq 8 ] || fail "$n bad hellos logged, expected 8"
# Still serving, in the same process.
expect_exit 0 host --key "$T/alice.pem" ps
expect_contains "$T/last.out" "worker"
! grep -q "evt=svc_exit service=bridge" "$T/init.log" ||
	fail "the bridge exited"
echo "ok"
