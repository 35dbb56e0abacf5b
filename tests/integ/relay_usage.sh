# Bad addresses and bad rules: exit 64 and one clear message, nothing opened.
. "$CELLA_SOURCE_ROOT/tests/integ/relay_lib.sh"

check() { # expected message fragment, args...
	local want=$1
	shift
	expect_exit 64 "$PFP" "$@"
	expect_contains "$T/last.err" "$want"
}

check "no --forward or --bridge rule given"
check "expected LISTEN=TARGET" --forward tcp://127.0.0.1:1
check "unknown scheme" --forward http://x:1=tcp://127.0.0.1:2
check "bad port '70000'" --forward tcp://127.0.0.1:70000=unix:///x
check "bad CID 'x'" --forward vsock://x:1=unix:///x
check "an IPv6 address needs brackets" --forward tcp://::1:80=unix:///x
check "path is 120 bytes" --forward "unix:///$(printf 'a%.0s' $(seq 119))=tcp://127.0.0.1:1"
check "--max-conns '0': expected a whole number in 1..1000000" --max-conns 0 --forward unix:///a=unix:///b
check "--idle-timeout '-1': expected whole seconds" --idle-timeout -1 --forward unix:///a=unix:///b
check "--ready-fd '99': expected an open descriptor" --ready-fd 99 --forward unix:///a=unix:///b
check "unexpected argument 'extra'" --forward unix:///a=unix:///b extra
check "--max-conns '10x'" --max-conns 10x --forward unix:///a=unix:///b
check "--drain-timeout '3601': expected whole seconds in 0..3600" --drain-timeout 3601 --forward unix:///a=unix:///b
# A listen address that cannot be opened is a temporary failure (69).
expect_exit 69 "$PFP" --forward "unix://$T/no/such/dir/a.sock=unix:///b"
expect_contains "$T/last.err" "cannot listen"
# --check-config validates and exits (spelled as in every daemon).
expect_exit 0 "$PFP" --check-config --forward "unix://$T/a.sock=vsock://16:1"
[ ! -e "$T/a.sock" ] || fail "--check-config opened a socket"
expect_exit 0 "$PFP" --help
expect_contains "$T/last.out" "usage: cella-pf-proxy"
