# init_lib.sh: helpers for cella-init's integration tests (bash). Source it
# after lib.sh. cella-init runs as PID 1 of a new pid namespace (unshare
# --pid --fork --mount-proc; the test skips when that is not permitted),
# its config is $T/init.yaml, its control socket $T/init.sock, its stderr
# $T/init.log, and `ctl` runs the cella CLI against it.
#
#   init_config <<EOF ... EOF   write $T/init.yaml: boot duties off plus
#                               the given YAML (a services: section)
#   init_start [UNSHARE FLAGS]  start it and wait for its ready line;
#                               $INIT_PID is its pid outside the namespace
#   init_stop                   SIGTERM it, require exit 0
#   ctl ARGS...                 the cella CLI with CELLA_CONTROL set
#   svc_state NAME / svc_pid NAME   fields of `cella ps --json`
#   state_is NAME STATE         true when NAME is in STATE
#   init_zombies                zombies whose parent is cella-init
#   host_pid NSPID              pid outside of cella-init's child NSPID
#   log_gap_ms A B              ms from log line matching A to next B
#   $INIT_CLEANUP_EXTRA         shell code the exit trap also runs
SVCTOOL=$B/tests/tools/svctool
CELLA=$B/services/cella/cella # for sh -c, where ctl is not defined
export CELLA_CONTROL="ipc://$T/init.sock"
INIT_PID=

command -v python3 >/dev/null || skip "python3 is needed to read 'cella ps --json'"

# unshare ignores SIGTERM while it waits: end cella-init itself first.
init_cleanup() {
	if [ -n "$INIT_PID" ] && kill -0 "$INIT_PID" 2>/dev/null; then
		kill -TERM "$INIT_PID" 2>/dev/null
		try_for 5 gone "$INIT_PID" || kill -KILL "$INIT_PID" 2>/dev/null
	fi
	eval "${INIT_CLEANUP_EXTRA:-}"
}
trap 'rc=$?; init_cleanup; (exit $rc); lib_cleanup' EXIT

unshare --pid --fork --mount-proc true 2>/dev/null ||
	skip "unshare --pid --fork --mount-proc is not permitted here (need root or user namespaces)"

init_config() {
	{
		cat <<EOF
init:
  mounts: false
  loopback: false
  entropy: false
  heartbeat: false
  poweroff: false
  cgroup: ""
  control: ipc://$T/init.sock
  shutdown_deadline_ms: 10000
EOF
		cat
	} >"$T/init.yaml"
}

init_start() {
	rm -f "$T/init.ready"
	start init unshare --pid --fork --mount-proc "$@" \
		"$B/services/init/cella-init" --config "$T/init.yaml"
	INIT_PID=$(tr -d ' ' <"/proc/$PID_init/task/$PID_init/children")
	[ -n "$INIT_PID" ] || fail "cannot find cella-init under unshare"
}

init_stop() {
	local rc=0
	kill -TERM "$INIT_PID"
	wait "$PID_init" || rc=$?
	unset "LIB_PIDS[init]"
	INIT_PID=
	[ "$rc" -eq 0 ] || fail "cella-init exited $rc after SIGTERM, expected 0"
}

ctl() {
	"$B/services/cella/cella" "$@"
}

svc_state() { svc_field "$1" state; }
svc_pid() { svc_field "$1" pid; }
state_is() { [ "$(svc_state "$1")" = "$2" ]; }

init_zombies() {
	local n=0 f
	for f in /proc/[0-9]*/status; do
		if grep -q "^State:.*Z" "$f" 2>/dev/null &&
			grep -q "^PPid:[[:space:]]*$INIT_PID\$" "$f" 2>/dev/null; then
			n=$((n + 1))
		fi
	done
	echo "$n"
}

# The pid outside the namespace of cella-init's child whose pid inside is $1.
host_pid() {
	local c
	for c in $(cat "/proc/$INIT_PID/task/$INIT_PID/children"); do
		if awk -v want="$1" '/^NSpid:/ { if ($NF == want) ok = 1 } END { exit !ok }' \
			"/proc/$c/status" 2>/dev/null; then
			echo "$c"
			return 0
		fi
	done
	return 1
}

# Milliseconds between the first log line matching $1 and the first
# matching $2 after it (from their ts= stamps).
log_gap_ms() {
	python3 - "$T/init.log" "$1" "$2" <<'PYEOF'
import re, sys, datetime
path, a, b = sys.argv[1:]
t0 = None
for line in open(path, errors="replace"):
    m = re.match(r"ts=(\S+)Z ", line)
    if not m:
        continue
    t = datetime.datetime.fromisoformat(m.group(1))
    if t0 is None and a in line:
        t0 = t
    elif t0 is not None and b in line:
        print(int((t - t0).total_seconds() * 1000))
        sys.exit(0)
sys.exit(1)
PYEOF
}
