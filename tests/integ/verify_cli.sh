#!/bin/bash
# verify_cli: `cella verify` on the real Nitro documents and on bad command
# lines: exit codes (0 valid, 1 invalid, 64 usage), the exact one-line
# verdicts, stdin and base64/raw input, --json, --root, the policy flags.
. "$CELLA_SOURCE_ROOT/tests/integ/lib.sh"

C="$B/services/cella/cella"
V="$S/tests/vectors/nitro"
[ -x "$C" ] || fail "no $C"

# invalid DOC AT EXPECTED_LINE [FLAGS...]: exit 1, exactly that one line.
invalid() {
	local doc=$1 at=$2 want=$3
	shift 3
	expect_exit 1 "$C" verify --at "$at" "$@" "$V/$doc"
	expect_eq "$(cat "$T/last.err")" "$want" "$doc at $at"
	expect_eq "$(wc -l <"$T/last.err")" "1" "$doc: stderr lines"
	expect_eq "$(wc -c <"$T/last.out")" "0" "$doc: stdout"
}

valid() {
	local doc=$1 at=$2 want=$3
	shift 3
	expect_exit 0 "$C" verify --at "$at" "$@" "$V/$doc"
	expect_eq "$(cat "$T/last.out")" "$want" "$doc at $at"
	expect_eq "$(wc -c <"$T/last.err")" "0" "$doc: stderr"
}

DEBUG="invalid: debug: PCR0, PCR1 and PCR2 are zero (debug-mode enclave)"

# --- the real documents at their times, and a day either side
valid blocky-nitrite_valid_2024-09-07.b64 1725719859 \
	"valid: module_id=i-0a22e5c5f24d22174-enc0191cceb4289903f timestamp=1725719859545"
invalid blocky-nitrite_valid_2024-09-07.b64 $((1725719859 - 86400)) \
	"invalid: chain: cabundle[2]: certificate is not yet valid"
invalid blocky-nitrite_valid_2024-09-07.b64 $((1725719859 + 86400)) \
	"invalid: chain: cabundle[3]: certificate has expired"
invalid blocky-nitrite_debug_2024-09-07.b64 1725719886 "$DEBUG"
valid blocky-nitrite_debug_2024-09-07.b64 1725719886 \
	"valid: module_id=i-0a22e5c5f24d22174-enc0191ccebaf8feaba timestamp=1725719886508" \
	--allow-debug
invalid blocky-nitrite_selfsigned_NOT-AWS.b64 1713379906 \
	"invalid: cose: unprotected header is not a map" --allow-debug
valid evervault_beta-valid_2022-10-13.cbor 1665651482 \
	"valid: module_id=i-020b6af9246d90e92-enc0183d09086c24190 timestamp=1665651482136"
invalid evervault_beta-debug_2022-10-12.cbor 1665582606 "$DEBUG"
valid evervault_beta-debug_2022-10-12.cbor 1665582606 \
	"valid: module_id=i-03ad7cdb817437eeb-enc0183cc7569b3f6e1 timestamp=1665582606081" \
	--allow-debug
invalid evervault_beta-debug_2022-10-12.cbor $((1665582606 + 86400)) \
	"invalid: chain: cabundle[3]: certificate has expired" --allow-debug
invalid evervault_debug_2023-01-18.cbor 1674054914 "$DEBUG"
valid evervault_debug_2023-01-18.cbor 1674054914 \
	"valid: module_id=i-06e1ffc9a8410edb1-enc0185c56e099c2d54 timestamp=1674054632312" \
	--allow-debug
valid eternis_valid_2024-07-31.b64 1722455771 \
	"valid: module_id=i-0809070ca8037095f-enc01910a5cff6ce304 timestamp=1722455771686"
invalid eternis_INVALID-signature_2024-07-23.b64 1721770180 \
	"invalid: signature: ES384 signature does not verify" --allow-debug

# --- the policy flags
E=eternis_valid_2024-07-31.b64
EID="valid: module_id=i-0809070ca8037095f-enc01910a5cff6ce304 timestamp=1722455771686"
PCR0=a873085089ae5e3c3c491c8e1e0ab46a713f4314b3c6401abb599ca36060922a3d6fc2a3e84d198a2131e80c60959bb3
ZERO=000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000
valid $E 1722455771 "$EID" --nonce 0000000000000000000000000000000000000001
invalid $E 1722455771 "invalid: nonce: does not match" \
	--nonce 0000000000000000000000000000000000000002
