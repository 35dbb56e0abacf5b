#!/usr/bin/env bash
# The host-side console.log of `cella up` stays bounded (issue 10, item
# 4): a service prints about 14 MB of console lines; console.log and
# console.log.1 each stay under enclave.console_bytes (default 4 MiB), no
# third file appears, the oldest lines are gone and the newest are kept,
# and `cella down` still leaves nothing (console_test covers a follower
# and the error-report tail across a rotation). A bad console_bytes is
# refused by name.
. "$CELLA_SOURCE_ROOT/tests/integ/up_lib.sh"
up_probe_ns

CAP=$((4 << 20))
SLACK=65536
PAD=$(printf 'x%.0s' $(seq 80))
mkdir -p "$T/con"
UP_NAMES+=(con)
cat >"$T/con/cella.yaml" <<EOF
name: con
services:
  chatty:
    command: [sh, -c, "seq -f 'chatty line %06g $PAD' 1 40000; echo LAST-LINE; exec sleep 1000"]
EOF
ST=$U/state/con

expect_exit 0 in_app con cella up -d
wait_for 120 grep -q LAST-LINE "$ST/console.log"
size() { stat -c %s "$1"; }
ls -l "$ST"/console.log*
[ "$(size "$ST/console.log")" -le $((CAP + SLACK)) ] ||
	fail "console.log is $(size "$ST/console.log") bytes, over $CAP"
[ -f "$ST/console.log.1" ] || fail "no console.log.1: nothing was rotated"
[ "$(size "$ST/console.log.1")" -le $((CAP + SLACK)) ] ||
	fail "console.log.1 is $(size "$ST/console.log.1") bytes, over $CAP"
[ ! -e "$ST/console.log.2" ] || fail "a third generation appeared"
! grep -q "chatty line 000001 " "$ST/console.log" "$ST/console.log.1" ||
	fail "the oldest line was kept"
grep -q "chatty line 040000 " "$ST/console.log" "$ST/console.log.1" ||
	fail "the newest numbered line is gone"
up_down con

# A bad value names the key; nothing starts.
sed -i 's/^name: con$/name: con\nenclave: {console_bytes: 100}/' "$T/con/cella.yaml"
expect_exit 78 in_app con cella up -d
expect_contains "$T/last.err" "enclave.console_bytes"
[ ! -e "$ST" ] || fail "a refused up left state"
echo "ok"
