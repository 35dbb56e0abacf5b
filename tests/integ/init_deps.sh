#!/bin/bash
# Dependency order and readiness: B starts only after A is ready (A says so
# on its ready fd after 300 ms); TCP and command readiness checks; a
# service whose dependency failed waits without blocking init's own
# readiness. Runs in its own network namespace with cella-init bringing up
# lo (the loopback boot duty).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/init_lib.sh"

PORT=18080
init_config <<EOF
services:
  a:
    command: [$SVCTOOL, --ready-ms, "300", --ready-fd, "3"]
    ready: {fd: 3}
  b:
    command: [$SVCTOOL, --ready-fd, "3"]
    ready: {fd: 3}
    depends_on: [a]
  web:
    command: [$SVCTOOL, --ready-ms, "200", --listen, "$PORT"]
    ready: {tcp: "tcp://127.0.0.1:$PORT", interval_ms: 10}
  flagged:
    command: [sh, -c, "sleep 0.2; touch $T/flag; exec sleep 1000"]
    ready: {command: [test, -e, $T/flag], interval_ms: 10}
  last:
    command: [$SVCTOOL]
    depends_on: [b, web, flagged]
  broken:
    command: [$SVCTOOL, --exit, "78"]
    ready: {fd: 3}
  orphaned:
    command: [$SVCTOOL]
    depends_on: [broken]
EOF
sed -i 's/loopback: false/loopback: true/' "$T/init.yaml"
init_start --net
expect_contains "$T/init.log" "evt=loopback_up"

# init announced readiness: every service that can run is ready by now.
for s in a b web flagged last; do
	expect_eq "$(svc_state $s)" ready "state of $s"
done
expect_eq "$(svc_state broken)" failed "state of broken"
expect_eq "$(svc_state orphaned)" stopped "state of orphaned"
expect_eq "$(svc_field orphaned blocked)" True "orphaned is blocked"

line_of() { grep -n -m1 -- "$1" "$T/init.log" | cut -d: -f1; }
a_ready=$(line_of "service=a from=starting to=ready")
b_start=$(line_of "svc_start service=b ")
[ -n "$a_ready" ] && [ -n "$b_start" ] || fail "a's readiness or b's start not logged"
[ "$b_start" -gt "$a_ready" ] || fail "b started (line $b_start) before a was ready (line $a_ready)"
gap=$(log_gap_ms "svc_start service=a " "service=a from=starting to=ready")
[ "$gap" -ge 290 ] || fail "a was ready after ${gap} ms, before it said so (300 ms)"
expect_contains "$T/init.log" "evt=svc_ready service=web check=tcp"
expect_contains "$T/init.log" "evt=svc_ready service=flagged check=command"
for dep in b web flagged; do
	r=$(line_of "service=$dep from=starting to=ready")
	s=$(line_of "svc_start service=last ")
	[ "$s" -gt "$r" ] || fail "last started before $dep was ready"
done
grep -q "svc_start service=orphaned" "$T/init.log" && fail "orphaned started without its dependency"

# Starting a service whose dependency is down is refused with the reason.
expect_exit 0 ctl stop a
expect_exit 1 ctl start orphaned
expect_contains "$T/last.err" "orphaned depends on broken, which is failed: start it first"

init_stop
