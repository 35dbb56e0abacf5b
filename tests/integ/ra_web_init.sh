# ra_web_init: an attestation: section in cella.yaml makes cella-init run
# cella-ra-web as the built-in service ra-web, with the file init loaded
# and its readiness fd: it becomes ready, serves HTTPS and the internal
# API, and stops with exit 0 when init stops it.
. "$CELLA_SOURCE_ROOT/tests/integ/ra_lib.sh"
. "$CELLA_SOURCE_ROOT/tests/integ/init_lib.sh"

port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
init_config <<EOF
attestation:
  provider: sim
  sim: {ca: '$T/enc', measurements: '$T/meas.json'}
  https: {listen: 'tcp://127.0.0.1:$port'}
  internal: {listen: 'ipc://$T/ra.sock'}
EOF
export PATH="$B/services/ra-web:$PATH"
init_start
wait_for 20 state_is ra-web ready
URL=https://127.0.0.1:$port
expect_eq "$(ra_get /healthz)" 200 "ra-web under init"
nonce=$(head -c 32 /dev/urandom | od -An -v -tx1 | tr -d ' \n')
expect_eq "$(ra_get "/v1/attestation?nonce=$nonce")" 200 "attestation"
verify_doc "$T/body" "$nonce"
"$RATOOL" "ipc://$T/ra.sock" describe >"$T/desc" || fail "internal API"
expect_contains "$T/desc" "provider=sim"

ctl stop ra-web >/dev/null || fail "cella stop ra-web"
wait_for 20 state_is ra-web stopped
expect_eq "$(svc_field ra-web last_exit)" "exit 0" "ra-web's exit"
ctl logs ra-web >"$T/ra-web.out" 2>&1 || fail "cella logs ra-web"
expect_contains "$T/ra-web.out" "evt=drained"
init_stop
echo "ra_web_init: ok"
