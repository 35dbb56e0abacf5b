# 1,000 concurrent connections through two relay hops (tcp -> emulated vsock
# -> unix), each an echo round trip of 100 kB whose every byte is checked.
. "$CELLA_SOURCE_ROOT/tests/integ/relay_lib.sh"

port=$(free_port)
start echo "$ST" echo "unix://$T/echo.sock"
start pfp "$PFP" --forward "vsock://any:9001=unix://$T/echo.sock" \
	--forward "tcp://127.0.0.1:$port=vsock://16:9001"
expect_exit 0 "$ST" clients "tcp://127.0.0.1:$port" 1000 100000
expect_contains "$T/last.out" "ok conns=1000"
# A second wave on the same proxy: nothing was leaked by the first.
expect_exit 0 "$ST" clients "tcp://127.0.0.1:$port" 1000 1000
# The clients are done when their last byte is back; the proxy closes its
# sides as their EOFs reach its loop, a moment later on a busy machine.
fds_below() { [ "$(ls "/proc/$PID_pfp/fd" | wc -l)" -lt "$1" ]; }
try_for 10 fds_below 20 ||
	fail "proxy holds $(ls "/proc/$PID_pfp/fd" | wc -l) descriptors after every connection closed"
stop pfp
