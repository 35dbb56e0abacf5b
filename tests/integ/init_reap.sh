#!/bin/bash
# cella-init as PID 1 reaps every orphan a double-forking service leaves
# (no zombie remains), and a restart kills the old instance's grandchildren
# (its whole process group) before the new instance starts.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/init_lib.sh"

init_config <<EOF
services:
  forker:
    command: [$SVCTOOL, --orphans, "20", --orphan-ms, "50", --ready-fd, "3"]
    ready: {fd: 3}
  parent:
    command: [$SVCTOOL, --grandchild, $T/gc.pid, --ready-fd, "3"]
    ready: {fd: 3}
EOF
init_start

# The orphans exit 50 ms after they were made, children of PID 1 by then.
wait_for 10 sh -c "test \$(grep -c evt=reaped $T/init.log) -ge 20"
expect_eq "$(init_zombies)" 0 "zombies left under cella-init"
expect_eq "$(svc_state forker)" ready "forker state"

old_gc=$(cat "$T/gc.pid") # a pid inside the namespace
old_pid=$(svc_pid parent)
grep -q "evt=reaped pid=$old_gc " "$T/init.log" && fail "grandchild died early"
expect_exit 0 ctl restart parent
expect_contains "$T/last.out" "parent: ready"
new_pid=$(svc_pid parent)
[ "$new_pid" != "$old_pid" ] || fail "restart kept pid $old_pid"
# The old grandchild must be gone: killed with its group, reaped by PID 1.
expect_contains "$T/init.log" "evt=reaped pid=$old_gc status=15"
expect_eq "$(svc_field parent restarts)" 1 "restarts after one restart"
expect_eq "$(init_zombies)" 0 "zombies after the restart"

init_stop
expect_contains "$T/init.log" "evt=final_sweep left=0"
