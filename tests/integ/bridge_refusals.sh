# Each way the attested bridge must refuse, with its reason printed by the
# client (exit 77) and logged by the bridge: an unknown operator, a missing
# role, the policy of a non-debug enclave, a wrong PCR pin, a root that is
# not the enclave's, a debug document not allowed, and three attackers on
# the host: a relay that terminates TLS itself (with an admitted key of its
# own), a tampered document and a replayed one.
. "$CELLA_SOURCE_ROOT/tests/integ/bridge_lib.sh"

bridge_setup
bridge_start

refused() { # client reason, bridge log reason, host args...
	local want=$1 logged=$2
	shift 2
	expect_exit 77 "$@"
	expect_contains "$T/last.err" "refused: $want"
	[ -z "$logged" ] || wait_contains "$T/init.log" "$logged"
}

refused "refused by the enclave: unknown operator" \
	'evt=bridge_refused' host --key "$T/eve.pem" ps
refused "refused by the enclave: missing role: operator 'runner' needs one of services,logs here" \
	"missing role: operator 'runner'" host --key "$T/runner.pem" ps
# runner holds exec, but enclave.debug is false and policy.exec is not set.
refused "refused by the enclave: policy forbids exec,files in a non-debug enclave" \
	"policy forbids exec,files" \
	"$CELLA" --enclave vsock://16:53000 --root "$T/ca/root.pem" \
	--key "$T/runner.pem" ps
refused "PCR mismatch" "the client refused: PCR mismatch" \
	host --key "$T/alice.pem" --pcr "0=$PCR1" ps
refused "invalid document: root: cabundle[0] is not the pinned root" \
	"the client refused: invalid document: root" \
	"$CELLA" --enclave vsock://16 --key "$T/alice.pem" ps

# A relay on the host that terminates TLS and forwards the nonce with an
# admitted key of its own gets a genuine, fresh document: for its session.
start mitm "$MITM" relay vsock://16:7001 vsock://16:9001 "$T/ops.pem" \
	--save "$T/seen.cose"
refused "exporter mismatch: the document was made for another TLS session" \
	"the client refused: exporter mismatch" \
	"$CELLA" --enclave vsock://16:7001 --root "$T/ca/root.pem" \
	--key "$T/alice.pem" ps
[ -s "$T/seen.cose" ] || fail "the relay saw no document"
stop mitm

start tamper "$MITM" tamper vsock://16:7002 vsock://16:9001 "$T/ops.pem" 200
refused "invalid document" "" \
	"$CELLA" --enclave vsock://16:7002 --root "$T/ca/root.pem" \
	--key "$T/alice.pem" ps
stop tamper

start replay "$MITM" replay vsock://16:7003 "$T/seen.cose"
refused "nonce mismatch" "" \
	"$CELLA" --enclave vsock://16:7003 --root "$T/ca/root.pem" \
	--key "$T/alice.pem" ps
stop replay

# Nothing refused ever reached a service.
! grep -q "evt=bridge_open" "$T/init.log" || fail "a refused operator got through"
