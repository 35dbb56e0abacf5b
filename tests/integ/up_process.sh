#!/usr/bin/env bash
# cella up --backend process: the same processes without namespaces, for
# hosts that refuse them. Labelled as giving no isolation (summary and
# logs); ingress, exec, cp, attest and down work as with the local backend,
# and its sockets live in the state directory, not in /run/cella.
. "$CELLA_SOURCE_ROOT/tests/integ/up_lib.sh"

# The hello service shares the host's network here: a free port inside too.
up_app proc 16 "$(free_port)" "$(free_port)"
# 0.0.0.0 in cella.yaml is the enclave's own network; here that is the
# host's, so ra-web must listen on the loopback address (the file's port).
RA_PORT=$(free_port)
sed -i "s|^  provider: auto\$|&\n  https: {listen: \"tcp://0.0.0.0:$RA_PORT\"}|" "$T/proc/cella.yaml"
ST=$U/state/proc
expect_exit 0 in_app proc cella up -d --backend process
ss -Hltn "sport = :$RA_PORT" >"$T/ra.listen"
expect_contains "$T/ra.listen" "127.0.0.1:$RA_PORT"
[ "$(wc -l <"$T/ra.listen")" -eq 1 ] || fail "ra-web listens beyond loopback: $(cat "$T/ra.listen")"
expect_contains "$T/last.err" "backend process: NO ISOLATION"
expect_contains "$T/last.out" "backend process: NO ISOLATION"
expect_contains "$ST/console.log" "isolation=none"
[ -S "$ST/run/init.sock" ] || fail "the enclave's control socket is not in the state directory"
grep -q "control: ipc://$ST/run/init.sock" "$ST/enclave/cella.yaml" ||
	fail "the effective config does not move the sockets"

body=$(curl -sf "http://127.0.0.1:$PORT_proc/") || fail "curl through the ingress"
case "$body" in "hello from $(hostname) (request "*) ;; *) fail "hello said '$body' (expected the host's name)" ;; esac
expect_exit 0 cella --enclave proc exec -- sh -c 'echo $CELLA_VSOCK_CID'
expect_eq "$(cat "$T/last.out")" "16" "the enclave's CID"
echo "copied" >"$T/f"
expect_exit 0 cella --enclave proc cp "$T/f" ":$T/proc/copied"
cmp -s "$T/f" "$T/proc/copied" || fail "cp into the process enclave"
expect_exit 0 cella --enclave proc attest
expect_contains "$T/last.out" "PCRs as pinned"
expect_exit 0 cella ls --json
expect_contains "$T/last.out" '"backend":	"process"'
up_down proc
echo "ok"
