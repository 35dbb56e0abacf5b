#!/bin/bash
# Captured output: a service prints 10 MB (lines of every length, one far
# over the 16 KiB line limit, binary bytes with NUL, writes that split lines
# anywhere, a last line without a newline); `cella logs` gives back exactly
# those bytes. -n N gives the last N lines; -f follows new output.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/init_lib.sh"

BIG=$B/tests/tools/bigprint
SIZE=10485760
init_config <<EOF
services:
  big:
    command: [$BIG, "$SIZE"]
    restart: "no"
    log_bytes: 16777216
  talk:
    command: [sh, -c, "for i in 1 2 3 4 5; do echo line \$i; done; echo err >&2; exec sleep 1000"]
EOF
init_start
"$BIG" "$SIZE" --expect "$T/expected"

wait_for 30 state_is big stopped
expect_eq "$(svc_field big last_exit)" "exit 0" "bigprint's exit"
# Output is read until EOF, which may come just after the exit.
wait_for 10 sh -c "$CELLA logs big | cmp -s - $T/expected"
ctl logs big >"$T/got" || fail "cella logs big failed"
cmp "$T/got" "$T/expected" || fail "captured output differs from what was printed"

wait_for 5 sh -c "$CELLA logs talk | grep -q err"
expect_exit 0 ctl logs -n 2 talk
expect_eq "$(tr '\n' ' ' <"$T/last.out")" "line 5 err " "the last two lines"
expect_exit 0 ctl logs talk
expect_eq "$(wc -l <"$T/last.out")" 6 "lines of talk"

# Follow: lines written after the follower started arrive. -n 1 prints
# the last line kept (err) first: once it is there, the follower's cursor
# is past every earlier line, so the restart's lines can only come by
# following.
ctl logs -f -n 1 talk >"$T/follow" 2>&1 &
fpid=$!
wait_for 10 grep -qx err "$T/follow"
expect_exit 0 ctl restart talk
printf '%s\n' err "line 1" "line 2" "line 3" "line 4" "line 5" err \
	>"$T/follow.want"
wait_for 10 cmp -s "$T/follow" "$T/follow.want"
kill "$fpid"
wait "$fpid" 2>/dev/null

expect_exit 1 ctl logs nosuch
expect_contains "$T/last.err" "no such service: nosuch"
init_stop
