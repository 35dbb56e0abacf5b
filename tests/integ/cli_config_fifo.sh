#!/bin/bash
# cli_config_fifo: a configuration that is not a regular file (a FIFO no
# one writes to, a directory, a device) is refused at once with what it is,
# by the CLI (exit 66, the input path is wrong), by every daemon that
# reads cella.yaml (exit 78, a permanent config error) and for
# the operator key, instead of blocking forever in open(). A regular file
# works.
. "$CELLA_SOURCE_ROOT/tests/integ/lib.sh"

CELLA=$B/services/cella/cella
mkfifo "$T/fifo.yaml"
mkdir "$T/dir.yaml"
printf 'name: ok\n' >"$T/ok.yaml"

# A hang shows as timeout's 124, never as a pass.
within() { timeout 20 "$@"; }

for f in "$T/fifo.yaml:a FIFO" "$T/dir.yaml:a directory" \
	"/dev/null:a character device"; do
	path=${f%%:*} kind=${f#*:}
	expect_exit 66 within "$CELLA" config -q -f "$path"
	expect_contains "$T/last.err" "$path: not a regular file ($kind)"
	expect_exit 66 within "$CELLA" up -f "$path"
	expect_contains "$T/last.err" "$path: not a regular file ($kind)"
done
expect_exit 0 within "$CELLA" config -q -f "$T/ok.yaml"

# The daemons: a permanent configuration error, named in the log (ra-web
# too: a config path it cannot use is no temporary fault).
for d in init/cella-init:78 pipeline/cella-pipeline:78 \
	pf-proxy/cella-pf-proxy:78 ra-web/cella-ra-web:78; do
	expect_exit "${d#*:}" within "$B/services/${d%:*}" --config "$T/fifo.yaml"
	expect_contains "$T/last.err" "$T/fifo.yaml: not a regular file (a FIFO)"
done
# The operator key, a FIFO where the PEM file should be.
expect_exit 66 within "$CELLA" keygen --show --out "$T/fifo.yaml"
expect_contains "$T/last.err" "$T/fifo.yaml: not a regular file (a FIFO)"
