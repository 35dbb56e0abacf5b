# ra_web_mtls: with attestation.https.client_ca set, a client certificate
# issued by that CA is accepted; no certificate, a certificate from another
# CA and a self-signed one are refused in the handshake; the server keeps
# serving and counts the refusals in /metrics.
. "$CELLA_SOURCE_ROOT/tests/integ/ra_lib.sh"

# two client CAs and a client certificate from each, plus a self-signed one
mkca() {
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
		-keyout "$T/$1.key" -out "$T/$1.pem" -days 2 -subj "/CN=$1" \
		-addext basicConstraints=critical,CA:TRUE \
		-addext keyUsage=critical,keyCertSign >/dev/null 2>&1 ||
		fail "making CA $1"
}
mkclient() { # NAME CA
	openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
		-keyout "$T/$1.key" -out "$T/$1.csr" -subj "/CN=$1" \
		>/dev/null 2>&1 &&
		openssl x509 -req -in "$T/$1.csr" -CA "$T/$2.pem" \
			-CAkey "$T/$2.key" -CAcreateserial -days 2 \
			-extfile <(echo "extendedKeyUsage=clientAuth") \
			-out "$T/$1.pem" >/dev/null 2>&1 || fail "client $1"
}
mkca ca-ok
mkca ca-other
mkclient alice ca-ok
mkclient mallory ca-other
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
	-keyout "$T/self.key" -out "$T/self.pem" -days 2 -subj "/CN=self" \
	>/dev/null 2>&1 || fail "self-signed client"

ra_start ra --client-ca "$T/ca-ok.pem"
expect_contains "$T/ra.log" "mtls=yes"

# accepted: a certificate from the configured CA, over h2 and HTTP/1.1
for proto in --http2 --http1.1; do
	expect_eq "$(ra_get /healthz "$proto" --cert "$T/alice.pem" \
		--key "$T/alice.key")" 200 "client from the configured CA $proto"
done
nonce=$(head -c 32 /dev/urandom | od -An -v -tx1 | tr -d ' \n')
expect_eq "$(ra_get "/v1/attestation?nonce=$nonce" --cert "$T/alice.pem" \
	--key "$T/alice.key")" 200 "attestation over mTLS"
verify_doc "$T/body" "$nonce"

# refused: no certificate, another CA's, a self-signed one
refused() {
	local code
	code=$(curl -sS -k -o /dev/null -w '%{http_code}' "$@" "$URL/healthz" \
		2>"$T/refused.err") && [ "$code" != 000 ] &&
		fail "mTLS accepted: $* (status $code)"
	return 0
}
refused
refused --cert "$T/mallory.pem" --key "$T/mallory.key"
refused --cert "$T/self.pem" --key "$T/self.key"
refused --http1.1 --cert "$T/mallory.pem" --key "$T/mallory.key"

# still serving; the refusals were counted
expect_eq "$(ra_get /metrics --cert "$T/alice.pem" --key "$T/alice.key")" \
	200 "/metrics after refusals"
n=$(sed -n 's/^cella_ra_errors_total{kind="tls_handshake"} //p' "$T/body")
[ "${n:-0}" -ge 3 ] || fail "tls_handshake errors counted: '$n', expected >= 3"
expect_contains "$T/ra.log" "evt=tls_alert"

# an unreadable client CA is a configuration error (78), found at start
expect_exit 78 "$RA" --provider sim --sim-ca "$T/enc" \
	--listen tcp://127.0.0.1:0 --ra-socket "ipc://$T/x.sock" \
	--client-ca "$T/nonexistent.pem"
expect_contains "$T/last.err" "client_ca"
stop ra
echo "ra_web_mtls: ok"
