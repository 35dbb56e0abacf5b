#!/bin/bash
# cella exec against a real cella-pipeline (local URL) with a real
# cella-init for the event log: exit codes and signals, start errors,
# env/workdir/shell, a timeout, stdin and stdout round trips of 100 MB
# (PIPE_TEST_MB), the process group killed when the client dies, signals
# passed on, detached commands, no CPU spent on an idle long-poll, and an
# event in init's log for every command.
. "$CELLA_SOURCE_ROOT/tests/integ/lib.sh"
. "$CELLA_SOURCE_ROOT/tests/integ/pipeline_lib.sh"

MB=${PIPE_TEST_MB:-100}
pipe_config 'enclave: {debug: true}'
pipe_start

# exit status, 128+N for a signal
expect_exit 0 cella exec -- true
expect_exit 3 cella exec -- sh -c 'exit 3'
expect_exit 143 cella exec -- sh -c 'kill -TERM $$'
expect_exit 137 cella exec -- sh -c 'kill -KILL $$'
expect_exit 127 cella exec -- no-such-program-here
expect_contains "$T/last.err" "no-such-program-here: command not found"
expect_exit 126 cella exec -- /etc/passwd
expect_exit 126 cella exec -w /no/such/dir -- true
expect_contains "$T/last.err" "cannot enter workdir /no/such/dir"
expect_exit 64 cella exec
expect_exit 64 cella exec --shell -- a b

# output streams, variables, workdir, shell
expect_exit 0 cella exec -- sh -c 'echo out; echo err >&2'
expect_eq "$(cat "$T/last.out")" "out" "stdout"
expect_eq "$(cat "$T/last.err")" "err" "stderr"
expect_exit 0 cella exec -e CELLA_X=42 -e HOME -w "$R" -- sh -c 'echo "$CELLA_X $HOME $(pwd)"'
expect_eq "$(cat "$T/last.out")" "42 $HOME $R" "env and workdir"
expect_exit 5 cella exec --shell -- 'echo "a b" | wc -w; exit 5'
expect_eq "$(tr -d ' ' <"$T/last.out")" "2" "shell string"

# timeout: TERM, then the exit code of timeout(1)
t0=$(date +%s%N)
expect_exit 124 cella exec -t 1 -- sleep 30
expect_contains "$T/last.err" "timed out after 1 s"
[ $(( ($(date +%s%N) - t0) / 1000000 )) -lt 10000 ] || fail "timeout took too long"

# stdout and stdin round trips of $MB MB, not buffered whole anywhere
head -c $((MB * 1000000)) /dev/urandom >"$SHM/in.bin"
want=$(sha256sum <"$SHM/in.bin" | cut -d' ' -f1)
got=$(cella exec -i -- cat <"$SHM/in.bin" | sha256sum | cut -d' ' -f1)
expect_eq "$got" "$want" "stdin -> cat -> stdout round trip"
got=$(cella exec -- cat "$SHM/in.bin" | sha256sum | cut -d' ' -f1)
expect_eq "$got" "$want" "stdout of $MB MB"
got=$(cella exec -i -- sha256sum <"$SHM/in.bin" | cut -d' ' -f1)
expect_eq "$got" "$want" "stdin of $MB MB"
# (ASan's quarantine holds freed memory: the bound means nothing there)
rss=$(awk '/^VmHWM:/ {print $2}' "/proc/$PID_pipeline/status")
[ "$SAN" = 1 ] || [ "$rss" -lt $((64 * 1024)) ] ||
	fail "pipeline peak RSS ${rss} kB for a $MB MB stream"

# stdin EOF reaches the command; a command that ignores stdin is fine
expect_exit 0 cella exec -i -- wc -c </dev/null
expect_eq "$(tr -d ' ' <"$T/last.out")" "0" "empty stdin"
head -c 3000000 /dev/zero | cella exec -i -- true || fail "unread stdin"

# the client dies: the whole process group goes
"$CELLA" exec -- sh -c 'sleep 300 & echo $!; wait' >"$T/bg.out" 2>&1 &
cli=$!
wait_for 5 test -s "$T/bg.out"
bg=$(head -1 "$T/bg.out")
[ -n "$bg" ] && kill -0 "$bg" || fail "no background sleep ($bg)"
kill -KILL $cli
wait $cli 2>/dev/null
try_for 5 gone "$bg" || fail "sleep $bg survived its client"
expect_contains "$T/pipeline.log" "evt=exec_disconnected"

# our signals go to the command
"$CELLA" exec -- sh -c 'trap "exit 42" TERM; echo ready; sleep 100 & wait' >"$T/sig.out" 2>&1 &
cli=$!
wait_for 5 grep -q ready "$T/sig.out"
kill -TERM $cli
rc=0; wait $cli || rc=$?
expect_eq "$rc" 42 "exit status after a forwarded SIGTERM"

# detached: a pid at once, runs on without us
expect_exit 0 cella exec --detach -- sh -c "sleep 0.3; touch '$SHM/detached'"
grep -qE '^[0-9]+$' "$T/last.out" || fail "no pid from --detach"
try_for 5 test -e "$SHM/detached" || fail "the detached command did not run"
expect_exit 64 cella exec --detach -i -- true

# an idle long-poll costs no CPU: a 2 s window once the command runs (its
# evt=exec is in the log), ended by a forwarded SIGTERM
execs() { grep -c 'evt=exec ' "$T/pipeline.log"; }
execs_above() { [ "$(execs)" -gt "$1" ]; }
n0=$(execs)
"$CELLA" exec -- sleep 300 &
cli=$!
wait_for 10 execs_above "$n0"
c0=$(cpu_ticks "$PID_pipeline")
sleep 2 # the measured window, not a wait
c1=$(cpu_ticks "$PID_pipeline")
kill -TERM $cli
rc=0; wait $cli || rc=$?
expect_eq "$rc" 143 "exit status of the idle command after SIGTERM"
[ $((c1 - c0)) -le 3 ] || fail "pipeline used $((c1 - c0)) ticks while idle"

# every command is in the event log, with its argv's hash and operator
n=$(events_of exec | wc -l)
[ "$n" -ge 15 ] || fail "only $n exec events"
h=$(printf 'sh\0-c\0exit 3\0' | sha256sum | cut -d' ' -f1)
events_of exec | grep -q "\"argv_sha256\": \"$h\"" ||
	fail "no exec event with argv_sha256 $h"
events_of exec | grep -q '"operator": "local"' || fail "no operator in events"

# init unreachable: a command is refused, not run unlogged
kill -TERM "$PID_init"; wait "$PID_init"; unset "LIB_PIDS[init]"
expect_exit 69 cella exec -- touch "$SHM/unlogged"
expect_contains "$T/last.err" "cannot append to the event log"
[ ! -e "$SHM/unlogged" ] || fail "a command ran without its event"
stop pipeline
