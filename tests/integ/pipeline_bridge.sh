#!/bin/bash
# cella exec and cella cp from the host through the attested bridge
# (emulated vsock, sim attestation, real TLS), cella-pipeline started by
# cella-init from the same cella.yaml: exit codes, a stdin round trip, a
# file in and out with equal hashes, the operator's name in the event
# log, an operator without the exec role refused (77), and a killed
# client's command killed across the bridge.
. "$CELLA_SOURCE_ROOT/tests/integ/bridge_lib.sh"
command -v python3 >/dev/null || skip "python3 is needed to read JSON"

R=$T/root
mkdir -p "$R"
bridge_setup "policy: {exec: true, files: true}
pipeline:
  listen: ipc://$T/none.sock
  roots: [$R]"
bridge_start
wait_for 5 test -S "$T/none.sock"
export CELLA_CONTROL=ipc://$T/init.sock
run() { host --key "$T/runner.pem" "$@"; }

expect_exit 0 run exec -- true
expect_exit 3 run exec -- sh -c 'exit 3'
expect_exit 137 run exec -- sh -c 'kill -KILL $$'
head -c 5000000 /dev/urandom >"$T/in.bin"
want=$(sha256sum <"$T/in.bin" | cut -d' ' -f1)
got=$(run exec -i -- cat <"$T/in.bin" | sha256sum | cut -d' ' -f1)
expect_eq "$got" "$want" "stdin round trip through the bridge"

head -c 3000000 /dev/urandom >"$T/f.bin"
want=$(sha256sum <"$T/f.bin" | cut -d' ' -f1)
expect_exit 0 run cp -q --json "$T/f.bin" ":$R/f.bin"
expect_eq "$(sha256sum <"$R/f.bin" | cut -d' ' -f1)" "$want" "file in"
expect_exit 0 run cp -q --json ":$R/f.bin" "$T/back.bin"
expect_eq "$(sha256sum <"$T/back.bin" | cut -d' ' -f1)" "$want" "file out"

expect_exit 77 host --key "$T/alice.pem" exec -- true
expect_exit 77 host --key "$T/alice.pem" cp "$T/f.bin" ":$R/g.bin"
[ ! -e "$R/g.bin" ] || fail "an operator without the files role wrote"

"$B/services/cella/cella" events --json | python3 -c '
import json, sys
ev = [e for e in json.load(sys.stdin)["events"] if e["source"] == "pipeline"]
ops = {e["data"]["operator"] for e in ev}
sys.exit(0 if ops == {"runner"} and len(ev) >= 5 else 1)' ||
	fail "the event log does not name the operator runner for each event"

"$CELLA" --enclave vsock://16 --root "$T/ca/root.pem" --key "$T/runner.pem" \
	exec -- sh -c 'sleep 300 & echo $!; wait' >"$T/bg.out" 2>&1 &
cli=$!
wait_for 10 test -s "$T/bg.out"
bg=$(head -1 "$T/bg.out")
[ -n "$bg" ] && kill -0 "$bg" 2>/dev/null || fail "no background sleep ($bg)"
kill -KILL $cli
wait $cli 2>/dev/null
try_for 5 gone "$bg" || fail "sleep $bg survived its client across the bridge"
exit 0
