# ra_web_rpc: cella-ra-web's internal nng API through ratool: documents
# carry exactly the fields asked for and verify; DescribePCR reports the
# measurements; ExtendPCR computes SHA-384(old || data); a locked PCR
# refuses extension (EROFS) and appears in later documents; GetRandom
# gives fresh bytes of the length asked; malformed bodies, out-of-range
# indexes and foreign message types get the documented errors, and many
# concurrent requests all succeed.
. "$CELLA_SOURCE_ROOT/tests/integ/ra_lib.sh"

ra_start ra
rt() { "$RATOOL" "$RA_SOCK" "$@"; }
rt_err() { # ERRNAME ARGS...: the request fails with ERRNAME
	local want=$1
	shift
	expect_exit 1 "$RATOOL" "$RA_SOCK" "$@"
	expect_contains "$T/last.err" "error: $want:"
}

rt describe >"$T/desc" || fail "describe"
expect_contains "$T/desc" "module_id=ra-test-enc"
expect_contains "$T/desc" "max_pcrs=32 locked=0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15 provider=sim"

# documents: the fields asked for, verbatim; absent ones null
rt attest --nonce 0a0b --user-data cafe --public-key beef --out "$T/d1.cbor" \
	>/dev/null || fail "attest"
verify_doc "$T/d1.cbor" 0a0b
expect_eq "$(json "$T/verified" 'j["user_data"]')" cafe "user_data"
expect_eq "$(json "$T/verified" 'j["public_key"]')" beef "public_key"
rt attest --out "$T/d2.cbor" >/dev/null || fail "attest without fields"
"$CELLA" verify --root "$T/ca/root.pem" --json --pcr "0=$PCR0" \
	"$T/d2.cbor" >"$T/verified" || fail "bare document refused"
expect_eq "$(json "$T/verified" 'j["nonce"], j["user_data"], j["public_key"]')" \
	"(None, None, None)" "absent fields"

# PCRs
expect_eq "$(rt describe-pcr 0)" "index=0 locked=1 value=$PCR0" "PCR0"
zero=$(head -c 48 /dev/zero | od -An -v -tx1 | tr -d ' \n')
expect_eq "$(rt describe-pcr 16)" "index=16 locked=0 value=$zero" "PCR16"
want=$(python3 -c 'import hashlib, sys; print(hashlib.sha384(bytes(48) + bytes.fromhex(sys.argv[1])).hexdigest())' 00ff00ff)
expect_eq "$(rt extend 16 00ff00ff)" "index=16 locked=0 value=$want" "extend"
expect_eq "$(rt describe-pcr 16)" "index=16 locked=0 value=$want" "after extend"
expect_eq "$(rt lock 16)" ok "lock 16"
rt_err EROFS extend 16 00
expect_eq "$(rt describe-pcr 16)" "index=16 locked=1 value=$want" "locked"
rt_err EROFS extend 3 00 # boot PCRs are locked
expect_eq "$(rt lock-range 20)" ok "lock-range 20"
rt_err EROFS extend 19 00
expect_eq "$(rt extend 20 00 | cut -d' ' -f1-2)" "index=20 locked=0" \
	"PCR20 still open"
rt describe >"$T/desc"
expect_contains "$T/desc" "locked=0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19 "
# a locked PCR is in every later document
rt attest --nonce 01 --out "$T/d3.cbor" >/dev/null || fail "attest"
verify_doc "$T/d3.cbor" 01
expect_eq "$(json "$T/verified" 'j["pcrs"]["16"]')" "$want" "PCR16 in a document"

# entropy
r1=$(rt random 32) && r2=$(rt random 32) || fail "random"
[ "${#r1}" = $((7 + 64)) ] || fail "random 32 gave '$r1'"
[ "$r1" != "$r2" ] || fail "two random draws are equal"
r=$(rt random 4096) || fail "random 4096"
[ "${#r}" = $((7 + 8192)) ] || fail "random 4096 gave ${#r} characters"

# refusals
rt_err EBADMSG random 0
rt_err EBADMSG random 4097
rt_err ERANGE describe-pcr 32
rt_err EBADMSG describe-pcr 70000
rt_err EBADMSG lock-range 33
rt_err EBADMSG extend 21 "$(head -c 1025 /dev/zero | od -An -v -tx1 | tr -d ' \n')"
rt_err EBADMSG attest --nonce "$(head -c 1025 /dev/zero | od -An -v -tx1 | tr -d ' \n')" \
	--out "$T/x.cbor"
# {"nonce": "text"}, {"index": -1}, {} for DescribePCR, a foreign request
rt_err EBADMSG raw 0x0200 a1656e6f6e63656474657874
rt_err EBADMSG raw 0x0202 a165696e64657820
rt_err EBADMSG raw 0x0202 a0
rt_err ENOMSG raw 0x0100 a0
expect_contains "$T/last.err" "not a request cella-ra-web serves"

# concurrency: 64 clients at once, all answered
pids=()
for i in $(seq 64); do
	rt attest --nonce "$(printf '%04x' "$i")" --out "$T/c$i.cbor" \
		>/dev/null 2>"$T/c$i.err" &
	pids+=($!)
done
wait "${pids[@]}"
for i in $(seq 64); do
	[ -s "$T/c$i.cbor" ] || { cat "$T/c$i.err" >&2; fail "request $i failed"; }
done
verify_doc "$T/c64.cbor" 0040

# the metrics saw them
expect_eq "$(ra_get /metrics)" 200 "/metrics"
grep -q '^cella_ra_rpc_requests_total{result="ok"} [1-9]' "$T/body" ||
	fail "rpc requests not counted"
grep -q '^cella_ra_rpc_requests_total{result="error"} [1-9]' "$T/body" ||
	fail "rpc errors not counted"
stop ra
echo "ra_web_rpc: ok"
