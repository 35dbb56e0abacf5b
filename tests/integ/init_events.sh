#!/bin/bash
# The measured event log: init records the config (its SHA-384), each start
# (path, SHA-384 of the executable, argv), each stop and exit; services
# append their own events through the control API. An independent
# recomputation (Python's hashlib, from the exact event bytes) must give
# the head and length init reports, and `cella events` verifies it too.
# Then a shutdown request through the API ends it cleanly.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/init_lib.sh"

init_config <<EOF
services:
  a:
    command: [$SVCTOOL, --ready-fd, "3"]
    ready: {fd: 3}
  b:
    command: [$SVCTOOL]
    depends_on: [a]
EOF
init_start

# A service appends an event (the envelope is a fuzz seed, see its corpus).
expect_exit 0 "$B/tests/tools/ctlsend" "$CELLA_CONTROL" \
	"$S/tests/fuzz/corpus/init_control/append"
expect_eq "$(cat "$T/last.out")" "type=0x010d" "append reply"
expect_exit 0 "$B/tests/tools/ctlsend" "$CELLA_CONTROL" \
	"$S/tests/fuzz/corpus/init_control/append_bad_type"
expect_contains "$T/last.out" "error=EINVAL event refused"
expect_exit 0 ctl restart b

expect_exit 0 ctl events
expect_contains "$T/last.out" "chain=verified"
expect_exit 0 ctl events --json
cp "$T/last.out" "$T/events.json"
python3 - "$T/events.json" "$T/init.yaml" "$SVCTOOL" <<'PYEOF' || fail "independent recomputation failed"
import hashlib, json, sys
doc = json.load(open(sys.argv[1]))
head = bytes(48)
for i, e in enumerate(doc["events"]):
    raw = bytes.fromhex(e["cbor"])
    h = hashlib.sha384(raw).digest()
    assert e["hash"] == h.hex(), ("hash", i)
    head = hashlib.sha384(head + h).digest()
    assert e["index"] == i, ("index", i)
assert doc["length"] == len(doc["events"]), "length"
assert doc["head"] == head.hex(), "head"
types = [e["type"] for e in doc["events"]]
assert types[:3] == ["config", "start", "start"], types
cfg = doc["events"][0]["data"]
assert cfg["sha384"] == hashlib.sha384(open(sys.argv[2], "rb").read()).hexdigest(), "config hash"
start = doc["events"][1]["data"]
assert start["service"] == "a" and start["path"] == sys.argv[3], start
assert start["sha384"] == hashlib.sha384(open(sys.argv[3], "rb").read()).hexdigest(), "exe hash"
app = [e for e in doc["events"] if e["source"] == "pipeline"]
assert len(app) == 1 and app[0]["type"] == "command", app
assert app[0]["data"]["nested"] == {"a": [1, {"b": 2}], "z": 1}, app
assert "stop" in types and "exit" in types, types
print("recomputed", doc["length"], "events, head", doc["head"][:16])
PYEOF

# Shutdown through the API: answered, then the same path as SIGTERM.
expect_exit 0 "$B/tests/tools/ctlsend" "$CELLA_CONTROL" \
	"$S/tests/fuzz/corpus/init_control/shutdown"
expect_eq "$(cat "$T/last.out")" "type=0x010f" "shutdown reply"
rc=0
wait "$PID_init" || rc=$?
unset "LIB_PIDS[init]"
INIT_PID=
expect_eq "$rc" 0 "cella-init's exit status after an API shutdown"
expect_contains "$T/init.log" "evt=shutdown reason=api"
expect_contains "$T/init.log" "evt=final_sweep left=0"
