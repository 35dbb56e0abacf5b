# A debug-mode enclave (no measurements: PCR0..2 zero) is refused unless
# the operator allows it; enclave.debug lifts the exec/files policy.
. "$CELLA_SOURCE_ROOT/tests/integ/bridge_lib.sh"

bridge_setup
sed -i 's/^  debug: false/  debug: true/; /measurements:/d' "$T/cella.yaml"
bridge_start
expect_exit 77 host --key "$T/alice.pem" ps
expect_contains "$T/last.err" "refused: debug document (allow it with --allow-debug)"
expect_exit 0 host --key "$T/alice.pem" --allow-debug ps
expect_contains "$T/last.out" "worker"
# In debug mode the policy no longer forbids exec: runner is admitted to
# the exec port (the bridge then finds no service there in this test).
expect_exit 69 "$CELLA" --enclave vsock://16:53000 --root "$T/ca/root.pem" \
	--key "$T/runner.pem" --allow-debug ps
expect_contains "$T/last.err" "the enclave cannot serve this: service ipc://$T/none.sock is not reachable"
wait_contains "$T/init.log" "none.sock is not reachable"
