# lib.sh: helpers for cella's shell integration tests (bash). Source it
# first. Each test gets a private temp dir $T, daemons are started with a
# readiness pipe (never a sleep), every process's stderr lands in
# $T/NAME.log, and at exit every daemon still running is stopped and every
# log is searched for sanitizer reports: a test with one fails.
#
#   start NAME CMD...   run CMD in the background with --ready-fd 3 appended
#                       and wait (20 s) for its ready line; $PID_NAME is set
#   stop NAME           SIGTERM, wait, and require exit status 0
#   fail MSG / skip MSG / expect_eq A B MSG / expect_contains FILE TEXT
#   wait_contains FILE TEXT  like expect_contains, for a log still being
#                       written (10 s at most)
#   expect_exit CODE CMD...  run CMD, require its exit code, keep its stderr
#                       in $T/last.err and stdout in $T/last.out
#   wait_for SECONDS CMD...  run CMD (output discarded) every 20 ms until it
#                       succeeds; when it has not within SECONDS, fail the
#                       test naming CMD and the caller's line. The one
#                       bounded wait for something another process does.
#   try_for SECONDS CMD...   the same wait, but return 1 on timeout, for a
#                       caller with its own message or fallback
#   holds MS CMD...     require that CMD succeeds every time for MS ms: a
#                       negative proof (something must not happen), so tie
#                       MS to the setting that would make it happen
#   gone PID            true once PID is no longer running
#   svc_field SERVICE FIELD [PS...]  FIELD of SERVICE in `cella ps --json`
#                       (python3), or in the JSON the command PS... prints
set -u

: "${CELLA_BUILD_ROOT:?run through meson test}"
: "${CELLA_SOURCE_ROOT:?run through meson test}"
B=$CELLA_BUILD_ROOT
S=$CELLA_SOURCE_ROOT
T=$(mktemp -d /tmp/cella-test.XXXXXX)
declare -A LIB_PIDS=()
LIB_FAILED=0

lib_sanitizer_check() {
	local f
	for f in "$T"/*.log "$T"/last.err; do
		[ -f "$f" ] || continue
		if grep -qE 'AddressSanitizer|LeakSanitizer|runtime error:|ThreadSanitizer' "$f"; then
			echo "FAIL: sanitizer report in $f:" >&2
			grep -E -A20 'AddressSanitizer|LeakSanitizer|runtime error:' "$f" | head -40 >&2
			return 1
		fi
	done
	return 0
}

lib_cleanup() {
	local rc=$? name
	for name in "${!LIB_PIDS[@]}"; do
		kill -TERM "${LIB_PIDS[$name]}" 2>/dev/null
	done
	for name in "${!LIB_PIDS[@]}"; do
		wait "${LIB_PIDS[$name]}" 2>/dev/null
	done
	lib_sanitizer_check || rc=1
	if [ "$rc" -ne 0 ] && [ "$rc" -ne 77 ]; then
		echo "--- logs of the failed test ($T) ---" >&2
		for f in "$T"/*.log; do
			[ -f "$f" ] || continue
			echo "--- $f" >&2
			tail -n 30 "$f" >&2
		done
	fi
	rm -rf "$T"
	exit "$rc"
}
trap lib_cleanup EXIT

fail() {
	echo "FAIL: $*" >&2
	exit 1
}

skip() {
	echo "SKIP: $*" >&2
	exit 77
}

expect_eq() {
	[ "$1" = "$2" ] || fail "$3: expected '$2', got '$1'"
}

expect_contains() {
	grep -qF -- "$2" "$1" || {
		echo "--- $1:" >&2
		tail -n 20 "$1" >&2
		fail "$1 does not contain '$2'"
	}
}

# The clock is $EPOCHREALTIME in microseconds (bash 5): no fork per poll.
try_for() {
	local end=$(( ${EPOCHREALTIME/[.,]/} + $1 * 1000000 ))
	shift
	until "$@" >/dev/null 2>&1; do
		[ "${EPOCHREALTIME/[.,]/}" -lt "$end" ] || return 1
		sleep 0.02
	done
}

wait_for() {
	try_for "$@" ||
		fail "${BASH_SOURCE[1]##*/}:${BASH_LINENO[0]}: not within $1 s: ${*:2}"
}

holds() {
	local end=$(( ${EPOCHREALTIME/[.,]/} + $1 * 1000 )) ok=1
	shift
	while [ $ok -eq 1 ]; do
		[ "${EPOCHREALTIME/[.,]/}" -lt "$end" ] || ok=0
		"$@" >/dev/null 2>&1 ||
			fail "${BASH_SOURCE[1]##*/}:${BASH_LINENO[0]}: stopped holding: $*"
		[ $ok -eq 0 ] || sleep 0.02
	done
}

gone() { ! kill -0 "$1" 2>/dev/null; }

# A line another process writes a moment later (a log): wait for it, 10 s
# at most.
wait_contains() {
	try_for 10 grep -qF -- "$2" "$1" || expect_contains "$1" "$2"
}

svc_field() {
	local svc=$1 field=$2
	shift 2
	[ $# -gt 0 ] || set -- "${CELLA:-$B/services/cella/cella}" ps --json
	"$@" | python3 -c "import json, sys
for s in json.load(sys.stdin):
    if s['service'] == sys.argv[1]: print(s[sys.argv[2]])" "$svc" "$field"
}

expect_exit() {
	local want=$1 got=0
	shift
	"$@" >"$T/last.out" 2>"$T/last.err" || got=$?
	if [ "$got" -ne "$want" ]; then
		echo "--- stdout:" >&2; tail -n 20 "$T/last.out" >&2
		echo "--- stderr:" >&2; tail -n 20 "$T/last.err" >&2
		fail "'$*' exited $got, expected $want"
	fi
}

start() {
	local name=$1 line=""
	shift
	mkfifo "$T/$name.ready"
	"$@" --ready-fd 3 3>"$T/$name.ready" 2>"$T/$name.log" &
	LIB_PIDS[$name]=$!
	eval "PID_${name//-/_}=$!"
	if ! read -r -t 20 line <"$T/$name.ready" || [ "$line" != "ready" ]; then
		fail "$name did not become ready (line '$line')"
	fi
}

stop() {
	local name=$1 pid=${LIB_PIDS[$1]} rc=0
	kill -TERM "$pid"
	wait "$pid" || rc=$?
	unset "LIB_PIDS[$name]"
	[ "$rc" -eq 0 ] || fail "$name exited $rc after SIGTERM, expected 0"
}
