# ra_web_refresh: the certificate's document is renewed before its leaf
# expires (cert_refresh_ms ahead of it; here almost the leaf's whole
# 3-hour life, so renewals come every second): each renewal is a new
# document, signed by a new leaf, still binding the same TLS key, and
# responses never stall or fail meanwhile.
. "$CELLA_SOURCE_ROOT/tests/integ/ra_lib.sh"

cat >"$T/ra.yaml" <<EOF2
attestation:
  cert_refresh_ms: 10799000
EOF2
ra_start ra --config "$T/ra.yaml"
expect_eq "$(ra_get /v1/certificate)" 200 "first certificate"
first=$(json "$T/body" 'j["document"]')
spki=$(json "$T/body" 'j["spki_sha256"]')
# Serving all the while: every answer meanwhile is a 200 (else noted).
renewed_twice() {
	[ "$(grep -c 'evt=cert_refreshed' "$T/ra.log")" -ge 2 ] && return 0
	code=$(ra_get /v1/certificate)
	[ "$code" = 200 ] || echo "$code" >>"$T/bad_codes"
	return 1
}
try_for 10 renewed_twice || fail "no renewals in 10 s"
[ ! -e "$T/bad_codes" ] ||
	fail "certificate during renewals: got $(tr '\n' ' ' <"$T/bad_codes")"
expect_eq "$(ra_get /v1/certificate)" 200 "renewed certificate"
[ "$(json "$T/body" 'j["document"]')" != "$first" ] ||
	fail "the document was not renewed"
expect_eq "$(json "$T/body" 'j["spki_sha256"]')" "$spki" "the same TLS key"
json "$T/body" 'j["document"]' >"$T/doc.b64"
"$CELLA" verify --root "$T/ca/root.pem" --json --pcr "0=$PCR0" \
	"$T/doc.b64" >"$T/verified" || fail "renewed document refused"
expect_eq "$(json "$T/verified" 'j["user_data"]')" "$spki" "renewed user_data"
stop ra
echo "ra_web_refresh: ok"
