# ra_web_bad: bad input never crashes cella-ra-web and always gets its
# answer: each malformed request a 4xx with a JSON error body, after
# which the server keeps serving; requests beyond h2o's own parser limits,
# garbage instead of TLS, plain HTTP on the TLS port and connections over
# the cap are closed without harm. /metrics is Prometheus text, line by
# line, and counts what happened.
. "$CELLA_SOURCE_ROOT/tests/integ/ra_lib.sh"

ra_start ra

bad() { # STATUS PATH [CURL ARGS]: a JSON error, then still serving
	local want=$1 path=$2
	shift 2
	expect_eq "$(ra_get "$path" "$@")" "$want" "GET $path $*"
	expect_json_error "$want"
	expect_eq "$(ra_get /healthz)" 200 "serving after $path"
}

hex() { head -c "$1" /dev/zero | od -An -v -tx1 | tr -d ' \n'; }

bad 400 "/v1/attestation"
bad 400 "/v1/attestation?nonce="
bad 400 "/v1/attestation?nonce=zz"
bad 400 "/v1/attestation?nonce=abc"
expect_eq "$(ra_get "/v1/attestation?nonce=$(hex 1025)")" 400 "1025-byte nonce"
expect_contains "$T/body" "1025 bytes, over 1024"
bad 400 "/v1/attestation?nonce=00&nonce=11"
bad 400 "/v1/attestation?nonce=00&debug=1"
bad 400 "/v1/attestation?nonce=%30%30"
bad 400 "/v1/pcrs?x=1"
bad 406 "/v1/attestation?nonce=00" -H 'Accept: text/html'
bad 406 "/v1/certificate" -H 'Accept: image/png'
bad 404 "/"
bad 404 "/v1/attestation/x?nonce=00"
bad 404 "/v2/attestation"
bad 404 "/../../etc/passwd"
bad 405 "/v1/attestation?nonce=00" -X POST -d 'x'
grep -qi '^allow: GET' <(curl -sS -k -D - -o /dev/null -X DELETE "$URL/healthz") ||
	fail "405 without Allow: GET"
bad 405 "/healthz" -X PUT --data-binary @/dev/null
expect_eq "$(ra_get /metrics -I)" 405 "HEAD /metrics"
bad 400 "/healthz" -X GET -d 'body'
bad 414 "/v1/attestation?nonce=$(hex 3000)"
bad 414 "/$(head -c 8000 /dev/zero | tr '\0' a)"
bad 431 "/healthz" -H "X-Big: $(head -c 20000 /dev/zero | tr '\0' a)"
bad 431 "/healthz" --http1.1 -H "X-Big: $(head -c 20000 /dev/zero | tr '\0' a)"

# beyond h2o's own request-head limit (about 400 KiB): h2o answers or
# closes; either way the server keeps serving
{ printf 'X-Huge: '; head -c 500000 /dev/zero | tr '\0' a; echo; } >"$T/huge"
for proto in --http1.1 --http2; do
	curl -sS -k "$proto" -o /dev/null -H @"$T/huge" "$URL/healthz" \
		2>/dev/null
	expect_eq "$(ra_get /healthz)" 200 "serving after a 500 KB header $proto"
done
# a body over the entity cap
head -c 100000 /dev/zero >"$T/body100k"
curl -sS -k -o /dev/null -X POST --data-binary @"$T/body100k" \
	"$URL/v1/attestation" 2>/dev/null
expect_eq "$(ra_get /healthz)" 200 "serving after a 100 KB body"

