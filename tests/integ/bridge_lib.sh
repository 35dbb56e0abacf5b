# bridge_lib.sh: an enclave as the bridge tests need it, without namespaces:
# cella-init (not PID 1: a subreaper) running, from one cella.yaml, the sim
# attestation authority (cella-ra-web), the attested bridge (cella-pf-proxy)
# and a test service, over emulated vsock (this is CID 16). The host side
# is the cella CLI with operator keys made by `cella keygen`.
#
#   bridge_setup [EXTRA_YAML]   CA, keys (alice: services+logs, ops: logs,
#                               runner: exec+files, eve: not listed), config
#                               ($BRIDGE_KEYS: more lines of its bridge:
#                               section, indented by two spaces)
#   bridge_start                start init and wait until it is ready
#   host ARGS...                the cella CLI with the sim root pinned
. "$CELLA_SOURCE_ROOT/tests/integ/lib.sh"

export CELLA_VSOCK_DIR=$T/vsock CELLA_VSOCK_CID=16
mkdir -p "$CELLA_VSOCK_DIR"
if [ -n "${CELLA_BIN_DIR:-}" ]; then
	# A staged install (tests/integ/install.sh): nothing from the build.
	export PATH="$CELLA_BIN_DIR:$PATH"
	CELLA=$CELLA_BIN_DIR/cella
else
	export PATH="$B/services/ra-web:$B/services/pf-proxy:$B/services/pipeline:$B/services/init:$PATH"
	CELLA=$B/services/cella/cella
fi
MITM=$B/tests/tools/atlsmitm
PCR0=$(printf 'a0%.0s' $(seq 48))
PCR1=$(printf 'a1%.0s' $(seq 48))
PCR2=$(printf 'a2%.0s' $(seq 48))

keyline() { # name -> the public_key value for cella.yaml
	"$CELLA" keygen --out "$T/$1.pem" --name "$1" | sed -n 's/.*public_key: "\(.*\)"/\1/p'
}

bridge_setup() {
	local alice ops runner
	"$CELLA" sim-ca init --dir "$T/ca" >/dev/null || fail "sim-ca init"
	"$CELLA" sim-ca issue --dir "$T/ca" --out "$T/enclave" >/dev/null ||
		fail "sim-ca issue"
	printf '{"pcrs": {"0": "%s", "1": "%s", "2": "%s"}}\n' \
		"$PCR0" "$PCR1" "$PCR2" >"$T/measurements.json"
	alice=$(keyline alice)
	ops=$(keyline ops)
	runner=$(keyline runner)
	keyline eve >/dev/null
	cat >"$T/cella.yaml" <<EOF
name: bridgetest
enclave:
  debug: false
init:
  mounts: false
  loopback: false
  entropy: false
  heartbeat: false
  poweroff: false
  cgroup: ""
  control: ipc://$T/init.sock
attestation:
  provider: sim
  sim:
    ca: $T/enclave
    measurements: $T/measurements.json
  https:
    listen: tcp://127.0.0.1:0
  internal:
    listen: ipc://$T/ra.sock
operators:
  - {name: alice, public_key: "$alice", roles: [services, logs]}
  - {name: ops, public_key: "$ops", roles: [logs]}
  - {name: runner, public_key: "$runner", roles: [exec, files]}
bridge:
${BRIDGE_KEYS:-}
  rules:
    - {listen: "vsock://any:9001", target: "ipc://$T/init.sock", roles: [services, logs]}
    - {listen: "vsock://any:53000", target: "ipc://$T/none.sock", roles: [exec, files]}
services:
  worker:
    command: [sleep, "1000"]
${1:-}
EOF
}

bridge_start() {
	start init cella-init --config "$T/cella.yaml"
}

host() {
	"$CELLA" --enclave vsock://16 --root "$T/ca/root.pem" "$@"
}
