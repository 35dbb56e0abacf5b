# Half-close crosses the relay both ways: the client's EOF reaches the echo
# service while the service's answer still flows back (streamtool clients
# shuts down its write side, then reads the whole echo and the EOF), and a
# service that answers and half-closes first still receives what the client
# sends afterwards (socat with a shell on the far side).
. "$CELLA_SOURCE_ROOT/tests/integ/relay_lib.sh"

start echo "$ST" echo "unix://$T/echo.sock"
start pfp "$PFP" --forward "unix://$T/in.sock=unix://$T/echo.sock" \
	--forward "unix://$T/in2.sock=unix://$T/greet.sock"
expect_exit 0 "$ST" clients "unix://$T/in.sock" 4 3000000

# The service speaks first, half-closes, then reads what the client sends.
socat "UNIX-LISTEN:$T/greet.sock" \
	SYSTEM:"echo hello; exec 1>&-; cat > $T/received" 2>"$T/socat.log" &
srv=$!
for _ in $(seq 100); do [ -S "$T/greet.sock" ] && break; sleep 0.05; done
out=$( (sleep 0.3; echo "late words") | socat -t 5 - "UNIX-CONNECT:$T/in2.sock")
expect_eq "$out" "hello" "greeting before the service's half-close"
wait $srv
expect_eq "$(cat "$T/received")" "late words" "bytes sent after the service half-closed"
stop pfp
