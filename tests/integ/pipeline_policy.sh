#!/bin/bash
# The policy decides whether cella-pipeline runs commands or moves files
# at all: a production enclave (enclave.debug false) refuses exec unless
# policy.exec, and files unless policy.files, with a clear error (exit 77),
# and nothing runs or is written; debug mode allows both.
. "$CELLA_SOURCE_ROOT/tests/integ/lib.sh"
. "$CELLA_SOURCE_ROOT/tests/integ/pipeline_lib.sh"

echo small >"$SHM/small"
pipe_config 'enclave: {debug: false}'
pipe_start
expect_exit 77 cella exec -- touch "$SHM/ran"
expect_contains "$T/last.err" "exec is disabled by policy (policy.exec is false and enclave.debug is false)"
expect_exit 77 cella cp "$SHM/small" ":$R/small"
expect_contains "$T/last.err" "file transfers are disabled by policy"
expect_exit 77 cella cp ":$R" "$SHM/out"
[ ! -e "$SHM/ran" ] && [ ! -e "$R/small" ] && [ ! -e "$SHM/out" ] ||
	fail "something ran or was written under a production policy"
expect_eq "$(events_of exec | wc -l)" 0 "exec events under a production policy"
expect_contains "$T/pipeline.log" "exec=denied files=denied"

pipe_config 'policy: {files: true}'
pipe_restart
expect_exit 77 cella exec -- touch "$SHM/ran"
expect_exit 0 cella cp "$SHM/small" ":$R/small"
[ ! -e "$SHM/ran" ] && [ -e "$R/small" ] || fail "policy.files alone"

pipe_config 'policy: {exec: true}'
pipe_restart
expect_exit 0 cella exec -- touch "$SHM/ran"
expect_exit 77 cella cp "$SHM/small" ":$R/small2"
[ -e "$SHM/ran" ] && [ ! -e "$R/small2" ] || fail "policy.exec alone"

pipe_config 'enclave: {debug: true}'
pipe_restart
expect_exit 0 cella exec -- true
expect_exit 0 cella cp "$SHM/small" ":$R/small2"

# a config the pipeline cannot use is refused before it serves
pipe_config 'enclave: {debug: true}' '  chunk_bytes: 1000'
expect_exit 78 "$B/services/pipeline/cella-pipeline" --config "$T/cella.yaml" --check-config
expect_contains "$T/last.err" "pipeline.chunk_bytes"
sed -i 's|roots: \[.*\]|roots: [relative/path]|' "$T/cella.yaml"
expect_exit 78 "$B/services/pipeline/cella-pipeline" --config "$T/cella.yaml" --check-config
expect_contains "$T/last.err" "expected an absolute path"
stop pipeline
