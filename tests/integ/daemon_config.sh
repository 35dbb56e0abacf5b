#!/bin/bash
# daemon_config: every daemon spells --check-config the same way and
# answers it with 0 for a good cella.yaml; a config file that is missing,
# or not a readable regular file, is a configuration failure like a wrong
# key: exit 78, which init's policy treats as permanent (66, say, would
# read as temporary and be restarted in a loop). Both with --check-config
# and on a real start.
. "$CELLA_SOURCE_ROOT/tests/integ/lib.sh"

INIT=$B/services/init/cella-init
PIPE=$B/services/pipeline/cella-pipeline
RA=$B/services/ra-web/cella-ra-web
PFP=$B/services/pf-proxy/cella-pf-proxy
cat >"$T/good.yaml" <<YAML
init:
  mounts: false
  loopback: false
  entropy: false
  heartbeat: false
  poweroff: false
  cgroup: ""
  control: ipc://$T/init.sock
pipeline:
  listen: ipc://$T/pipeline.sock
  roots: [$T]
YAML
mkdir "$T/dir"

for d in "$INIT" "$PIPE" "$RA" "$PFP"; do
	extra=()
	[ "$d" = "$PFP" ] && extra=(--forward "unix://$T/a.sock=unix://$T/b.sock")
	expect_exit 0 "$d" --check-config --config "$T/good.yaml" "${extra[@]}"
	expect_exit 78 "$d" --check-config --config "$T/missing.yaml" "${extra[@]}"
	expect_contains "$T/last.err" "$T/missing.yaml"
	expect_exit 78 "$d" --check-config --config "$T/dir" "${extra[@]}"
	expect_exit 78 "$d" --config "$T/missing.yaml" "${extra[@]}"
	expect_contains "$T/last.err" "missing.yaml"
	# --check-config is in every daemon's --help
	expect_exit 0 "$d" --help
	expect_contains "$T/last.out" "--check-config"
	echo "${d##*/}: ok"
done
# A check opened nothing.
[ ! -e "$T/a.sock" ] && [ ! -e "$T/init.sock" ] && [ ! -e "$T/pipeline.sock" ] ||
	fail "a check opened a socket"
echo "daemon_config: ok"
