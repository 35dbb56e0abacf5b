# The attested bridge, working: an operator reaches cella-init's control
# API from the host over emulated vsock, TLS 1.3 and the attestation
# exchange, with the simulation root and the enclave's PCRs pinned; roles
# decide what each request may do; the event log read through the bridge
# verifies, and the head the document carried is the log's head.
. "$CELLA_SOURCE_ROOT/tests/integ/bridge_lib.sh"

bridge_setup
bridge_start

pins=(--pcr "0=$PCR0" --pcr "1=$PCR1" --pcr "2=$PCR2")
expect_exit 0 host --key "$T/alice.pem" "${pins[@]}" ps
expect_contains "$T/last.out" "worker"
expect_contains "$T/last.out" "ra-web"
expect_contains "$T/last.out" "bridge"
# The same with the options after the verb.
expect_exit 0 "$CELLA" ps --enclave vsock://16:9001 --root "$T/ca/root.pem" \
	--key "$T/alice.pem" "${pins[@]}" --json
expect_contains "$T/last.out" '"service":	"worker"'

# services role: restart goes through; logs role alone: refused by init.
old=$(host --key "$T/alice.pem" ps --json | grep -A8 '"worker"' | sed -n 's/.*"pid":\t*\([0-9]*\),/\1/p')
expect_exit 0 host --key "$T/alice.pem" restart worker
new=$(host --key "$T/alice.pem" ps --json | grep -A8 '"worker"' | sed -n 's/.*"pid":\t*\([0-9]*\),/\1/p')
[ -n "$old" ] && [ -n "$new" ] && [ "$old" != "$new" ] ||
	fail "restart through the bridge: pid $old -> $new"
expect_exit 0 host --key "$T/ops.pem" logs worker
# A role the operator lacks is a refusal: 77, as in every verb.
expect_exit 77 host --key "$T/ops.pem" restart worker
expect_contains "$T/last.err" "operator 'ops' lacks the role services"
wait_contains "$T/init.log" "evt=ctl_denied"

# The event log through the bridge: its chain verifies (cella events
# recomputes it and fails otherwise).
expect_exit 0 host --key "$T/alice.pem" events --json
expect_contains "$T/last.out" '"head"'

wait_contains "$T/init.log" "evt=bridge_open"
wait_contains "$T/init.log" "operator=alice roles=services,logs"
