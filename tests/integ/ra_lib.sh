# ra_lib.sh: shared set-up for cella-ra-web's integration tests (bash).
# Source it instead of lib.sh. It makes a simulation CA in $T/ca and an
# enclave CA in $T/enc (cella sim-ca), and a measurements file with
# non-zero PCR0..2 (so documents are not debug-mode) in $T/meas.json.
#
#   ra_start NAME [FLAGS...]  start cella-ra-web with the sim provider on
#                             127.0.0.1:0 and $T/NAME.sock, wait for its
#                             ready line; $URL is https://127.0.0.1:PORT,
#                             $RA_SOCK the internal API's URL
#   ra_get PATH [CURL ARGS]   GET $URL/PATH (TLS not checked: the tests
#                             check the certificate through documents);
#                             body in $T/body, prints the status code
#   verify_doc FILE NONCE     cella verify against the sim root with the
#                             measured PCRs; the JSON result in $T/verified
#   json FILE EXPR            a python expression over the JSON in FILE
#                             (bound to j), printed
#   expect_json_error STATUS  $T/body is {"error", "status": STATUS, ...}
. "$CELLA_SOURCE_ROOT/tests/integ/lib.sh"

RA=$B/services/ra-web/cella-ra-web
CELLA=$B/services/cella/cella
RATOOL=$B/tests/tools/ratool
command -v curl >/dev/null || skip "curl is needed"
command -v python3 >/dev/null || skip "python3 is needed to read JSON"

"$CELLA" sim-ca init --dir "$T/ca" >/dev/null 2>&1 || fail "sim-ca init"
"$CELLA" sim-ca issue --dir "$T/ca" --out "$T/enc" --name ra-test \
	>/dev/null 2>&1 || fail "sim-ca issue"
PCR0=$(printf 'image' | sha384sum | cut -c1-96)
PCR1=$(printf 'kernel' | sha384sum | cut -c1-96)
PCR2=$(printf 'app' | sha384sum | cut -c1-96)
cat >"$T/meas.json" <<EOF
{"pcrs": {"0": "$PCR0", "1": "$PCR1", "2": "$PCR2"}}
EOF

ra_start() {
	local name=$1
	shift
	start "$name" "$RA" --provider sim --sim-ca "$T/enc" \
		--measurements "$T/meas.json" --listen tcp://127.0.0.1:0 \
		--ra-socket "ipc://$T/$name.sock" "$@"
	RA_SOCK="ipc://$T/$name.sock"
	URL=$(sed -n 's/.*evt=ready https=tcp:\/\/\([0-9.]*:[0-9]*\) .*/https:\/\/\1/p' \
		"$T/$name.log" | tail -n 1)
	[ -n "$URL" ] || fail "no https= address in $T/$name.log"
}

ra_get() {
	local path=$1
	shift
	curl -sS -k -o "$T/body" -w '%{http_code}' "$@" "$URL$path"
}

verify_doc() {
	"$CELLA" verify --root "$T/ca/root.pem" --nonce "$2" --json \
		--pcr "0=$PCR0" --pcr "1=$PCR1" --pcr "2=$PCR2" "$1" \
		>"$T/verified" 2>"$T/verify.err" || {
		cat "$T/verify.err" "$T/verified" >&2
		fail "cella verify refused $1"
	}
}

json() {
	python3 -c 'import json, sys; j = json.load(open(sys.argv[1])); print(eval(sys.argv[2]))' "$1" "$2"
}

expect_json_error() {
	[ "$(json "$T/body" 'j["status"]')" = "$1" ] || {
		cat "$T/body" >&2
		fail "error body without status $1"
	}
	[ -n "$(json "$T/body" 'j["error"] + j["message"]')" ] ||
		fail "error body without error/message"
}
