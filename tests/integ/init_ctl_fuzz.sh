#!/bin/bash
# The control API survives fuzzed messages: thousands of random mutations
# of valid requests (the init_control fuzz corpus, shutdown left out) go to
# the real socket; every one is answered, cella-init keeps supervising, and
# then shuts down cleanly with no sanitizer report.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/init_lib.sh"

init_config <<EOF
services:
  a:
    command: [$SVCTOOL, --print, hello, --ready-fd, "3"]
    ready: {fd: 3}
    backoff_min_ms: 10
  b:
    command: [$SVCTOOL]
    depends_on: [a]
    backoff_min_ms: 10
EOF
init_start

seeds=$(ls "$S/tests/fuzz/corpus/init_control/"* | grep -v /shutdown)
# shellcheck disable=SC2086
# A mutation may legitimately wait (start with wait, follow): ctlsend
# gives each 500 ms, then counts it as parked and goes on.
expect_exit 0 "$B/tests/tools/ctlsend" "$CELLA_CONTROL" --timeout 500 \
	--fuzz 3000 --seed 7 --skip-type 0x010e $seeds
replies=$(grep -vc "^no-reply" "$T/last.out")
[ "$replies" -ge 2000 ] || fail "only $replies replies to the fuzzed messages"
grep -q "^error=EBADMSG" "$T/last.out" || fail "no malformed message was refused"
grep -q "^type=0x" "$T/last.out" || fail "no mutated message was served"

# Still alive, still supervising, still answering properly.
expect_exit 0 ctl ps
expect_contains "$T/last.out" "SERVICE"
ctl start a >/dev/null 2>&1
wait_for 10 state_is a ready
expect_exit 0 ctl events
expect_contains "$T/last.out" "chain=verified"
init_stop