# not TLS at all, garbage, an early close, a half handshake
host=${URL#https://}
exec 5<>"/dev/tcp/${host%:*}/${host#*:}"
(trap '' PIPE; printf 'GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n' >&5) 2>/dev/null
timeout 5 cat <&5 >/dev/null
exec 5>&-
head -c 4096 /dev/urandom >"$T/garbage"
exec 5<>"/dev/tcp/${host%:*}/${host#*:}"
(trap '' PIPE; cat "$T/garbage" >&5) 2>/dev/null
timeout 5 cat <&5 >/dev/null 2>&1
exec 5>&-
printf '\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03' |
	timeout 5 openssl s_client -connect "$host" </dev/null >/dev/null 2>&1
expect_eq "$(ra_get /healthz)" 200 "serving after garbage"

# peers that reset their connection (closed with unread data, as wrk and
# killed clients do), in HTTP/1.1, h2 and before any request: the server
# closes every one within seconds (libh2o 2.2 alone keeps them for good)
python3 - "${URL#https://}" <<'EOF' || fail "reset clients"
import socket, ssl, struct, sys, time
host, port = sys.argv[1].rsplit(':', 1)
for alpn in (['http/1.1'], ['h2'], None):
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    if alpn:
        ctx.set_alpn_protocols(alpn)
    for i in range(4):
        t = ctx.wrap_socket(socket.create_connection((host, int(port))))
        if alpn == ['http/1.1'] or (alpn is None and i % 2):
            t.send(b'GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n')
        time.sleep(0.02)
        t.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack('ii', 1, 0))
        t.close()
EOF
# connections_are N: /metrics says N open (the asking curl's own is one)
connections_are() {
	ra_get /metrics >/dev/null && grep -q "^cella_ra_connections $1\$" "$T/body"
}
try_for 10 connections_are 1 ||
	fail "reset connections still open: $(grep '^cella_ra_connections' "$T/body")"

# /metrics: every line a comment or `name{labels} value`
expect_eq "$(ra_get /metrics -D "$T/headers")" 200 "/metrics"
grep -qi '^content-type: text/plain; version=0.0.4' "$T/headers" ||
	fail "/metrics content type"
awk '
	/^# (HELP|TYPE) / { if ($2 == "TYPE") typed[$3] = $4; next }
	/^#/ { print "stray comment: " $0; bad = 1; next }
	{
		if ($0 !~ /^[a-zA-Z_:][a-zA-Z0-9_:]*(\{([a-zA-Z_][a-zA-Z0-9_]*="[^"]*",?)*\})? [-+]?([0-9.]+([eE][-+]?[0-9]+)?|\+Inf|NaN)$/) {
			print "not a sample: " $0; bad = 1; next
		}
		name = $1; sub(/\{.*/, "", name)
		base = name; sub(/_(bucket|sum|count)$/, "", base)
		if (!(name in typed) && !(base in typed)) {
			print "untyped sample: " $0; bad = 1
		}
	}
	END { exit bad }' "$T/body" || fail "/metrics is not Prometheus text"
grep -q '^cella_ra_http_requests_total{path="/v1/attestation",status="400"} [1-9]' \
	"$T/body" || fail "400s on /v1/attestation not counted"
grep -q '^cella_ra_http_requests_total{path="other",status="404"} [1-9]' \
	"$T/body" || fail "404s not counted under path=other"
grep -q 'path="/etc' "$T/body" && fail "a client path became a label"
grep -q '^cella_ra_errors_total{kind="too_large"} [1-9]' "$T/body" ||
	fail "too_large errors not counted"
grep -q '^cella_ra_attestation_seconds_count ' "$T/body" ||
	fail "no attestation latency histogram"
stop ra

# the connection cap: idle connections held open; one more is closed at
# once; when they go, the server serves again
cat >"$T/cap.yaml" <<EOF
attestation:
  https:
    max_connections: 3
EOF
ra_start rc --config "$T/cap.yaml"
host=${URL#https://}
for fd in 5 6 7; do
	eval "exec $fd<>/dev/tcp/${host%:*}/${host#*:}"
done
# one more connection is refused at once (each try is one more)
refused_once() {
	grep -q 'evt=connection_refused' "$T/rc.log" && return 0
	curl -sS -k -o /dev/null --max-time 2 "$URL/healthz"
	return 1
}
try_for 10 refused_once
expect_contains "$T/rc.log" "evt=connection_refused"
exec 5>&- 6>&- 7>&-
healthy() { [ "$(ra_get /healthz)" = 200 ]; }
try_for 5 healthy || fail "not serving after the idle connections closed"
stop rc
echo "ra_web_bad: ok"
