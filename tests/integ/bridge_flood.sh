# Denial before authentication: peers that connect to the bridge and send
# nothing must not lock operators out. With 100 idle connections (under
# the pending cap) and then 500 (over it) held open, an operator's `ps`
# still succeeds while they are held; the idle ones are closed at the
# first-byte deadline (evt=bridge_timeout phase=first_byte), and over the
# cap the oldest idle ones make room (evt=bridge_evicted), not the newest.
. "$CELLA_SOURCE_ROOT/tests/integ/bridge_lib.sh"

BRIDGE_KEYS="  first_byte_ms: 5000
  pending_max: 128"
bridge_setup
bridge_start
PEER=$B/tests/tools/bridgepeer

hold() { # name, connections: held open until the bridge closes them
	start "$1" bash -c 'exec "$0" "$@" >"'"$T/$1.out"'"' \
		"$PEER" hold vsock://16:9001 "$2"
}

held_until_closed() { # name, connections
	local rc=0 pid=${LIB_PIDS[$1]}
	wait "$pid" || rc=$?
	unset "LIB_PIDS[$1]"
	[ "$rc" -eq 0 ] || fail "$1: connections left open (exit $rc)"
	expect_contains "$T/$1.out" "all closed after"
}

# Closed by the bridge so far, as the holder last said.
closed() { sed -n 's/^closed //p' "$T/$1.out" | tail -n 1; }

operator_ps() { # name of the holder, connections it holds
	local t0 t1 k
	t0=$(date +%s%N)
	expect_exit 0 host --key "$T/alice.pem" ps
	t1=$(date +%s%N)
	expect_contains "$T/last.out" "worker"
	k=$(closed "$1")
	[ "${k:-0}" -lt "$2" ] ||
		fail "every idle connection was gone before ps finished"
	echo "ps with $2 idle connections held: $(( (t1 - t0) / 1000000 )) ms"
}

hold idle100 100
operator_ps idle100 100
held_until_closed idle100
n=$(grep -c "evt=bridge_timeout.*phase=first_byte" "$T/init.log")
[ "$n" -eq 100 ] || fail "$n first-byte timeouts logged, expected 100"
! grep -q "evt=bridge_evicted" "$T/init.log" ||
	fail "a connection was evicted under the cap"

hold idle500 500
operator_ps idle500 500
held_until_closed idle500
n=$(grep -c "evt=bridge_evicted.*phase=first_byte" "$T/init.log")
[ "$n" -ge 372 ] || fail "$n idle connections evicted, expected 372 or more"
! grep -q "evt=bridge_busy" "$T/init.log" || fail "a connection was refused"
n=$(grep -c "evt=bridge_open" "$T/init.log")
[ "$n" -eq 2 ] || fail "$n sessions opened, expected 2"
echo "ok"
