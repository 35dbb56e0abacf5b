#!/bin/bash
# cli_exit_codes: the same kind of path error ends with the same exit code
# in every verb (the table in `cella --help` and the README): 66 a path to
# read that is missing or unusable, 73 a path to write that cannot be
# made, 77 refused, 64 an enclave path the rules refuse. Each kind is
# tried in cp (both directions, both sides), config, up, down, verify,
# keygen, sim-ca and a bridge verb's --key/--root, against a real
# cella-pipeline.
. "$CELLA_SOURCE_ROOT/tests/integ/lib.sh"
. "$CELLA_SOURCE_ROOT/tests/integ/pipeline_lib.sh"

H=$SHM/host
mkdir -p "$H" "$R/dir"
pipe_config 'enclave: {debug: true}'
pipe_start
echo data >"$H/file"
echo data >"$R/file"
"$CELLA" keygen --out "$T/op.pem" >/dev/null || fail "keygen"
BRIDGE=(--enclave vsock://16 --key "$T/op.pem")
export CELLA_VSOCK_DIR=$T/vsock CELLA_VSOCK_CID=3
mkdir -p "$CELLA_VSOCK_DIR"

kind() { # code, then one command per argument (a string, split on blanks)
	local code=$1 c
	shift
	for c in "$@"; do
		# shellcheck disable=SC2086
		expect_exit "$code" $c
	done
}

# 66: a path to read is missing, unreadable or not the kind of file needed.
kind 66 \
	"cella cp $H/missing :$R/x" \
	"cella cp :$R/missing $H/x" \
	"cella config -q -f $T/missing.yaml" \
	"cella config -q -f $T" \
	"cella up -f $T/missing.yaml" \
	"cella down -f $T/missing.yaml" \
	"cella verify $T/missing.cbor" \
	"cella verify --root $T/missing.pem $H/file" \
	"cella keygen --show --out $T/missing.pem" \
	"cella sim-ca issue --dir $T/missing --out $T/enc" \
	"cella ps --enclave vsock://16 --key $T/missing.pem" \
	"cella ps ${BRIDGE[*]} --root $T/missing.pem"

# 73: a path to write cannot be made.
kind 73 \
	"cella cp $H/file :$R/nodir/" \
	"cella cp :$R/file $H/nodir/" \
	"cella cp :$R/file $H/nodir/x" \
	"cella cp $H :$R/file" \
	"cella cp :$R/dir $H/file" \
	"cella keygen --out $H/file/x.pem" \
	"cella keygen --out $T/op.pem"
mkdir -p "$T/ca"
"$CELLA" sim-ca init --dir "$T/ca" >/dev/null || fail "sim-ca init"
kind 73 "cella sim-ca init --dir $T/ca"

# 77: refused (allowed roots, a path leading out of them, a key others read).
ln -s / "$R/out"
chmod 644 "$T/op.pem"
kind 77 \
	"cella cp $H/file :/etc/cella-no" \
	"cella cp $H/file :$R/out/tmp/cella-no" \
	"cella cp :$R/out/etc/hostname $H/x" \
	"cella ps ${BRIDGE[*]}"
chmod 600 "$T/op.pem"
rm "$R/out"

# 64: an enclave path the rules refuse.
kind 64 \
	"cella cp $H/file :$R/../x" \
	"cella cp :$R/../file $H/x"

[ ! -e "$H/x" ] && [ ! -e "$R/x" ] || fail "a refused command wrote something"
expect_exit 0 cella --help
expect_contains "$T/last.out" "66  a path to read is missing"
stop pipeline
