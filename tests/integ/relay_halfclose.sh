# Half-close crosses the relay both ways: the client's EOF reaches the echo
# service while the service's answer still flows back (streamtool clients
# shuts down its write side, then reads the whole echo and the EOF), and a
# service that answers and half-closes first still receives what the client
# sends afterwards. Both ends of that are python: the service answers,
# shuts down its write side and reads to EOF; the client writes only once
# the greeting and the EOF behind it have reached it. (socat cannot be the
# service: it keeps its child's output pipe open, so no EOF ever leaves it.)
. "$CELLA_SOURCE_ROOT/tests/integ/relay_lib.sh"
command -v python3 >/dev/null || skip "python3 is needed for the late writer"

start echo "$ST" echo "unix://$T/echo.sock"
start pfp "$PFP" --forward "unix://$T/in.sock=unix://$T/echo.sock" \
	--forward "unix://$T/in2.sock=unix://$T/greet.sock"
expect_exit 0 "$ST" clients "unix://$T/in.sock" 4 3000000

# The service speaks first, half-closes, then reads what the client sends.
cat >"$T/greet.py" <<'EOF'
import os, socket, sys
path, out = sys.argv[1], sys.argv[2]
ls = socket.socket(socket.AF_UNIX)
ls.bind(path)
ls.listen(1)
os.write(int(sys.argv[4]), b"ready\n")  # --ready-fd N
c, _ = ls.accept()
c.sendall(b"hello\n")
c.shutdown(socket.SHUT_WR)
got = b""
while True:
    b = c.recv(4096)
    if not b:
        break
    got += b
open(out, "wb").write(got)
EOF
cat >"$T/late.py" <<'EOF'
import socket, sys
s = socket.socket(socket.AF_UNIX)
s.settimeout(10)
s.connect(sys.argv[1])
got = b""
while True:  # to the service's half-close
    b = s.recv(4096)
    if not b:
        break
    got += b
s.sendall(b"late words\n")
s.shutdown(socket.SHUT_WR)
sys.stdout.write(got.decode())
EOF
start greet python3 "$T/greet.py" "$T/greet.sock" "$T/received"
out=$(python3 "$T/late.py" "$T/in2.sock") || fail "the late writer failed"
expect_eq "$out" "hello" "greeting before the service's half-close"
wait "$PID_greet" || fail "the greeting service failed"
unset "LIB_PIDS[greet]"
expect_eq "$(cat "$T/received")" "late words" "bytes sent after the service half-closed"
stop pfp
