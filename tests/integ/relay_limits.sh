# Idle timeout and connection cap.
. "$CELLA_SOURCE_ROOT/tests/integ/relay_lib.sh"

start echo "$ST" echo "unix://$T/echo.sock"
start pfp "$PFP" --idle-timeout 1 --max-conns 2 \
	--forward "unix://$T/in.sock=unix://$T/echo.sock"

# An idle connection is closed after about a second.
expect_exit 0 "$ST" idle "unix://$T/in.sock" 1
ms=$(sed 's/closed_after_ms=//' "$T/last.out")
[ "$ms" -ge 900 ] && [ "$ms" -lt 5000 ] || fail "idle close after $ms ms"

# Two connections fill the cap; a third is closed at once and logged.
mkfifo "$T/hold"
"$ST" hold "unix://$T/in.sock" 2 <"$T/hold" >"$T/hold.out" &
holder=$!
exec 4>"$T/hold"
wait_for 5 grep -q held "$T/hold.out"
expect_exit 0 "$ST" idle "unix://$T/in.sock" 0
ms=$(sed 's/closed_after_ms=//' "$T/last.out")
[ "$ms" -lt 900 ] || fail "a connection over the cap lived $ms ms"
expect_contains "$T/pfp.log" "evt=conn_refused"
expect_contains "$T/pfp.log" "reason=max_conns max=2"
exec 4>&-
wait $holder
stop pfp
