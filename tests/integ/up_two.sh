#!/usr/bin/env bash
# Two enclaves from two files side by side (different names, CIDs and host
# ports, the same port inside each): both answer, each is its own (host
# name, PID 1, measured config), ls shows both, a third file wanting a CID
# in use is refused, and stopping one leaves the other running.
. "$CELLA_SOURCE_ROOT/tests/integ/up_lib.sh"
up_probe_ns

up_app alpha 16
up_app beta 17
expect_exit 0 in_app alpha cella up -d
expect_exit 0 in_app beta cella up -d

a=$(curl -sf "http://127.0.0.1:$PORT_alpha/") || fail "alpha does not answer"
b=$(curl -sf "http://127.0.0.1:$PORT_beta/") || fail "beta does not answer"
case "$a" in "hello from alpha "*) ;; *) fail "alpha said '$a'" ;; esac
case "$b" in "hello from beta "*) ;; *) fail "beta said '$b'" ;; esac

expect_exit 0 in_app alpha cella exec -- hostname
expect_eq "$(cat "$T/last.out")" "alpha" "alpha's host name (default enclave of ./cella.yaml)"
expect_exit 0 in_app beta cella exec -- hostname
expect_eq "$(cat "$T/last.out")" "beta" "beta's host name"
# Different configurations, different PCR2; the same binaries, same PCR0.
expect_exit 0 cella attest --enclave alpha --json
cp "$T/last.out" "$T/a.json"
expect_exit 0 cella attest --enclave beta --json
pcr() { python3 -c "import json,sys; print(json.load(open(sys.argv[1]))['pcrs'][sys.argv[2]])" "$1" "$2"; }
expect_eq "$(pcr "$T/a.json" 0)" "$(pcr "$T/last.out" 0)" "PCR0 of two enclaves of the same binaries"
[ "$(pcr "$T/a.json" 2)" != "$(pcr "$T/last.out" 2)" ] || fail "two configurations, one PCR2"
# alpha's pins do not open beta.
P2=$(pcr "$T/a.json" 2)
expect_exit 77 cella attest --enclave beta --pcr "2=$P2"

expect_exit 0 cella ls
expect_contains "$T/last.out" "alpha                local    16     running"
expect_contains "$T/last.out" "beta                 local    17     running"

mkdir -p "$T/gamma"
UP_NAMES+=(gamma)
printf 'name: gamma\nenclave: {cid: 17}\n' >"$T/gamma/cella.yaml"
expect_exit 69 in_app gamma cella up -d
expect_contains "$T/last.err" "enclave.cid 17 is taken by enclave 'beta'"

up_down alpha
b=$(curl -sf "http://127.0.0.1:$PORT_beta/") || fail "beta stopped with alpha"
expect_exit 0 in_app beta cella ps
up_down beta
echo "ok"
