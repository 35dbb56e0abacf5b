# nng REQ/REP between two processes over emulated vsock: once through
# cella-pf-proxy in front of an ipc:// service (the enclave's layout), once
# with both ends using nngio's own vsock relay. nng's framing must cross
# unchanged: every reply is checked byte for byte, large messages included.
# nngio's private sockets (a 0700 directory each) are gone once their
# process has shut down.
. "$CELLA_SOURCE_ROOT/tests/integ/relay_lib.sh"

start svc "$NT" rep "ipc://$T/svc.sock"
start pfp "$PFP" --forward "vsock://any:9001=ipc://$T/svc.sock"
expect_exit 0 "$NT" req vsock://16:9001 1000 100
expect_contains "$T/last.out" "ok 1000"
expect_exit 0 "$NT" req vsock://16:9001 5 4000000
expect_contains "$T/last.out" "ok 5"

export TMPDIR=$T/tmp # where nngio makes its private directories
mkdir -p "$TMPDIR"
start direct "$NT" rep vsock://any:9002
[ "$(stat -c %a "$TMPDIR"/cella-nng-"$PID_direct"-*)" = 700 ] ||
	fail "no private 0700 directory for the listener"
expect_exit 0 "$NT" req vsock://16:9002 200 10
expect_contains "$T/last.out" "ok 200"
stop direct
expect_eq "$(ls -A "$TMPDIR")" "" "private directories left behind"

# Nobody on the port: a clear, immediate refusal.
expect_exit 1 "$NT" req vsock://16:9003 1 1
expect_contains "$T/last.err" "vsock://16:9003: cannot dial: Connection refused"
stop pfp
