#!/bin/bash
# Nothing a `cella exec` started outlives it (issue 10). With cgroups (the
# pipeline in a cgroup2 directory of its own, as cella-init's leaf puts
# it): each command runs in a cgroup of its own below it, and when the
# command is done a child that left its process group with setsid() is
# killed with the rest and the cgroup is removed; a detached command is
# left alone. Without (the pipeline in a root cgroup): the command's
# process group is killed when it is done, so a plain background child
# goes too (a setsid() child would not: the documented limit).
. "$CELLA_SOURCE_ROOT/tests/integ/lib.sh"
. "$CELLA_SOURCE_ROOT/tests/integ/pipeline_lib.sh"

CG=""
for root in /sys/fs/cgroup /sys/fs/cgroup/unified; do
	if [ "$(stat -f -c %T "$root" 2>/dev/null)" = cgroup2fs ] && [ -w "$root" ]; then
		CG=$root/cella-test-pipeline_cgroup-$$
		break
	fi
done
[ -n "$CG" ] || skip "no writable cgroup2 hierarchy here"
declare -a STRAYS=()
cg_cleanup() {
	local p d
	for p in "${STRAYS[@]}"; do kill -KILL "$p" 2>/dev/null; done
	if [ -d "$CG" ]; then
		for p in $(cat "$CG"/*/cgroup.procs "$CG/cgroup.procs" 2>/dev/null); do
			kill -KILL "$p" 2>/dev/null
		done
		for d in "$CG"/*/; do [ -d "$d" ] && rmdir "$d" 2>/dev/null; done
		try_for 5 rmdir "$CG"
	fi
	rm -rf "${INIT_CLEANUP_SHM:-/nonexistent}"
}
trap 'rc=$?; cg_cleanup; (exit $rc); lib_cleanup' EXIT
mkdir "$CG" || fail "mkdir $CG"

pipe_config 'enclave: {debug: true}'
start init "$B/services/init/cella-init" --config "$T/init.yaml"
# The pipeline in the test's cgroup, as init would put it in its leaf.
start pipeline sh -c 'echo $$ >"$1/cgroup.procs" && shift && exec "$@"' sh "$CG" \
	"$B/services/pipeline/cella-pipeline" --config "$T/cella.yaml"
wait_contains "$T/pipeline.log" "evt=exec_cgroups dir=$CG"

# A command runs in a cgroup of its own below the pipeline's.
expect_exit 0 cella exec -- cat /proc/self/cgroup
grep -q "^0::.*/cella-test-pipeline_cgroup-$$/cella-exec-" "$T/last.out" ||
	fail "not in a cgroup of its own: $(cat "$T/last.out")"

# A child that left the process group dies with its command.
expect_exit 0 cella exec -- sh -c 'setsid sleep 1000 & echo $!'
esc=$(head -1 "$T/last.out")
[ -n "$esc" ] || fail "no pid printed"
STRAYS+=("$esc")
try_for 5 gone "$esc" || fail "setsid child $esc outlived its cella exec"
no_exec_cgroups() { ! ls -d "$CG"/cella-exec-* >/dev/null 2>&1; }
wait_for 5 no_exec_cgroups

# A detached command is not the business of anything that ends.
expect_exit 0 cella exec -d -- sleep 1000
det=$(tr -dc 0-9 <"$T/last.out")
[ -n "$det" ] || fail "no pid for the detached command"
STRAYS+=("$det")
expect_exit 0 cella exec -- sh -c 'sleep 1000 & echo $!'
bg=$(head -1 "$T/last.out")
STRAYS+=("$bg")
try_for 5 gone "$bg" || fail "background child $bg outlived its cella exec"
kill -0 "$det" 2>/dev/null || fail "the detached command $det was killed"
kill -KILL "$det"
stop pipeline

# Without a cgroup of its own: the process group is killed at the end.
start pipeline "$B/services/pipeline/cella-pipeline" --config "$T/cella.yaml"
wait_contains "$T/pipeline.log" "evt=exec_cgroups_off"
expect_exit 0 cella exec -- sh -c 'sleep 1000 & echo $!'
bg=$(head -1 "$T/last.out")
STRAYS+=("$bg")
try_for 5 gone "$bg" || fail "background child $bg outlived its cella exec"
stop pipeline
echo "ok"
