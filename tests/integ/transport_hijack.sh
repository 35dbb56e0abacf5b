#!/bin/bash
# A hostile local user against the private endpoints nngio opens to hand a
# stream to nng (issue 10, item 1). An unprivileged user made by this test
# (1) binds in advance the abstract names the old code would use for an
# operator's `cella exec` (@cella-nng-PID-N) and keeps connecting to every
# listener of that process while the exec runs through the attested
# bridge: the exec must work and the attacker must reach nothing; and
# (2) finds the private endpoint behind a service listening on
# vsock://any:P (a second cella-pipeline) and points the real cella CLI at
# it, which on the old code ran a command as root with every role: it must
# be refused, while the operator's own exec over vsock still works; and
# (3) connects to a service's ipc:// socket in a directory anyone may
# enter, the service started with umask 000: the socket must be the
# owner's alone (0600, set before it listens), whatever the umask.
. "$CELLA_SOURCE_ROOT/tests/integ/bridge_lib.sh"

[ "$(id -u)" = 0 ] || skip "needs root to create an unprivileged user"
command -v useradd >/dev/null && command -v setpriv >/dev/null ||
	skip "needs useradd and setpriv"
THIEF=$B/tests/tools/sockthief
U=cthj$$
useradd --system --no-create-home --shell /usr/sbin/nologin "$U" ||
	fail "useradd $U"
OPEN=$(mktemp -d /tmp/cella-hijack.XXXXXX) # (3): a directory anyone may enter
chmod 0755 "$OPEN"
trap 'rc=$?; userdel "$U" 2>/dev/null; rm -rf "$OPEN"; (exit $rc); lib_cleanup' EXIT
trap 'exit 143' TERM INT
# setpriv execs the command: its pid is the thief's (start and stop rely on it).
THIEF_AS=(setpriv --reuid "$U" --regid "$U" --clear-groups --)
# The thief needs to run the build's binaries, nothing of ours.
"${THIEF_AS[@]}" test -x "$CELLA" ||
	skip "$U cannot run $CELLA (build dir not world-readable)"

R=$T/root
mkdir -p "$R"
bridge_setup "policy: {exec: true, files: true}
pipeline:
  listen: ipc://$T/none.sock
  roots: [$R]"
bridge_start
wait_for 5 test -S "$T/none.sock"
export CELLA_CONTROL=ipc://$T/init.sock

# (1) The CLI's private endpoint, during a real exec through the bridge.
mkfifo "$T/go"
(
	echo "$BASHPID" >"$T/op.pid"
	read -r _ <"$T/go"
	exec "$CELLA" --enclave vsock://16 --root "$T/ca/root.pem" \
		--key "$T/runner.pem" exec -- sh -c 'echo $((6 * 7)); id -u'
) >"$T/op.out" 2>"$T/op.err" &
op=$!
try_for 5 test -s "$T/op.pid"
pid=$(cat "$T/op.pid")
[ -n "$pid" ] || fail "the operator's exec did not start"
squats=()
for n in $(seq 8); do squats+=("cella-nng-$pid-$n"); done
start hammer "${THIEF_AS[@]}" "$THIEF" hammer "cella-nng-$pid-" "${squats[@]}"
echo go >"$T/go"
# A squatted name may block the exec: give it 30 s, then call it blocked.
try_for 30 gone $op || { kill -KILL $op; echo "(blocked: killed after 30 s)" >>"$T/op.err"; }
rc=0
wait $op || rc=$?
kill -TERM "$PID_hammer"
wait "$PID_hammer" || fail "the hammer failed"
unset "LIB_PIDS[hammer]"
cat "$T/hammer.log" >&2
if [ "$rc" -ne 0 ]; then
	cat "$T/op.err" >&2
	fail "the operator's exec failed ($rc) while $U squatted its names"
fi
expect_eq "$(tr '\n' ' ' <"$T/op.out")" "42 0 " "the operator's exec output"
expect_contains "$T/hammer.log" "connected="
grep -q "connected=[1-9]" "$T/hammer.log" &&
	fail "$U connected to the operator's private endpoint"

# (2) A service listening on vsock: its private endpoint, found and used.
cat >"$T/p2.yaml" <<EOF
init:
  control: ipc://$T/init.sock
policy: {exec: true, files: true}
pipeline:
  listen: vsock://any:53001
  roots: [$R]
EOF
start p2 "$B/services/pipeline/cella-pipeline" --config "$T/p2.yaml"
"${THIEF_AS[@]}" "$THIEF" find "cella-nng-$PID_p2-" >"$T/found" ||
	fail "sockthief find"
[ -s "$T/found" ] || fail "no private endpoint of pid $PID_p2 in /proc/net/unix"
while read -r name; do
	case $name in
	@*) url=abstract://${name#@} ;;
	*) url=ipc://$name ;;
	esac
	got=0
	CELLA_PIPELINE=$url "${THIEF_AS[@]}" "$CELLA" exec -- id -u \
		>"$T/thief.out" 2>"$T/thief.err" || got=$?
	if [ "$got" -eq 0 ]; then
		fail "$U ran '$(cat "$T/thief.out")' through $url (uid 0 = root)"
	fi
	grep -qiE "permission denied|not permitted" "$T/thief.err" ||
		fail "$url: not refused by permissions: $(cat "$T/thief.err")"
done <"$T/found"
CELLA_PIPELINE=vsock://16:53001 expect_exit 0 "$CELLA" exec -- echo operator
expect_eq "$(cat "$T/last.out")" "operator" "the operator's exec over vsock"
stop p2

# (3) An ipc:// socket where anyone can reach the directory, umask 000.
sed "s|listen: vsock://any:53001|listen: ipc://$OPEN/p3.sock|" "$T/p2.yaml" >"$T/p3.yaml"
old_umask=$(umask)
umask 000
start p3 "$B/services/pipeline/cella-pipeline" --config "$T/p3.yaml"
umask "$old_umask"
expect_eq "$(stat -c %a "$OPEN/p3.sock")" 600 "mode of the service's socket"
got=0
CELLA_PIPELINE=ipc://$OPEN/p3.sock "${THIEF_AS[@]}" "$CELLA" exec -- id -u \
	>"$T/thief.out" 2>"$T/thief.err" || got=$?
[ "$got" -ne 0 ] || fail "$U ran '$(cat "$T/thief.out")' through ipc://$OPEN/p3.sock"
grep -qiE "permission denied|not permitted" "$T/thief.err" ||
	fail "ipc://$OPEN/p3.sock: not refused by permissions: $(cat "$T/thief.err")"
CELLA_PIPELINE=ipc://$OPEN/p3.sock expect_exit 0 "$CELLA" exec -- echo operator
stop p3
exit 0
