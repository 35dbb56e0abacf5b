# pipeline_lib.sh: helpers for cella-pipeline's integration tests (bash).
# Source it after lib.sh. cella-init runs as an ordinary process (its
# control API and measured event log are what the pipeline needs), and
# cella-pipeline with $T/cella.yaml, serving ipc://$T/pipeline.sock, its
# allowed root $R (on tmpfs when /dev/shm is there, so that large files
# cost memory bandwidth rather than disk).
#
#   pipe_config [YAML] [PIPELINE_KEYS]
#                        write $T/cella.yaml: init (control only), the
#                        pipeline section (listen, roots: [$R], a short
#                        event timeout, PIPELINE_KEYS) and YAML
#   pipe_start           start cella-init and cella-pipeline
#   pipe_restart         stop and start cella-pipeline (new config)
#   cella ARGS...        the CLI, reaching the pipeline and init locally
#                        ($CELLA is its path, for background jobs)
#   events_of TYPE       the pipeline's events of TYPE, one JSON per line
#   cpu_ticks PID        utime+stime of a process
#   $SAN                 1 in a sanitizer build (tests scale down there)
command -v python3 >/dev/null || skip "python3 is needed to read JSON"
CELLA=$B/services/cella/cella
export CELLA_PIPELINE="ipc://$T/pipeline.sock"
export CELLA_CONTROL="ipc://$T/init.sock"
SHM=$T
if [ -d /dev/shm ] && [ -w /dev/shm ]; then
	SHM=$(mktemp -d /dev/shm/cella-test.XXXXXX)
	INIT_CLEANUP_SHM=$SHM
	trap 'rc=$?; rm -rf "$INIT_CLEANUP_SHM"; (exit $rc); lib_cleanup' EXIT
fi
R=$SHM/root
mkdir -p "$R"
SAN=0
ldd "$B/services/pipeline/cella-pipeline" 2>/dev/null | grep -q libasan && SAN=1

pipe_config() {
	cat >"$T/init.yaml" <<EOF2
init:
  mounts: false
  loopback: false
  entropy: false
  heartbeat: false
  poweroff: false
  cgroup: ""
  control: ipc://$T/init.sock
  events_max: 200000
  events_bytes: 268435456
EOF2
	{
		cat "$T/init.yaml"
		cat <<EOF2
pipeline:
  listen: ipc://$T/pipeline.sock
  roots: [$R]
  event_timeout_ms: 2000
EOF2
		[ -n "${2:-}" ] && printf '%s\n' "$2"
		printf '%s\n' "${1:-}"
	} >"$T/cella.yaml"
}

pipe_start() {
	start init "$B/services/init/cella-init" --config "$T/init.yaml"
	start pipeline "$B/services/pipeline/cella-pipeline" --config "$T/cella.yaml"
}

pipe_restart() {
	stop pipeline
	rm -f "$T/pipeline.ready"
	start pipeline "$B/services/pipeline/cella-pipeline" --config "$T/cella.yaml"
}

cella() {
	"$B/services/cella/cella" "$@"
}

events_of() {
	"$B/services/cella/cella" events --json | python3 -c '
import json, sys
for e in json.load(sys.stdin)["events"]:
    if e["source"] == "pipeline" and e["type"] == sys.argv[1]:
        print(json.dumps(e["data"], sort_keys=True))' "$1"
}

cpu_ticks() {
	awk '{print $14 + $15}' "/proc/$1/stat"
}
