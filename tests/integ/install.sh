# `meson install` puts every binary of the suite into bindir, and a staged
# install (--destdir) runs on its own: every binary answers --help from
# there, and a whole enclave (init, ra-web, the bridge) serves an operator
# with nothing from the build tree on PATH.
. "$CELLA_SOURCE_ROOT/tests/integ/lib.sh"

meson install -C "$B" --destdir "$T/stage" --no-rebuild --quiet ||
	fail "meson install --destdir failed"
bindir=$(meson introspect "$B" --buildoptions |
	python3 -c 'import json,sys; o={x["name"]: x["value"] for x in json.load(sys.stdin)}; print(o["prefix"] + "/" + o["bindir"])')
stage=$T/stage$bindir
for b in cella cella-init cella-launch cella-pf-proxy cella-ra-web cella-pipeline; do
	[ -x "$stage/$b" ] || fail "$b is not installed in $bindir"
	expect_exit 0 "$stage/$b" --help
done
CELLA_BIN_DIR=$stage bash "$S/tests/integ/bridge_ok.sh" >"$T/bridge.out" 2>&1 ||
	{ tail -n 30 "$T/bridge.out" >&2; fail "the bridge test failed on the staged install"; }
