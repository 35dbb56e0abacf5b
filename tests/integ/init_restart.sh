#!/bin/bash
# Restart policy: a service killed with SIGKILL comes back after its
# backoff; one that keeps crashing ends `failed` (no tight loop); exit 78
# and exit 64 are permanent at once; `start` gives a failed service another
# chance; bad requests are clear errors with exit 1.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/init_lib.sh"

init_config <<EOF
services:
  victim:
    command: [$SVCTOOL, --ready-fd, "3"]
    ready: {fd: 3}
    restart: always
    backoff_min_ms: 300
  crasher:
    command: [$SVCTOOL, --exit, "1", --exit-ms, "20"]
    backoff_min_ms: 20
    backoff_max_ms: 100
    crash_max: 4
  config_error:
    command: [$SVCTOOL, --exit, "78"]
    restart: always
    ready: {fd: 3}
  usage_error:
    command: [$SVCTOOL, --exit, "64"]
    restart: always
EOF
init_start

# kill -9 -> backoff (300 ms) -> a new instance, ready.
old=$(svc_pid victim)
kill -KILL "$(host_pid "$old")" || fail "cannot find victim's pid outside"
wait_for 5 state_is victim ready
restarted_once() { test "$(svc_field victim restarts)" = 1; }
wait_for 5 restarted_once
[ "$(svc_pid victim)" != "$old" ] || fail "victim has its old pid"
expect_eq "$(svc_field victim last_exit)" "signal 9 (KILL)" "victim last exit"
gap=$(log_gap_ms "svc_exit service=victim" "svc_start service=victim") ||
	fail "no restart of victim in the log"
[ "$gap" -ge 290 ] || fail "victim restarted after ${gap} ms, before its 300 ms backoff"

# The crash loop: 4 failures within the window -> failed, then quiet.
wait_for 10 state_is crasher failed
expect_eq "$(svc_field crasher restarts)" 3 "crasher restarts"
expect_contains "$T/init.log" "service=crasher from=ready to=failed why=\"crash loop: 4 exits"
# Quiet: no start for three times the longest backoff it could wait.
starts=$(grep -c "svc_start service=crasher" "$T/init.log")
crasher_starts_are() { [ "$(grep -c "svc_start service=crasher" "$T/init.log")" = "$1" ]; }
holds $((3 * 100)) crasher_starts_are "$starts"

# Permanent failures: no restart at all.
wait_for 5 state_is config_error failed
wait_for 5 state_is usage_error failed
expect_eq "$(svc_field config_error restarts)" 0 "restarts after exit 78"
expect_eq "$(svc_field usage_error restarts)" 0 "restarts after exit 64"
expect_eq "$(svc_field config_error last_exit)" "exit 78" "last exit"
expect_eq "$(grep -c "svc_start service=config_error" "$T/init.log")" 1 \
	"instances of config_error"

# A start by hand is another chance; its failure is the command's answer.
expect_exit 1 ctl start config_error
expect_contains "$T/last.err" "config_error is failed: exit 78 is a permanent failure"
expect_eq "$(grep -c "svc_start service=config_error" "$T/init.log")" 2 \
	"instances of config_error after start"

expect_exit 1 ctl stop nosuch
expect_contains "$T/last.err" "no such service: nosuch"
expect_exit 1 ctl start victim
expect_contains "$T/last.err" "victim is already ready"
expect_exit 0 ctl stop victim
expect_exit 1 ctl stop victim
expect_contains "$T/last.err" "victim is already stopped"
expect_exit 64 ctl stop
expect_exit 0 ctl ps
expect_contains "$T/last.out" "crasher"

init_stop
