# ra_web_https: cella-ra-web with the sim provider, fetched over HTTPS by
# curl. Documents for fresh random nonces verify under the simulation
# root with the measured PCRs (CBOR and JSON, HTTP/1.1 and h2);
# /v1/pcrs agrees with the internal API's DescribePCR; /v1/certificate
# binds the SHA-256 of the SubjectPublicKeyInfo of the certificate the
# TLS handshake actually served, and that certificate pins the server;
# TLS 1.2 is refused by default and accepted when configured.
. "$CELLA_SOURCE_ROOT/tests/integ/ra_lib.sh"

ra_start ra

expect_eq "$(ra_get /healthz)" 200 "/healthz"
expect_eq "$(json "$T/body" 'j["status"]')" ok "/healthz body"

# fresh nonces, both HTTP versions, CBOR by default
for proto in --http1.1 --http2; do
	for i in 1 2 3; do
		nonce=$(head -c 32 /dev/urandom | od -An -v -tx1 | tr -d ' \n')
		expect_eq "$(ra_get "/v1/attestation?nonce=$nonce" "$proto" \
			-D "$T/headers")" 200 "attestation $proto"
		grep -qi '^content-type: application/cbor' "$T/headers" ||
			fail "attestation without application/cbor"
		grep -qi '^cache-control: no-store' "$T/headers" ||
			fail "attestation without Cache-Control: no-store"
		verify_doc "$T/body" "$nonce"
		expect_eq "$(json "$T/verified" 'j["nonce"]')" "$nonce" "nonce"
		expect_eq "$(json "$T/verified" 'j["user_data"]')" None "user_data"
	done
done
# the same nonce, upper case: still that nonce
nonce=00C0FFEE
expect_eq "$(ra_get "/v1/attestation?nonce=$nonce")" 200 "upper-case hex"
verify_doc "$T/body" 00c0ffee
# a 1024-byte nonce is the largest accepted
big=$(head -c 1024 /dev/urandom | od -An -v -tx1 | tr -d ' \n')
expect_eq "$(ra_get "/v1/attestation?nonce=$big")" 200 "1024-byte nonce"
verify_doc "$T/body" "$big"

# JSON by Accept: {"document": base64, "nonce": hex}
nonce=$(head -c 16 /dev/urandom | od -An -v -tx1 | tr -d ' \n')
expect_eq "$(ra_get "/v1/attestation?nonce=$nonce" \
	-H 'Accept: application/json' -D "$T/headers")" 200 "JSON attestation"
grep -qi '^content-type: application/json' "$T/headers" ||
	fail "JSON attestation without application/json"
expect_eq "$(json "$T/body" 'j["nonce"]')" "$nonce" "JSON nonce"
json "$T/body" 'j["document"]' >"$T/doc.b64"
verify_doc "$T/doc.b64" "$nonce"
# q-values choose
expect_eq "$(ra_get "/v1/attestation?nonce=$nonce" \
	-H 'Accept: application/cbor;q=0.5, application/json' -D "$T/headers")" \
	200 "Accept with q"
grep -qi '^content-type: application/json' "$T/headers" ||
	fail "q-values ignored"

# /v1/pcrs: index -> hex, as the internal API and the measurements say
expect_eq "$(ra_get /v1/pcrs)" 200 "/v1/pcrs"
expect_eq "$(json "$T/body" 'len(j)')" 32 "PCR count"
expect_eq "$(json "$T/body" 'j["0"]')" "$PCR0" "PCR0"
expect_eq "$(json "$T/body" 'j["2"]')" "$PCR2" "PCR2"
"$RATOOL" "$RA_SOCK" extend 17 c0ffee >/dev/null || fail "extend 17"
expect_eq "$(ra_get /v1/pcrs)" 200 "/v1/pcrs after extend"
for i in 0 4 16 17 31; do
	want=$("$RATOOL" "$RA_SOCK" describe-pcr "$i" | sed 's/.*value=//')
	expect_eq "$(json "$T/body" "j[\"$i\"]")" "$want" "PCR$i against DescribePCR"
done

# /v1/certificate: user_data = SHA-256(SPKI of the served certificate)
openssl s_client -connect "${URL#https://}" -servername localhost \
	</dev/null 2>/dev/null | openssl x509 >"$T/served.pem" ||
	fail "no certificate from the TLS handshake"
spki=$(openssl x509 -in "$T/served.pem" -pubkey -noout |
	openssl pkey -pubin -outform DER | sha256sum | cut -c1-64)
expect_eq "$(ra_get /v1/certificate -D "$T/headers")" 200 "/v1/certificate"
grep -qi '^content-type: application/json' "$T/headers" ||
	fail "certificate without application/json"
json "$T/body" 'j["certificate"]' | sed '/^$/d' >"$T/cert.pem"
cmp -s <(openssl x509 -in "$T/cert.pem" -outform DER) \
	<(openssl x509 -in "$T/served.pem" -outform DER) ||
	fail "/v1/certificate is not the certificate TLS served"
expect_eq "$(json "$T/body" 'j["spki_sha256"]')" "$spki" "spki_sha256"
json "$T/body" 'j["document"]' >"$T/cdoc.b64"
"$CELLA" verify --root "$T/ca/root.pem" --json --pcr "0=$PCR0" \
	"$T/cdoc.b64" >"$T/verified" || fail "certificate document refused"
expect_eq "$(json "$T/verified" 'j["user_data"]')" "$spki" \
	"user_data of the certificate document"
expect_eq "$(json "$T/verified" 'j["nonce"]')" None "certificate doc nonce"
# the leaf's expiry is the document's refresh point
not_after=$(json "$T/body" 'j["not_after"]')
[ "$not_after" -gt "$(date +%s)" ] || fail "not_after in the past"
# cached: the same document again; CBOR on request carries the same one
first=$(json "$T/body" 'j["document"]')
ra_get /v1/certificate >/dev/null
expect_eq "$(json "$T/body" 'j["document"]')" "$first" "cached document"
expect_eq "$(ra_get /v1/certificate -H 'Accept: application/cbor' \
	-D "$T/headers")" 200 "CBOR certificate"
grep -qi '^content-type: application/cbor' "$T/headers" ||
	fail "CBOR certificate without application/cbor"
python3 - "$T/body" "$first" "$T/served.pem" <<'EOF' || fail "CBOR certificate body"
import base64, subprocess, sys
b = open(sys.argv[1], 'rb').read()
doc = base64.b64decode(sys.argv[2])
der = subprocess.run(['openssl', 'x509', '-in', sys.argv[3], '-outform', 'DER'],
                     capture_output=True, check=True).stdout
# a 4-key map of text keys; the byte strings must appear verbatim
assert b[0] == 0xa4, hex(b[0])
assert doc in b and der in b, "document or certificate missing"
EOF

# the served certificate pins the server: 127.0.0.1 is in its SAN
curl -sS --cacert "$T/served.pem" -o /dev/null "$URL/healthz" ||
	fail "the certificate does not verify for its own address"

# TLS 1.2: refused by default, accepted with --tls-min 1.2
curl -sS -k --tls-max 1.2 -o /dev/null "$URL/healthz" 2>"$T/tls12.err" &&
	fail "TLS 1.2 accepted under tls_min 1.3"
stop ra
ra_start ra12 --tls-min 1.2
curl -sS -k --tls-max 1.2 -o /dev/null -w '%{http_code}' "$URL/healthz" \
	>"$T/code" || fail "TLS 1.2 refused under tls_min 1.2"
expect_eq "$(cat "$T/code")" 200 "TLS 1.2 request"
stop ra12
echo "ra_web_https: ok"