valid $E 1722455771 "$EID" --pcr 0=$PCR0 --pcr 8=$ZERO
valid $E 1722455771 "$EID" --pcr 0=${PCR0^^}
invalid $E 1722455771 "invalid: pcr: PCR8 does not match" --pcr 0=$PCR0 \
	--pcr 8=${ZERO%0}1
invalid $E 1722455771 "invalid: pcr: PCR16 absent" --pcr 16=$ZERO
valid $E $((1722455771 + 100)) "$EID" --max-age 100
invalid $E $((1722455771 + 100)) "invalid: age: 99314 ms old, at most 99 s" \
	--max-age 99
valid $E 1722455771 "$EID" --root "$V/aws-nitro-enclaves-root-g1.pem"

# --- stdin, raw and base64, and --json
expect_exit 0 "$C" verify --at 1722455771 - <"$V/$E"
expect_eq "$(cat "$T/last.out")" "$EID" "base64 on stdin"
base64 -d <"$V/$E" >"$T/e.cbor"
expect_exit 0 "$C" verify --at 1722455771 "$T/e.cbor"
expect_eq "$(cat "$T/last.out")" "$EID" "raw CBOR file"
expect_exit 0 "$C" verify --at 1722455771 --json - <"$T/e.cbor"
expect_contains "$T/last.out" '"valid":	true'
expect_contains "$T/last.out" '"module_id":	"i-0809070ca8037095f-enc01910a5cff6ce304"'
expect_contains "$T/last.out" '"timestamp":	1722455771686'
expect_contains "$T/last.out" '"digest":	"SHA384"'
expect_contains "$T/last.out" "\"0\":	\"$PCR0\""
expect_contains "$T/last.out" '"nonce":	"0000000000000000000000000000000000000001"'
expect_contains "$T/last.out" '"public_key":	"64756d6d79"'
expect_contains "$T/last.out" '"CN=aws.nitro-enclaves,OU=AWS,O=Amazon,C=US"'
expect_exit 0 "$C" verify --at 1665651482 --json "$V/evervault_beta-valid_2022-10-13.cbor"
expect_contains "$T/last.out" '"user_data":	null'
expect_exit 1 "$C" verify --at 1721770180 --json "$V/eternis_INVALID-signature_2024-07-23.b64"
expect_contains "$T/last.out" '"valid":	false'
expect_contains "$T/last.out" '"check":	"signature"'

# --- not a document
printf 'not a document!' >"$T/junk"
expect_exit 1 "$C" verify "$T/junk"
expect_eq "$(cat "$T/last.err")" \
	"invalid: cose: neither CBOR nor base64 (byte 0x21 at offset 14)" "junk"
head -c 40000 /dev/zero | tr '\0' A >"$T/huge"
expect_exit 1 "$C" verify "$T/huge"
expect_eq "$(cat "$T/last.err")" "invalid: cose: input over 32768 bytes" "huge"
head -c 100 "$T/e.cbor" >"$T/short"
expect_exit 1 "$C" verify --at 1722455771 "$T/short"
expect_contains "$T/last.err" "invalid: cose: "

# --- usage errors: exit 64 and a message that says what is wrong
usage() {
	local want=$1
	shift
	expect_exit 64 "$C" verify "$@"
	expect_contains "$T/last.err" "$want"
}
usage "unknown flag '--bogus'" --bogus "$V/$E"
usage "option '--at' needs a value" "$V/$E" --at
usage "--at 'soon': expected UNIX seconds" --at soon "$V/$E"
usage "--max-age '-1': expected seconds" --max-age -1 "$V/$E"
usage "--nonce 'xyz': not hex" --nonce xyz "$V/$E"
usage "--pcr '32=$ZERO': PCR index must be 0..31" --pcr "32=$ZERO" "$V/$E"
usage "--pcr '3': expected N=HEX" --pcr 3 "$V/$E"
usage "--pcr '3=00': value must be 96 hex digits" --pcr 3=00 "$V/$E"
usage "--pcr '3=$ZERO': PCR given twice" --pcr "3=$ZERO" --pcr "3=$ZERO" "$V/$E"
usage "expected one FILE" 
usage "expected one FILE" "$V/$E" "$V/$E"
# A file it cannot read is a path error (66), as in every verb.
expect_exit 66 "$C" verify "$T/missing"
expect_contains "$T/last.err" "$T/missing: No such file or directory"
expect_exit 66 "$C" verify --root "$T/junk" "$V/$E"
expect_contains "$T/last.err" "--root $T/junk: no PEM certificate in it"
expect_exit 0 "$C" verify --help
expect_contains "$T/last.out" "usage: cella verify [OPTIONS] FILE|-"
expect_exit 0 "$C" --help
expect_contains "$T/last.out" "verify"

echo "verify_cli: ok"
