#!/bin/bash
# Commands that wait hold no rpc worker of cella-pipeline. With 4 workers,
# 8 quiet commands each keep a long-poll read open (and one more a write
# waiting for room in a full stdin); a new exec, a cp in and out and a
# signal to one of them are still answered at once, and the waiting ones
# are still answered when their output comes.
. "$CELLA_SOURCE_ROOT/tests/integ/lib.sh"
. "$CELLA_SOURCE_ROOT/tests/integ/pipeline_lib.sh"

pipe_config 'enclave: {debug: true}' '  workers: 4
  max_execs: 16'
pipe_start

PROMPT_MS=5000
now_ms() { echo $(( $(date +%s%N) / 1000000 )); }
prompt() { # CMD...: exit 0 within PROMPT_MS
	local t0 ms
	t0=$(now_ms)
	expect_exit 0 "$@"
	ms=$(( $(now_ms) - t0 ))
	[ "$ms" -lt "$PROMPT_MS" ] || fail "'$*' took $ms ms"
	echo "  $ms ms: ${*:2}"
}

# Each prints its pid, then waits for a line on a fifo of its own: its
# client keeps a read open the whole time.
declare -a CLIENTS=()
for i in $(seq 1 8); do
	mkfifo "$T/go$i"
	"$CELLA" exec -- sh -c "echo \$\$; read x <$T/go$i; echo done $i" \
		>"$T/c$i.out" 2>"$T/c$i.err" &
	CLIENTS+=($!)
	LIB_PIDS[c$i]=$!
done
has_pid() { [ -s "$T/c$1.out" ]; }
for i in $(seq 1 8); do wait_for 20 has_pid "$i"; done
# One more whose stdin fills: its write waits for room.
mkfifo "$T/stuck"
sh -c "yes stdin | head -c 20000000 | '$CELLA' exec -i -- sh -c 'echo \$\$; read x <$T/stuck; cat >/dev/null'" \
	>"$T/w.out" 2>"$T/w.err" &
WRITER=$!
LIB_PIDS[w]=$WRITER
wait_for 20 test -s "$T/w.out"

prompt cella exec -- echo hello
expect_eq "$(cat "$T/last.out")" "hello" "exec while 9 wait"
echo "some data" >"$T/f.txt"
prompt cella cp -q "$T/f.txt" ":$R/f.txt"
prompt cella cp -q ":$R/f.txt" "$T/back.txt"
cmp -s "$T/f.txt" "$T/back.txt" || fail "cp round trip differs"
prompt cella exec -- kill -0 "$(head -1 "$T/c1.out")"

# The waiting ones are answered when their output comes.
for i in $(seq 1 8); do echo go >"$T/go$i"; done
for i in $(seq 1 8); do
	wait "${CLIENTS[$((i - 1))]}" || fail "client $i exited $?: $(cat "$T/c$i.err")"
	unset "LIB_PIDS[c$i]"
	expect_eq "$(tail -1 "$T/c$i.out")" "done $i" "client $i's last line"
done
echo go >"$T/stuck"
wait "$WRITER" || fail "the stdin writer exited $?: $(cat "$T/w.err")"
unset "LIB_PIDS[w]"
echo "ok"
