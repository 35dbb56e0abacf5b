#!/bin/bash
# The CLI when the bridge closes its connection (issue 10, item 6): never
# killed by SIGPIPE (exit 141, silently), always a message that names the
# connection and a sysexits code. A cutting relay (tests/tools/cutrelay)
# stands in front of the bridge's init and pipeline ports and closes both
# sides once the bridge has sent 0, 1, 2000, 4000, 4500, 4650 or 100000
# bytes (whole reads), which lands before, in and after the TLS handshake,
# in and after the attestation exchange (about 4.6 kB in all) and in the
# calls after it; ps, logs, exec, cp in and cp out (3 MB) go through each.
# Then the real bridge is killed under a running `logs -f` and a running
# `exec`, and a port where nothing listens gets one clear message (no
# repeated prefix).
. "$CELLA_SOURCE_ROOT/tests/integ/bridge_lib.sh"
command -v python3 >/dev/null || skip "python3 is needed to read JSON"

R=$T/root
mkdir -p "$R"
bridge_setup "  talker:
    command: [sh, -c, 'echo hello; exec sleep 1000']
policy: {exec: true, files: true}
pipeline:
  listen: ipc://$T/none.sock
  roots: [$R]"
bridge_start
wait_for 5 test -S "$T/none.sock"
export CELLA_CONTROL=ipc://$T/init.sock
CUT=$B/tests/tools/cutrelay
head -c 3000000 /dev/urandom >"$T/f.bin"

# run KEY PORT VERB ARGS...: the CLI through vsock://16:PORT
run() {
	local key=$1 port=$2
	shift 2
	"$CELLA" --enclave "vsock://16:$port" --root "$T/ca/root.pem" \
		--key "$T/$key.pem" "$@"
}

# check WHAT RC ERRFILE: not 141, and a failure says what happened
check() {
	local what=$1 rc=$2 err=$3
	[ "$rc" -ne 141 ] || fail "$what: killed by SIGPIPE (exit 141)"
	[ "$rc" -eq 0 ] && return 0
	[ "$rc" -ge 64 ] && [ "$rc" -le 78 ] ||
		fail "$what: exit $rc is not a sysexits code ($(cat "$err"))"
	grep -q "^cella [a-z]*: .*vsock://16" "$err" ||
		fail "$what: exit $rc without a message naming the connection: '$(cat "$err")'"
}

n=0
cp "$T/f.bin" "$R/src.bin"
for cut in 0 1 2000 4000 4500 4650 100000; do
	n=$((n + 1))
	start "cuti$n" "$CUT" "vsock://any:710$n" vsock://16:9001 "$cut"
	start "cutp$n" "$CUT" "vsock://any:720$n" vsock://16:53000 "$cut"
	for verb in ps logs exec cp cp-out; do
		rc=0
		case $verb in
		ps) run alice 710$n ps ;;
		logs) run alice 710$n logs worker ;;
		exec) run runner 720$n exec -- echo hello ;;
		cp) run runner 720$n cp -q "$T/f.bin" ":$R/f$n.bin" ;;
		cp-out) run runner 720$n cp -q ":$R/src.bin" "$T/g$n.bin" ;;
		esac >"$T/out" 2>"$T/err" || rc=$?
		echo "cut at $cut: $verb: exit $rc: $(head -c 300 "$T/err")" >&2
		check "$verb with the bridge cut at $cut bytes" "$rc" "$T/err"
	done
	stop "cuti$n"
	stop "cutp$n"
done

# The bridge killed under a running logs -f and a running exec.
for verb in logs exec; do
	if [ $verb = logs ]; then
		"$CELLA" --enclave vsock://16 --root "$T/ca/root.pem" \
			--key "$T/alice.pem" logs -f talker >"$T/out" 2>"$T/err" &
	else
		"$CELLA" --enclave vsock://16 --root "$T/ca/root.pem" \
			--key "$T/runner.pem" exec -- sh -c 'echo started; sleep 100' \
			>"$T/out" 2>"$T/err" &
	fi
	cli=$!
	# Running: logs -f has had its first answer, exec its first output.
	if [ $verb = logs ]; then
		wait_contains "$T/out" "hello"
	else
		wait_contains "$T/out" "started"
	fi
	kill -KILL "$(svc_field bridge pid)"
	try_for 10 gone $cli ||
		{ kill -KILL $cli; fail "$verb went on for 10 s without its bridge"; }
	rc=0
	wait $cli || rc=$?
	echo "bridge killed under $verb: exit $rc: $(cat "$T/err")" >&2
	[ "$rc" -ne 0 ] || fail "$verb exited 0 without its bridge"
	check "$verb with the bridge killed" "$rc" "$T/err"
	expect_contains "$T/err" "connection was lost"
	expect_contains "$T/err" "cella ps"
	try_for 10 run runner 53000 exec -- true || fail "the bridge did not come back"
done

# Nobody there: one message, the address once, and what to do.
expect_exit 69 run alice 7999 ps
expect_eq "$(wc -l <"$T/last.err")" 1 "lines of the message"
expect_eq "$(grep -o "vsock://16:7999" "$T/last.err" | wc -l)" 1 \
	"times the address is named in '$(cat "$T/last.err")'"
expect_contains "$T/last.err" "cella ls"
exit 0
