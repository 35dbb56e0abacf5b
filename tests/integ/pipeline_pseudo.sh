#!/bin/bash
# pipeline_pseudo: files whose size says nothing (procfs reports 0 bytes,
# sysfs 4096) are copied with what they hold, both ways: /proc/self/status
# came out as an empty file with exit 0, a sysfs file as a read error. One
# that holds more than a chunk is refused with the reason, nothing written;
# an empty ordinary file is still an empty file.
. "$CELLA_SOURCE_ROOT/tests/integ/lib.sh"
. "$CELLA_SOURCE_ROOT/tests/integ/pipeline_lib.sh"

SYSF=/sys/devices/system/cpu/online
[ -r /proc/self/status ] && [ -r "$SYSF" ] || skip "no /proc or /sys here"
H=$SHM/host
mkdir -p "$H"
pipe_config 'enclave: {debug: true}'
sed -i "s|  roots: \[$R\]|  roots: [$R, /proc, /sys]|" "$T/cella.yaml"
grep -q "roots: \[$R, /proc, /sys\]" "$T/cella.yaml" || fail "config not as meant"
pipe_start
json() { python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))[sys.argv[2]])' "$T/last.out" "$1"; }

# --- out of the enclave ---
expect_exit 0 cella cp -q --json :/proc/self/status "$H/status"
expect_contains "$H/status" "Name:	cella-pipeline"
expect_eq "$(json bytes)" "$(stat -c %s "$H/status")" "bytes in the summary"
expect_eq "$(json sha256)" "$(sha256sum <"$H/status" | cut -d' ' -f1)" "sha256"
[ "$(stat -c %s "$H/status")" -gt 100 ] || fail "status came out nearly empty"
expect_exit 0 cella cp -q ":$SYSF" "$H/online"
expect_eq "$(cat "$H/online")" "$(cat "$SYSF")" "a sysfs file (st_size 4096)"
if [ -r /proc/kallsyms ] && [ "$(head -c 2000000 /proc/kallsyms | wc -c)" -gt 1048576 ]; then
	expect_exit 1 cella cp -q :/proc/kallsyms "$H/kallsyms"
	expect_contains "$T/last.err" "has no size of its own"
	expect_contains "$T/last.err" "more than 1048576 bytes"
	[ ! -e "$H/kallsyms" ] || fail "a refused pseudo file was written"
fi

# --- into the enclave ---
expect_exit 0 cella cp -q /proc/self/status ":$R/status"
expect_contains "$R/status" "Name:	cella"
expect_exit 0 cella cp -q "$SYSF" ":$R/online"
expect_eq "$(cat "$R/online")" "$(cat "$SYSF")" "a sysfs file into the enclave"
if [ -r /proc/kallsyms ] && [ "$(head -c 2000000 /proc/kallsyms | wc -c)" -gt 1048576 ]; then
	expect_exit 1 cella cp -q /proc/kallsyms ":$R/kallsyms"
	expect_contains "$T/last.err" "has no size of its own"
	[ ! -e "$R/kallsyms" ] || fail "a refused pseudo file was written"
fi

# --- an empty ordinary file stays one ---
: >"$H/empty"
expect_exit 0 cella cp -q "$H/empty" ":$R/empty"
expect_eq "$(stat -c %s "$R/empty")" 0 "empty file in"
expect_exit 0 cella cp -q ":$R/empty" "$H/empty2"
expect_eq "$(stat -c %s "$H/empty2")" 0 "empty file out"
stop pipeline
