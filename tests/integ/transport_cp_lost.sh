#!/bin/bash
# A lost stream fails every call in flight at once (issue 10, item 3):
# `cella cp` of a large file through the attested bridge, in and out, while
# cella-pipeline (and then the bridge) is killed with SIGKILL mid-transfer.
# Each cp must end within seconds (not after its 5-minute call timeout),
# with exit 69 and a message that names the connection and says it was
# lost, and leave no file (not even a temporary one) on either side; once
# init has restarted the killed service, the same copies work again.
. "$CELLA_SOURCE_ROOT/tests/integ/bridge_lib.sh"
command -v python3 >/dev/null || skip "python3 is needed to read JSON"

SHM=$T
if [ -d /dev/shm ] && [ -w /dev/shm ]; then
	SHM=$(mktemp -d /dev/shm/cella-test.XXXXXX)
	trap 'rc=$?; rm -rf "$SHM"; (exit $rc); lib_cleanup' EXIT
fi
trap 'exit 143' TERM INT
R=$SHM/root  # the enclave's side
L=$SHM/local # the host's side
mkdir -p "$R" "$L/out"
MB=256
ldd "$CELLA" 2>/dev/null | grep -q libasan && MB=96
bridge_setup "policy: {exec: true, files: true}
pipeline:
  listen: ipc://$T/none.sock
  roots: [$R]"
bridge_start
wait_for 5 test -S "$T/none.sock"
export CELLA_CONTROL=ipc://$T/init.sock
run() { host --key "$T/runner.pem" "$@"; }

# Process $1 has read (rchar) or written (wchar) $3 bytes, or is gone.
did_io() {
	local n
	n=$(awk -v f="$2:" '$1 == f {print $2}' "/proc/$1/io" 2>/dev/null)
	{ [ -n "$n" ] && [ "$n" -ge "$3" ]; } || gone "$1"
}

now_ms() { echo $(( $(date +%s%N) / 1000000 )); }

head -c $((MB << 20)) /dev/urandom >"$L/big.bin"
want=$(sha256sum <"$L/big.bin" | cut -d' ' -f1)

for victim in pipeline bridge; do
	for dir in in out; do
		rm -f "$R"/* "$R"/.[!.]* "$L/out"/* "$L/out"/.[!.]*
		if [ $dir = in ]; then
			src=$L/big.bin dst=:$R/copy.bin io=rchar
		else
			cp "$L/big.bin" "$R/big.bin"
			src=:$R/big.bin dst=$L/out/copy.bin io=wchar
		fi
		# (not through a function: $! must be cella's own pid)
		"$CELLA" --enclave vsock://16 --root "$T/ca/root.pem" \
			--key "$T/runner.pem" cp -q "$src" "$dst" \
			>"$T/cp.out" 2>"$T/cp.err" &
		cli=$!
		try_for 10 did_io $cli $io $((16 << 20)) && ! gone $cli ||
			fail "$dir: cp did not get going ($(cat "$T/cp.err"))"
		pid=$(svc_field $victim pid)
		[ -n "$pid" ] || fail "no pid for $victim"
		t0=$(now_ms)
		kill -KILL "$pid"
		try_for 20 gone $cli || {
			kill -KILL $cli
			fail "cp $dir still running 20 s after $victim was killed"
		}
		rc=0
		wait $cli || rc=$?
		ms=$(( $(now_ms) - t0 ))
		echo "$victim killed during cp $dir: exit $rc after $ms ms: $(cat "$T/cp.err")" >&2
		expect_eq "$rc" 69 "exit code of cp $dir with $victim killed"
		expect_contains "$T/cp.err" "vsock://16"
		expect_contains "$T/cp.err" "the connection was lost"
		[ "$ms" -lt 5000 ] || fail "cp $dir took $ms ms to notice"
		if [ $dir = in ]; then
			left=$(ls -A "$R")
		else
			left=$(ls -A "$L/out")
		fi
		expect_eq "$left" "" "files left after cp $dir"
		# init brings the victim back: an exec goes through again
		try_for 10 run exec -- true ||
			fail "the bridge and pipeline did not come back"
	done
done

# Operators are unaffected: whole copies work after the restarts.
rm -f "$R"/* "$L/out"/*
expect_exit 0 run cp -q "$L/big.bin" ":$R/copy.bin"
expect_eq "$(sha256sum <"$R/copy.bin" | cut -d' ' -f1)" "$want" "file in"
expect_exit 0 run cp -q ":$R/copy.bin" "$L/out/back.bin"
expect_eq "$(sha256sum <"$L/out/back.bin" | cut -d' ' -f1)" "$want" "file out"
exit 0
