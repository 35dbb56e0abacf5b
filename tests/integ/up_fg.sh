#!/usr/bin/env bash
# cella up in the foreground: the services' lines stream like docker
# compose's ("hello        | ..."), the summary comes once ready, and
# Ctrl-C (SIGINT) stops the enclave in order (each service's exit appears)
# and leaves nothing behind.
. "$CELLA_SOURCE_ROOT/tests/integ/up_lib.sh"
up_probe_ns

up_app fg 16
(cd "$T/fg" && exec "$B/services/cella/cella" up) >"$T/fg.out" 2>"$T/fg.log" &
UPPID=$!
wait_contains "$T/fg.out" "enclave fg is up"
wait_contains "$T/fg.out" "hello        | listening on 127.0.0.1:8000"
curl -sf "http://127.0.0.1:$PORT_fg/" >/dev/null || fail "curl through the ingress"
wait_contains "$T/fg.out" "hello        | request "
wait_contains "$T/fg.out" "greeter      | hello answered: hello from fg"
expect_contains "$T/fg.out" "launch       | heartbeat url=vsock://3:9000"
expect_exit 0 cella ls
expect_contains "$T/last.out" "running"

cp "$U/state/fg/console.log" "$T/fg.console.log"
kill -INT "$UPPID"
rc=0
wait "$UPPID" || rc=$?
expect_eq "$rc" 0 "cella up's exit after SIGINT"
expect_contains "$T/fg.log" "cella up: stopping enclave fg"
expect_contains "$T/fg.log" "cella up: enclave fg stopped"
expect_contains "$T/fg.out" "init         | svc_exit service=hello"
expect_contains "$T/fg.out" "init         | exit code=0"
[ ! -e "$U/state/fg" ] || fail "state left after Ctrl-C"
[ "$(up_procs fg)" -eq 0 ] || fail "processes left after Ctrl-C"
echo "ok"
