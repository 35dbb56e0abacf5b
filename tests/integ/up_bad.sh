#!/usr/bin/env bash
# cella up refusing: a bad cella.yaml names file:line and the key and
# starts nothing; a service that cannot start is named with its last lines
# and nothing is left running; an enclave that is up already, a host port
# that is taken, a missing executable, verbs for an enclave that is not
# there: each one clear line and its exit code.
. "$CELLA_SOURCE_ROOT/tests/integ/up_lib.sh"
up_probe_ns

nothing_started() {
	[ ! -e "$U/state/$1" ] || fail "state of $1 was created"
	[ "$(up_procs "$1")" -eq 0 ] || fail "processes of $1 were started"
}

mkdir -p "$T/bad"
UP_NAMES+=(bad)
cat >"$T/bad/cella.yaml" <<'EOF'
name: bad
services:
  a:
    command: [sleep, "100"]
    restart: sometimes
EOF
expect_exit 78 in_app bad cella up -d
expect_eq "$(cat "$T/last.err")" "cella up: $T/bad/cella.yaml:5: services.a.restart: expected one of no, on-failure, always; got 'sometimes'" "bad restart"
nothing_started bad
expect_exit 78 cella config -q -f "$T/bad/cella.yaml"
expect_contains "$T/last.err" "cella.yaml:5: services.a.restart"

# Keys that later issues add are refused until they work.
printf 'name: bad\nkms:\n  region: eu-west-1\n' >"$T/bad/cella.yaml"
expect_exit 78 in_app bad cella up -d
expect_contains "$T/last.err" "cella.yaml:2: kms: unknown key"
nothing_started bad

printf 'name: bad\nports: ["8080:80", "8081:80", "8080:90"]\n' >"$T/bad/cella.yaml"
expect_exit 78 in_app bad cella up -d
expect_contains "$T/last.err" "cella.yaml:2: ports: host port 8080 appears twice (ports[0] and ports[2])"
printf 'name: bad\nports: ["70000:80"]\n' >"$T/bad/cella.yaml"
expect_exit 78 in_app bad cella up -d
expect_contains "$T/last.err" "cella.yaml:2: ports[0]: '70000:80': a port is 1..65535"
printf 'name: bad\nports: ["%s:53000"]\n' "$(free_port)" >"$T/bad/cella.yaml"
expect_exit 78 in_app bad cella up -d
expect_contains "$T/last.err" "ports[0]: enclave port 53000 is the attested bridge's vsock port"
printf 'name: "bad name"\n' >"$T/bad/cella.yaml"
expect_exit 78 in_app bad cella up -d
expect_contains "$T/last.err" "cella.yaml:1: name: an enclave's name is 1..32 of [A-Za-z0-9_-]"
printf 'name: bad\nservices:\n  a:\n    command: [no-such-program-here]\n' >"$T/bad/cella.yaml"
expect_exit 78 in_app bad cella up -d
expect_contains "$T/last.err" "services.a.command: 'no-such-program-here' is not in PATH"
nothing_started bad

# A host port in use.
PORT=$(free_port)
python3 -c 'import socket, sys, time
s = socket.socket(); s.bind(("127.0.0.1", int(sys.argv[1]))); s.listen()
print("ready", flush=True); time.sleep(60)' "$PORT" >"$T/holder.out" &
HOLDER=$!
wait_for 5 grep -q ready "$T/holder.out"
printf 'name: bad\nports: ["%s:80"]\n' "$PORT" >"$T/bad/cella.yaml"
expect_exit 69 in_app bad cella up -d
expect_contains "$T/last.err" "cella.yaml:2: ports[0]: host port $PORT is not free: Address already in use"
kill "$HOLDER"
nothing_started bad

# A service that cannot start: named, with its own last lines; nothing left.
cat >"$T/bad/cella.yaml" <<'EOF'
name: bad
services:
  db:
    command: [sh, -c, "echo opening the database; echo 'db: no such table' >&2; exit 3"]
    restart: "no"
  web:
    command: [sleep, "100"]
    depends_on: [db]
EOF
expect_exit 1 in_app bad cella up -d
expect_contains "$T/last.err" "cella up: service db failed"
expect_contains "$T/last.err" "db | opening the database"
expect_contains "$T/last.err" "db | db: no such table"
nothing_started bad

# The same file twice: the second is refused while the first runs.
up_app dup 16
expect_exit 0 in_app dup cella up -d
expect_exit 69 in_app dup cella up -d
expect_contains "$T/last.err" "enclave 'dup' is already up (cella down dup)"
up_down dup

# The host side killed: the enclave goes with it (its launcher dies with
# the host init), ls says so, and down kills the orphaned ingress proxy.
up_app crash 16
expect_exit 0 in_app crash cella up -d
kill -9 "$(python3 -c 'import json, sys
print(json.load(open(sys.argv[1]))["pid"])' "$U/state/crash/state.json")"
crashed() { cella ls | grep -q "^crash .* stopped"; }
wait_for 10 crashed
launcher_gone() { ! pgrep -f "cella-launch --config $U/state/crash/" >/dev/null; }
wait_for 10 launcher_gone
[ "$(up_procs crash)" -gt 0 ] || fail "expected the orphaned ingress proxy"
up_down crash "enclave crash was not running; its state is removed"
python3 -c 'import socket, sys
socket.socket().bind(("127.0.0.1", int(sys.argv[1])))' "$PORT_crash" ||
	fail "the ingress port is still taken after down"

# Verbs for an enclave that is not there.
expect_exit 69 cella down nosuch
expect_eq "$(cat "$T/last.err")" "cella down: no enclave named 'nosuch' is up (cella ls lists them)" "down nosuch"
expect_exit 69 cella --enclave nosuch ps
expect_contains "$T/last.err" "no enclave named 'nosuch' is up"
expect_exit 64 cella up --backend vm
expect_exit 66 cella up -f "$T/nowhere.yaml"
expect_contains "$T/last.err" "No such file or directory"
echo "ok"
