#!/bin/bash
# SIGTERM to cella-init (PID 1) stops the services in reverse dependency
# order (c, then b, then a), kills one that ignores SIGTERM after its grace
# period, finishes well within the shutdown deadline, and leaves nothing
# behind; cella-init exits 0 (poweroff is off, as in the emulator).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/init_lib.sh"

svc() { # name, extra yaml
	cat <<EOF
  $1:
    command: [$SVCTOOL, --name, $1, --term-log, $T/term.log, --ready-fd, "3"]
    ready: {fd: 3}
$2
EOF
}
{
	echo "services:"
	svc a ""
	svc b "    depends_on: [a]"
	svc c "    depends_on: [b]"
	cat <<EOF
  stubborn:
    command: [$SVCTOOL, --ignore-term, --grandchild, $T/gc.pid]
    stop_grace_ms: 500
EOF
} | init_config
init_start

hosts=""
for s in a b c stubborn; do
	hosts="$hosts $(host_pid "$(svc_pid $s)")"
done
t0=$(date +%s%N)
init_stop
elapsed=$(( ($(date +%s%N) - t0) / 1000000 ))

expect_eq "$(tr '\n' ' ' <"$T/term.log")" "c term b term a term " "stop order"
expect_contains "$T/init.log" 'evt=svc_kill service=stubborn'
gap=$(log_gap_ms "evt=shutdown " "evt=svc_kill service=stubborn")
[ "$gap" -ge 490 ] || fail "stubborn was killed ${gap} ms after SIGTERM, before its grace"
expect_contains "$T/init.log" 'svc_exit service=stubborn pid='
expect_contains "$T/init.log" 'status="signal 9 (KILL)"'
expect_contains "$T/init.log" "evt=final_sweep left=0"
# The last line each service wrote as it ended reached the console.
for s in a b c; do
	expect_contains "$T/init.log" "service=$s stream=stdout line=\"$s term\""
done
expect_contains "$T/init.log" "evt=exit code=0"
[ "$elapsed" -lt 5000 ] || fail "shutdown took ${elapsed} ms (grace 500 ms)"
[ "$elapsed" -ge 450 ] || fail "shutdown took ${elapsed} ms, less than stubborn's grace"
for p in $hosts; do
	kill -0 "$p" 2>/dev/null && fail "process $p survived the shutdown"
done
echo "shutdown in ${elapsed} ms"
