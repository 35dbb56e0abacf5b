#!/usr/bin/env bash
# cella up end to end, local backend: up -d, every service ready, the hello
# service through its ingress port, exec and cp into the enclave (and its
# isolation seen from inside), attest + an independent verify with the PCRs
# recomputed by sha384sum, restart one service (its pid changes, the
# others' do not), kill -9 one and see it restarted, down leaving nothing.
. "$CELLA_SOURCE_ROOT/tests/integ/up_lib.sh"
up_probe_ns

up_app web 16
ST=$U/state/web

expect_exit 0 in_app web cella up -d
expect_contains "$T/last.out" "enclave web is up"
expect_contains "$T/last.out" "ingress        tcp://127.0.0.1:$PORT_web -> port 8000"

# ps through the attested bridge, by default the enclave of ./cella.yaml.
in_app web cella ps --json >"$T/ps.json" || fail "cella ps"
python3 - "$T/ps.json" <<'EOF' || fail "not every service is ready"
import json, sys
svcs = {s["service"]: s for s in json.load(open(sys.argv[1]))}
want = {"hello", "greeter", "ports", "ra-web", "pipeline", "bridge"}
assert set(svcs) == want, sorted(svcs)
bad = [n for n, s in svcs.items() if s["state"] != "ready"]
assert not bad, bad
EOF
expect_exit 0 cella ls --json
python3 -c "import json,sys
e = json.load(open(sys.argv[1]))
assert [x['name'] for x in e] == ['web'] and e[0]['status'] == 'running', e" \
	"$T/last.out" || fail "cella ls does not show web running"

# The hello service through the ingress port.
body=$(curl -sf "http://127.0.0.1:$PORT_web/") || fail "curl through the ingress"
case "$body" in "hello from web (request "*) ;; *) fail "hello said '$body'" ;; esac

# exec: PID 1 is cella-init; the host's root is read-only; the host-side
# state, the simulation root and the operator key are not visible.
expect_exit 0 cella --enclave web exec -- sh -c 'tr "\0" " " </proc/1/cmdline'
expect_contains "$T/last.out" "cella-init --config $ST/enclave/cella.yaml"
expect_exit 0 cella --enclave web exec -- hostname
expect_eq "$(cat "$T/last.out")" "web" "hostname in the enclave"
expect_exit 1 cella --enclave web exec -- touch /usr/cella-up-test
expect_contains "$T/last.err" "Read-only file system"
expect_exit 0 cella --enclave web exec -- sh -c "ls -A $ST; ls -A $HOME/.local/share/cella/sim-ca | wc -l; cat $HOME/.config/cella/operator.pem | wc -c"
expect_eq "$(tr '\n' ' ' <"$T/last.out")" "enclave vsock 0 0 " "what the enclave sees of the host's state"
expect_exit 0 cella --enclave web exec -- sh -c 'ls /sys/class/net'
expect_eq "$(cat "$T/last.out")" "lo" "network interfaces in the enclave"
expect_exit 32 cella --enclave web exec -- mount -o remount,rw /

# cp in (the enclave's private /tmp), seen by hello; and back out.
echo "a message for the enclave" >"$T/msg"
expect_exit 0 cella --enclave web cp "$T/msg" :/tmp/hello-message
body=$(curl -sf "http://127.0.0.1:$PORT_web/")
expect_eq "${body#*: }" "a message for the enclave" "hello's answer after cp"
expect_exit 0 cella --enclave web cp :/tmp/hello-message "$T/back"
cmp -s "$T/msg" "$T/back" || fail "cp out differs from what went in"
[ ! -e /tmp/hello-message ] || fail "the enclave's /tmp is the host's"

# attest with our nonce, then verify the saved document independently,
# with PCRs predicted from the manifests by coreutils.
NONCE=$(printf '5a%.0s' $(seq 32))
expect_exit 0 cella attest --enclave web --nonce "$NONCE" -o "$T/doc.cbor" --json
cp "$T/last.out" "$T/attest.json"
jf() { python3 -c "import json,sys; print(json.load(open(sys.argv[1]))$1)" "$T/attest.json"; }
P0=$(sha384sum <"$ST/enclave/pcr0.manifest" | cut -d' ' -f1)
P1=$(sha384sum <"$ST/enclave/pcr1.manifest" | cut -d' ' -f1)
P2=$(sha384sum <"$ST/enclave/cella.yaml" | cut -d' ' -f1)
P0b=$(sha384sum $(cut -c99- "$ST/enclave/pcr0.manifest") | LC_ALL=C sort -u -k2 | sha384sum | cut -d' ' -f1)
expect_eq "$P0b" "$P0" "PCR0 from the binaries themselves"
grep -qF "$B/services/init/cella-init" "$ST/enclave/pcr0.manifest" || fail "cella-init not in PCR0"
grep -qF "$B/deploy/examples/hello/cella-hello" "$ST/enclave/pcr1.manifest" || fail "cella-hello not in PCR1"
expect_eq "$(jf "['pcrs']['0']")" "$P0" "attested PCR0"
expect_eq "$(jf "['pcrs']['1']")" "$P1" "attested PCR1"
expect_eq "$(jf "['pcrs']['2']")" "$P2" "attested PCR2"
expect_eq "$(jf "['nonce']")" "$NONCE" "attested nonce"
expect_exit 0 cella verify --root "$HOME/.local/share/cella/sim-ca/root.pem" \
	--nonce "$NONCE" --pcr "0=$P0" --pcr "1=$P1" --pcr "2=$P2" "$T/doc.cbor"
# A pin that does not match is refused by attest itself.
expect_exit 77 cella attest --enclave web --pcr "2=$P0"
expect_contains "$T/last.err" "PCR mismatch"

# restart one service: its pid changes, the others' do not.
HELLO=$(svc_json web hello pid)
GREETER=$(svc_json web greeter pid)
expect_exit 0 in_app web cella restart greeter
[ "$(svc_json web greeter pid)" != "$GREETER" ] || fail "greeter's pid did not change"
expect_eq "$(svc_json web hello pid)" "$HELLO" "hello's pid after restarting greeter"
expect_eq "$(svc_json web bridge restarts)" "0" "bridge restarts"

# kill -9: init restarts it.
expect_exit 0 cella --enclave web exec -- kill -9 "$HELLO"
hello_back() { [ "$(svc_json web hello state)" = ready ] && [ "$(svc_json web hello pid)" != "$HELLO" ]; }
wait_for 15 hello_back
expect_eq "$(svc_json web hello restarts)" "1" "hello's restarts after kill -9"
wait_for 10 curl -sf "http://127.0.0.1:$PORT_web/"

up_down web
expect_exit 0 cella ls --json
expect_eq "$(tr -d ' \n' <"$T/last.out")" "[]" "cella ls after down"
echo "ok"
