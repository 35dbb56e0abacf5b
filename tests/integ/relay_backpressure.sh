# A reader that stops reading must not make the proxy buffer without bound:
# push 256 MiB at a target that never reads. The writer must stall after a
# bounded amount (socket buffers plus one pipe per hop) and the proxy's RSS
# must stay small.
. "$CELLA_SOURCE_ROOT/tests/integ/relay_lib.sh"

start stall "$ST" stall "unix://$T/stall.sock"
# The stalled connection can never finish: do not wait for it on SIGTERM.
start pfp "$PFP" --drain-timeout 0 --forward "unix://$T/in.sock=unix://$T/stall.sock"
before=$(rss_kib "$PID_pfp")
mkfifo "$T/hold" "$T/push.out"
"$ST" push "unix://$T/in.sock" 256M <"$T/hold" >"$T/push.out" 2>"$T/push.log" &
push=$!
exec 4>"$T/hold"
# push prints its count once the far end has stopped taking bytes.
read -r -t 60 word pushed <"$T/push.out" || fail "push never stalled"
expect_eq "$word" "pushed" "push output"
after=$(rss_kib "$PID_pfp")
echo "pushed=$pushed rss_before_kib=$before rss_after_kib=$after"
[ "$pushed" -lt $((64 << 20)) ] || fail "the writer was never stopped ($pushed bytes taken)"
[ $((after - before)) -lt 8192 ] || fail "proxy RSS grew by $((after - before)) KiB"
exec 4>&-
wait $push
stop pfp
expect_contains "$T/pfp.log" "evt=drain_abort open=1"
