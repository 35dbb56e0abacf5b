# up_lib.sh: helpers for the `cella up` tests (bash). Source it instead of
# lib.sh. Every test has its own state root ($U/state), HOME ($U/home: the
# operator key and the simulation root) and free ports, so tests run side
# by side. $U is outside /tmp (the enclave has a /tmp of its own), so that
# the sandbox must really hide them. The local backend needs namespaces: a
# test skips (77) when the host refuses them, and says why.
#
#   up_app NAME [CID] [HOSTPORT] [ENCLAVEPORT]
#                          write $T/NAME/cella.yaml: the hello example
#                          (cella-hello serve + poll) under that name
#   cella ARGS...          the CLI, with the build on PATH
#   in_app NAME CMD...     run CMD in $T/NAME (where its cella.yaml is)
#   free_port              a TCP port nobody listens on now
#   svc_json NAME SERVICE FIELD   a field of `cella ps --json` for NAME
#   up_down NAME [TEXT]    cella down NAME (saying TEXT), keep its console
#                          for the sanitizer check, then require that
#                          nothing of it is left: process, mount, socket,
#                          state
. "$CELLA_SOURCE_ROOT/tests/integ/lib.sh"

command -v python3 >/dev/null || skip "python3 is needed to read JSON"
command -v curl >/dev/null || skip "curl is needed to reach the ingress"

export PATH="$B/services/cella:$B/services/init:$B/services/launch:$B/services/pf-proxy:$B/services/ra-web:$B/services/pipeline:$B/deploy/examples/hello:$PATH"
U=$(mktemp -d /var/tmp/cella-up.XXXXXX 2>/dev/null) || U=$T/u
export CELLA_STATE_DIR=$U/state HOME=$U/home
unset XDG_RUNTIME_DIR XDG_DATA_HOME CELLA_CONTROL CELLA_PIPELINE CELLA_OPERATOR_KEY
mkdir -p "$HOME"
UP_NAMES=()

up_probe_ns() {
	local flags="--pid --fork --mount --net --uts --ipc"
	[ "$(id -u)" -eq 0 ] || flags="--user --map-root-user $flags"
	unshare $flags true 2>/dev/null ||
		skip "namespaces are not permitted here (unshare $flags failed); cella up --backend process is tested by up_process"
}

cella() { "$B/services/cella/cella" "$@"; }

in_app() {
	local name=$1
	shift
	(cd "$T/$name" && "$@")
}

free_port() {
	python3 -c 'import socket
s = socket.socket()
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])'
}

up_app() {
	local name=$1 cid=${2:-16} hport=${3:-$(free_port)} eport=${4:-8000}
	mkdir -p "$T/$name"
	UP_NAMES+=("$name")
	eval "PORT_${name//-/_}=$hport"
	cat >"$T/$name/cella.yaml" <<EOF
name: $name
enclave:
  cid: $cid
attestation:
  provider: auto
policy:
  exec: true
  files: true
services:
  hello:
    command: [cella-hello, serve, --listen, "127.0.0.1:$eport", --ready-fd, "3"]
    ready: {fd: 3}
  greeter:
    command: [cella-hello, poll, --url, "127.0.0.1:$eport", --every, "1"]
    depends_on: [hello]
ports:
  - "$hport:$eport"
EOF
}

svc_json() { svc_field "$2" "$3" in_app "$1" cella ps --json; }


# Processes of enclave $1: its state directory on their command line or
# its vsock directory in their environment (every one inherits it).
up_procs() {
	local p n=0
	for p in /proc/[0-9]*; do
		if tr '\0' ' ' <"$p/cmdline" 2>/dev/null | grep -qF "$U/state/$1/" ||
			tr '\0' '\n' <"$p/environ" 2>/dev/null |
			grep -qxF "CELLA_VSOCK_DIR=$U/state/$1/vsock"; then
			n=$((n + 1))
		fi
	done
	echo "$n"
}

# The console (both generations) for lib's sanitizer check.
up_keep_console() {
	local d=$U/state/$1
	[ -f "$d/console.log" ] && cp "$d/console.log" "$T/$1.console.log"
	[ -f "$d/console.log.1" ] && cp "$d/console.log.1" "$T/$1.console.1.log"
	return 0
}

up_down() {
	local name=$1 dir=$U/state/$1
	up_keep_console "$name"
	expect_exit 0 cella down "$name"
	expect_contains "$T/last.out" "${2:-enclave $name stopped}"
	[ ! -e "$dir" ] || fail "$dir is still there after cella down"
	[ "$(up_procs "$name")" -eq 0 ] || fail "processes of $name are left"
	! grep -qF "$dir" /proc/self/mountinfo || fail "a mount of $name is left"
	! grep -qF "$dir" /proc/net/unix || fail "a socket of $name is left"
}

# Whatever a failed test left running is stopped before lib's cleanup.
up_cleanup() {
	local n
	for n in "${UP_NAMES[@]}"; do
		up_keep_console "$n"
		[ -d "$U/state/$n" ] && cella down "$n" >/dev/null 2>&1
	done
	rm -rf "$U"
	return 0
}
trap 'rc=$?; up_cleanup; (exit $rc); lib_cleanup' EXIT
