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

# The document carries init's event log head and length in user_data, and
# they are the log's: the head after that many events, as `cella events`
# lists them.
ud=$(json "$T/verified" 'j["user_data"]')
ctl events --json >"$T/events.json" || fail "cella events"
python3 - "$ud" "$T/events.json" <<'PYEOF' || fail "user_data is not the event log's head"
import hashlib, json, sys
ud = bytes.fromhex(sys.argv[1])
# CBOR map(2): "evlog_head" bstr(48), "evlog_len" uint
assert ud[0] == 0xa2, ud[:4]
i = ud.index(b"evlog_head") + len(b"evlog_head")
assert ud[i] == 0x58 and ud[i + 1] == 48, ud[i:i + 2]
head = ud[i + 2:i + 2 + 48].hex()
j = ud.index(b"evlog_len") + len(b"evlog_len")
b = ud[j]
n = b if b < 24 else int.from_bytes(ud[j + 1:j + 1 + (1 << (b - 24))], "big")
events = json.load(open(sys.argv[2]))["events"]
assert 0 < n <= len(events), (n, len(events))
h = bytes(48)
for e in events[:n]:
    h = hashlib.sha384(h + bytes.fromhex(e["hash"])).digest()
assert h.hex() == head, (h.hex(), head)
print("evlog head of", n, "events matches")
PYEOF
expect_eq "$(ra_get "/v1/attestation?nonce=$nonce" -H 'Accept: application/json')" 200 "JSON"
expect_eq "$(json "$T/body" 'len(j["evlog_head"])')" 96 "evlog_head in the JSON answer"
"$RATOOL" "ipc://$T/ra.sock" describe >"$T/desc" || fail "internal API"
expect_contains "$T/desc" "provider=sim"

ctl stop ra-web >/dev/null || fail "cella stop ra-web"
wait_for 20 state_is ra-web stopped
expect_eq "$(svc_field ra-web last_exit)" "exit 0" "ra-web's exit"
ctl logs ra-web >"$T/ra-web.out" 2>&1 || fail "cella logs ra-web"
expect_contains "$T/ra-web.out" "evt=drained"
init_stop
echo "ra_web_init: ok"
