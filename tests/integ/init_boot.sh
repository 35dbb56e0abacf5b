#!/bin/bash
# Boot duties, each one chosen by config: the Nitro heartbeat (byte 0xB7
# to vsock://3:9000 and back, here over emulated vsock), entropy (skipped
# without /dev/nsm), per-service cgroup v2 leaves (when a writable cgroup2
# hierarchy exists: a restart then also kills a descendant that escaped its
# process group with setsid, and an empty cgroup below a leaf is removed
# with it), and the mounts (in the private mount
# namespace unshare gives it). A failed duty is logged and the boot goes on.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/init_lib.sh"

export CELLA_VSOCK_DIR=$T/vsock CELLA_VSOCK_CID=16
mkdir -p "$CELLA_VSOCK_DIR"

CG=""
# Its cgroups go once the processes in them are gone (after init's end).
cg_removed() { rmdir "$CG"/*/* "$CG"/* "$CG" 2>/dev/null; [ ! -d "$CG" ]; }
for root in /sys/fs/cgroup /sys/fs/cgroup/unified; do
	if [ "$(stat -f -c %T "$root" 2>/dev/null)" = cgroup2fs ] && [ -w "$root" ]; then
		CG=$root/cella-test-$$
		INIT_CLEANUP_EXTRA='try_for 5 cg_removed'
		break
	fi
done

init_config <<EOF
services:
  a:
    command: [$SVCTOOL, --escapee, $T/esc.pid, --ready-fd, "3"]
    ready: {fd: 3}
EOF
sed -i -e 's/heartbeat: false/heartbeat: true/' -e 's/entropy: false/entropy: true/' \
	-e "s|cgroup: \"\"|cgroup: \"$CG\"|" "$T/init.yaml"

# 1. Heartbeat answered properly; entropy; cgroups.
start hb "$B/tests/tools/hbpeer" "$CELLA_VSOCK_DIR/3_9000"
init_start
wait "$PID_hb" || fail "hbpeer failed"
unset "LIB_PIDS[hb]"
expect_contains "$T/hb.log" "hbpeer: got b7"
expect_contains "$T/init.log" "evt=heartbeat_ok url=vsock://3:9000"
[ -e /dev/nsm ] || expect_contains "$T/init.log" "evt=entropy_skipped"
if [ -n "$CG" ]; then
	[ -d "$CG/a" ] || fail "no cgroup leaf $CG/a"
	esc=$(cat "$T/esc.pid")
	expect_exit 0 ctl restart a
	# The escapee left the process group but not the cgroup.
	wait_for 5 grep -q "evt=reaped pid=$esc status=15" "$T/init.log"
	# What a service made below its leaf (cella-pipeline: a cgroup per
	# command, left over when it was killed) goes with the leaf.
	mkdir -p "$CG/a/cella-exec-1-1"
else
	echo "note: no writable cgroup2 hierarchy here; cgroup leaves not tested"
fi
init_stop
if [ -n "$CG" ]; then
	[ -d "$CG/a" ] && fail "cgroup leaf $CG/a left behind"
	rmdir "$CG"
fi

# 2. A heartbeat peer that answers wrongly: logged, boot goes on.
rm -f "$T/init.log"
start hb2 "$B/tests/tools/hbpeer" "$CELLA_VSOCK_DIR/3_9000" --reply 00
init_start
wait "$PID_hb2"
unset "LIB_PIDS[hb2]"
expect_contains "$T/init.log" "evt=heartbeat_failed url=vsock://3:9000 err=EPROTO"
expect_eq "$(svc_state a)" ready "a after a failed heartbeat"
init_stop

# 3. Mounts, in unshare's private mount namespace (the host sees nothing).
sed -i -e 's/mounts: false/mounts: true/' -e 's/heartbeat: true/heartbeat: false/' \
	-e 's/cgroup: .*/cgroup: ""/' "$T/init.yaml"
rm -f "$T/init.log"
init_start
grep -q "evt=mount_failed" "$T/init.log" && fail "a mount failed"
grep "evt=mounted" "$T/init.log" || echo "note: every target was already mounted"
kill -TERM "$INIT_PID"
wait "$PID_init" || fail "cella-init exited $? after SIGTERM"
unset "LIB_PIDS[init]"
INIT_PID=
