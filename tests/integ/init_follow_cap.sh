#!/bin/bash
# `cella logs -f` must not take the control plane down (issue 10, item 2).
# An operator with only the logs role (ops) follows a quiet service through
# the attested bridge: first 8 follows (as many as cella-init has rpc
# workers), then 32 more. Every time, ps and restart (alice), exec and cp
# (runner) and the new bridge sessions they need still work promptly; of
# the 40 follows, the per-operator cap keeps 16 and refuses the rest with
# a message naming the limit, and the kept ones still stream.
. "$CELLA_SOURCE_ROOT/tests/integ/bridge_lib.sh"

R=$T/root
mkdir -p "$R"
bridge_setup "policy: {exec: true, files: true}
pipeline:
  listen: ipc://$T/none.sock
  roots: [$R]"
# A quiet service: one line at each start, then nothing to wake a follow.
sed -i 's|command: \[sleep, "1000"\]|command: [sh, -c, "echo started; exec sleep 1000"]|' \
	"$T/cella.yaml"
grep -q 'echo started' "$T/cella.yaml" || fail "the worker was not rewritten"
bridge_start
wait_for 5 test -S "$T/none.sock"

PROMPT_MS=5000
now_ms() { echo $(( $(date +%s%N) / 1000000 )); }

# CMD... must exit 0 within PROMPT_MS.
prompt() {
	local t0 ms
	t0=$(now_ms)
	expect_exit 0 "$@"
	ms=$(( $(now_ms) - t0 ))
	[ "$ms" -lt "$PROMPT_MS" ] || fail "'$*' took $ms ms"
	echo "  $ms ms: ${*:4}"
}

echo "control data" >"$T/f.txt"
control_plane() { # tag
	prompt host --key "$T/alice.pem" ps
	expect_contains "$T/last.out" "worker"
	prompt host --key "$T/alice.pem" restart worker
	prompt host --key "$T/runner.pem" exec -- echo "exec $1"
	expect_eq "$(cat "$T/last.out")" "exec $1" "exec output"
	prompt host --key "$T/runner.pem" cp -q "$T/f.txt" ":$R/f-$1.txt"
	cmp -s "$T/f.txt" "$R/f-$1.txt" || fail "cp $1 wrote something else"
	prompt host --key "$T/alice.pem" events
}

# Follow as ops; FOLLOWERS gets the pid. The first page ("started") comes
# before the follow is sent, so its arrival means the follow is on its way.
declare -a FOLLOWERS=()
follow() { # index
	host --key "$T/ops.pem" logs -f worker >"$T/f$1.out" 2>"$T/f$1.err" &
	FOLLOWERS+=($!)
	LIB_PIDS[f$1]=$!
}
started() { # first last: every follower's output has the first line
	local i
	for i in $(seq "$1" "$2"); do
		grep -q started "$T/f$i.out" 2>/dev/null || return 1
	done
}

echo "8 follows:"
for i in $(seq 1 8); do follow "$i"; done
wait_for 30 started 1 8
control_plane eight
for i in $(seq 1 8); do
	kill -0 "${FOLLOWERS[$((i - 1))]}" 2>/dev/null ||
		fail "follow $i ended: $(cat "$T/f$i.err")"
done

echo "32 more:"
for i in $(seq 9 40); do follow "$i"; done
alive() { # how many followers run
	local p n=0
	for p in "${FOLLOWERS[@]}"; do kill -0 "$p" 2>/dev/null && n=$((n + 1)); done
	echo "$n"
}
alive_is() { test "$(alive)" -eq "$1"; }
wait_for 60 alive_is 16
control_plane forty
expect_eq "$(alive)" 16 "follows kept"
refused=0
for i in $(seq 1 40); do
	p=${FOLLOWERS[$((i - 1))]}
	kill -0 "$p" 2>/dev/null && continue
	rc=0
	wait "$p" || rc=$?
	unset "LIB_PIDS[f$i]"
	expect_eq "$rc" 1 "exit of refused follow $i"
	expect_contains "$T/f$i.err" \
		"cella logs: operator 'ops' follows 16 logs already (the limit); end one first"
	refused=$((refused + 1))
done
expect_eq "$refused" 24 "follows refused"
wait_contains "$T/init.log" "evt=ctl_refused"

# The kept follows still stream: each restart above printed "started" again.
kept=0
for i in $(seq 1 40); do
	kill -0 "${FOLLOWERS[$((i - 1))]}" 2>/dev/null || continue
	[ "$(grep -c started "$T/f$i.out")" -ge 2 ] || fail "follow $i saw no new line"
	kept=$((kept + 1))
done
expect_eq "$kept" 16 "streaming follows"

# One connection, 6 follows at once (each waiting 2 s for a line): 4 wait.
# [1, INIT_LOGS_FOLLOW, 1, {"service": "worker", "timeout_ms": 2000}]
echo "840119010801a2677365727669636566776f726b65726a74696d656f75745f6d731907d0" \
	>"$T/follow.hex"
expect_exit 0 "$B/tests/tools/ctlsend" "ipc://$T/init.sock" --hex --parallel \
	--timeout 10000 $(for _ in 1 2 3 4 5 6; do echo "$T/follow.hex"; done)
expect_eq "$(grep -c '^type=0x0109$' "$T/last.out")" 4 "follows answered on one connection"
expect_eq "$(grep -cF 'error=EBUSY this connection follows 4 logs already (the limit)' \
	"$T/last.out")" 2 "follows refused on one connection"
echo "ok"
