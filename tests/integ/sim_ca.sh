# sim_ca: `cella sim-ca init` and `issue` write the files they promise
# with the right modes, refuse to overwrite without --force, and the chain
# verifies with openssl; a document the sim signs under the issued CA
# verifies with `cella verify` pinned to the sim root, and not without it.
. "$CELLA_SOURCE_ROOT/tests/integ/lib.sh"

CELLA=$B/services/cella/cella
mode() { stat -c %a "$1"; }

expect_exit 0 "$CELLA" sim-ca --help
expect_contains "$T/last.out" "cabundle.pem"
expect_exit 64 "$CELLA" sim-ca
expect_exit 64 "$CELLA" sim-ca init
expect_exit 64 "$CELLA" sim-ca frobnicate --dir "$T/ca"

expect_exit 0 "$CELLA" sim-ca init --dir "$T/ca"
expect_eq "$(mode "$T/ca")" 700 "CA dir mode"
expect_eq "$(mode "$T/ca/root.key")" 600 "root.key mode"
expect_eq "$(mode "$T/ca/regional.key")" 600 "regional.key mode"
expect_eq "$(mode "$T/ca/root.pem")" 644 "root.pem mode"
expect_eq "$(mode "$T/ca/regional.pem")" 644 "regional.pem mode"
ls -A "$T/ca" | grep -q '^\.' && fail "temporary files left in $T/ca"
before=$(sha256sum "$T/ca/root.key" "$T/ca/root.pem")

# again without --force: refused, nothing touched
expect_exit 73 "$CELLA" sim-ca init --dir "$T/ca"
expect_contains "$T/last.err" "root.key exists; --force replaces it"
expect_eq "$(sha256sum "$T/ca/root.key" "$T/ca/root.pem")" "$before" \
	"files after a refused init"

expect_exit 66 "$CELLA" sim-ca issue --dir "$T/none" --out "$T/enc"
expect_contains "$T/last.err" "run 'cella sim-ca init"
expect_exit 64 "$CELLA" sim-ca issue --dir "$T/ca" --out "$T/enc" --name 'a.b'

expect_exit 0 "$CELLA" sim-ca issue --dir "$T/ca" --out "$T/enc" \
	--name test-enclave --days 2
expect_eq "$(mode "$T/enc")" 700 "enclave dir mode"
expect_eq "$(mode "$T/enc/signer.key")" 600 "signer.key mode"
expect_eq "$(mode "$T/enc/cabundle.pem")" 644 "cabundle.pem mode"
[ -e "$T/enc/root.key" ] || [ -e "$T/enc/regional.key" ] &&
	fail "a CA key reached the enclave directory"
expect_eq "$(grep -c 'BEGIN CERTIFICATE' "$T/enc/cabundle.pem")" 3 \
	"certificates in cabundle.pem"

# root first: split the bundle and verify the instance CA with openssl
awk -v d="$T" '/BEGIN CERT/{n++} {print > (d "/cert" n ".pem")}' \
	"$T/enc/cabundle.pem"
cmp -s "$T/cert1.pem" "$T/ca/root.pem" || fail "cabundle does not start with the root"
openssl verify -CAfile "$T/ca/root.pem" -untrusted "$T/cert2.pem" \
	"$T/cert3.pem" >"$T/verify.out" 2>&1 || {
	cat "$T/verify.out" >&2
	fail "openssl verify refused the issued chain"
}
openssl x509 -in "$T/cert3.pem" -noout -subject | grep -q 'CN = test-enclave\.' ||
	fail "instance CA not named after --name"
openssl x509 -in "$T/cert3.pem" -noout -ext basicConstraints |
	grep -q 'pathlen:0' || fail "instance CA without pathlen 0"
[ "$(openssl pkey -in "$T/enc/signer.key" -pubout)" = \
	"$(openssl x509 -in "$T/cert3.pem" -noout -pubkey)" ] ||
	fail "signer.key is not the instance CA's key"

key=$(sha256sum <"$T/enc/signer.key")
expect_exit 73 "$CELLA" sim-ca issue --dir "$T/ca" --out "$T/enc"
expect_exit 0 "$CELLA" sim-ca issue --dir "$T/ca" --out "$T/enc" \
	--name test-enclave --force
[ "$(sha256sum <"$T/enc/signer.key")" != "$key" ] || fail "--force kept the old key"

# end to end: the sim signs under the issued CA, cella verify agrees
expect_exit 0 "$B/tests/bench/sim_bench" --ca "$T/enc" --nonce 00c0ffee \
	--doc "$T/doc.cbor"
expect_contains "$T/last.out" "module_id=test-enclave-enc"
expect_exit 0 "$CELLA" verify --root "$T/ca/root.pem" --nonce 00c0ffee \
	"$T/doc.cbor"
expect_exit 1 "$CELLA" verify "$T/doc.cbor"
expect_contains "$T/last.err" "invalid: root"
expect_exit 1 "$CELLA" verify --root "$T/ca/root.pem" --nonce 00c0fffe \
	"$T/doc.cbor"
echo "sim_ca: ok"
