#!/bin/bash
# cella cp against a real cella-pipeline (local URL): a 1 GiB file in and
# out with equal hashes, mode and mtime; a client killed mid-transfer (both
# ways) leaves no visible partial file; a tree of 10,000 files in and out
# with the manifest hash; traversal refused on the enclave side (.., other
# roots, symlinks out, 8 KiB paths) and on the host side (a hostile
# enclave, tests/tools/pipefake), nothing written; the size cap; the event
# log names every received file. Sizes: PIPE_TEST_BIG_MB, PIPE_TEST_FILES
# (smaller by default in a sanitizer build).
. "$CELLA_SOURCE_ROOT/tests/integ/lib.sh"
. "$CELLA_SOURCE_ROOT/tests/integ/pipeline_lib.sh"

if [ "$SAN" = 1 ]; then BIG_MB=256 NFILES=2000; else BIG_MB=1024 NFILES=10000; fi
BIG_MB=${PIPE_TEST_BIG_MB:-$BIG_MB}
NFILES=${PIPE_TEST_FILES:-$NFILES}
H=$SHM/host
mkdir -p "$H"
pipe_config 'enclave: {debug: true}'
pipe_start

json() { python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))[sys.argv[2]])' "$T/last.out" "$1"; }
same_meta() {
	expect_eq "$(stat -c '%a %y %s' "$1")" "$(stat -c '%a %y %s' "$2")" "mode, mtime and size of $2"
}
tmp_names() { ls -A "$@" | grep -c '^\.cella-' ; }

# --- one large file, in and out ---
truncate -s "${BIG_MB}M" "$H/big"
for mib in 0 1 17 $((BIG_MB / 2)) $((BIG_MB - 1)); do
	dd if=/dev/urandom of="$H/big" bs=1M seek="$mib" count=1 conv=notrunc status=none
done
chmod 640 "$H/big"
touch -d '2001-02-03 04:05:06.123456789' "$H/big"
want=$(sha256sum <"$H/big" | cut -d' ' -f1)
expect_exit 0 cella cp -q --json "$H/big" ":$R/"
expect_eq "$(json sha256)" "$want" "sha256 in the summary"
expect_eq "$(json bytes)" "$((BIG_MB << 20))" "bytes in the summary"
expect_eq "$(sha256sum <"$R/big" | cut -d' ' -f1)" "$want" "sha256 in the enclave"
same_meta "$H/big" "$R/big"
expect_exit 0 cella cp -q --json ":$R/big" "$H/out.bin"
expect_eq "$(json sha256)" "$want" "sha256 of the file coming out"
expect_eq "$(sha256sum <"$H/out.bin" | cut -d' ' -f1)" "$want" "sha256 out"
same_meta "$H/big" "$H/out.bin"
rm -f "$H/out.bin"
events_of file | grep -q "\"path\": \"$R/big\", \"sha256\": \"$want\"" ||
	fail "no file event for $R/big with its sha256"

# --- the client dies mid-transfer: nothing visible, either way ---
has_tmpfile() { ls -l "/proc/$1/fd" 2>/dev/null | grep -q '(deleted)'; }
"$CELLA" cp -q "$H/big" ":$R/partial" & cli=$!
wait_for 5 has_tmpfile "$PID_pipeline"
kill -KILL $cli; wait $cli 2>/dev/null
wait_contains "$T/pipeline.log" "evt=transfer_dropped"
[ ! -e "$R/partial" ] || fail "a partial file is visible in the enclave"
expect_eq "$(tmp_names "$R")" 0 "temporary names left in the enclave"
"$CELLA" cp -q ":$R/big" "$H/partial" & cli=$!
wait_for 5 has_tmpfile $cli
kill -KILL $cli; wait $cli 2>/dev/null
[ ! -e "$H/partial" ] || fail "a partial file is visible on the host"
expect_eq "$(tmp_names "$H")" 0 "temporary names left on the host"
rm -f "$R/big"

# --- a tree of $NFILES files, in and out ---
python3 - "$H/tree" "$NFILES" <<'PYEOF'
import os, sys, random
root, n = sys.argv[1], int(sys.argv[2])
random.seed(7)
for i in range(n):
    d = os.path.join(root, "d%02d" % (i % 100), "s%d" % (i % 3))
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, "f%05d" % i), "wb") as f:
        f.write(os.urandom(random.randrange(0, 2000)))
os.makedirs(os.path.join(root, "empty", "deeper"))
os.symlink("d00/s0/f00000", os.path.join(root, "link"))
os.chmod(os.path.join(root, "d01"), 0o700)
os.utime(os.path.join(root, "d02"), (1000000000, 1000000000))
PYEOF
manifest=$(cd "$H/tree" && find . -type f | sed 's|^\./||' | LC_ALL=C sort |
	xargs -d '\n' sha256sum | sha256sum | cut -d' ' -f1)
expect_exit 0 cella cp -q --json "$H/tree" ":$R/"
expect_eq "$(json files)" "$NFILES" "files in"
expect_eq "$(json sha256)" "$manifest" "manifest hash in"
diff -r "$H/tree" "$R/tree" || fail "the tree differs in the enclave"
expect_eq "$(readlink "$R/tree/link")" "d00/s0/f00000" "symlink"
same_meta "$H/tree/d01" "$R/tree/d01"
same_meta "$H/tree/d02" "$R/tree/d02"
expect_exit 0 cella cp -q --json ":$R/tree" "$H/back"
expect_eq "$(json files)" "$NFILES" "files out"
expect_eq "$(json sha256)" "$manifest" "manifest hash out"
diff -r "$H/tree" "$H/back" || fail "the tree differs back on the host"
same_meta "$H/tree/d02" "$H/back/d02"
n=$(events_of file | grep -c "\"path\": \"$R/tree/")
expect_eq "$n" "$NFILES" "file events for the tree"

# --- an empty tree, in and out: no files, the manifest of nothing ---
empty=$(printf '' | sha256sum | cut -d' ' -f1)
mkdir "$H/empty"
expect_exit 0 cella cp -q --json "$H/empty" ":$R/"
expect_eq "$(json files)" 0 "files in an empty tree"
expect_eq "$(json sha256)" "$empty" "manifest hash of an empty tree in"
[ -d "$R/empty" ] || fail "the empty tree did not arrive"
expect_exit 0 cella cp -q --json ":$R/empty" "$H/empty-back"
expect_eq "$(json sha256)" "$empty" "manifest hash of an empty tree out"
[ -d "$H/empty-back" ] || fail "the empty tree did not come back"

# --- traversal, enclave side: refused, nothing written ---
echo small >"$H/small"
expect_exit 64 cella cp "$H/small" ":$R/../escape"
expect_contains "$T/last.err" "'..'"
expect_exit 77 cella cp "$H/small" ":/etc/cella-escape"
expect_contains "$T/last.err" "outside the allowed roots"
ln -s "$SHM" "$R/esc"
expect_exit 77 cella cp "$H/small" ":$R/esc/escape"
expect_contains "$T/last.err" "leads outside the allowed root"
expect_exit 77 cella cp ":$R/esc/host/small" "$H/got"
expect_contains "$T/last.err" "leads outside the allowed root"
mkdir -p "$H/bad"
ln -s ../../.. "$H/bad/up"
expect_exit 77 cella cp "$H/bad" ":$R/"
expect_contains "$T/last.err" "leads out"
long=$(head -c 8000 /dev/zero | tr '\0' a)
expect_exit 64 cella cp "$H/small" ":$R/$long"
expect_contains "$T/last.err" "over 4095"
expect_exit 64 cella cp "$H/small" ":$R/$(head -c 300 /dev/zero | tr '\0' b)"
[ ! -e "$SHM/escape" ] && [ ! -e "$H/got" ] && [ ! -e "$R/bad/up" ] ||
	fail "a refused copy wrote something"
rm "$R/esc"

# --- traversal, host side: a hostile enclave ---
for s in dotdot abs inner link abslink through nul; do
	dst=$SHM/dst-$s
	mkdir -p "$dst" "$SHM/outside"
	[ "$s" = through ] && mkdir -p "$dst/x" && ln -s "$SHM/outside" "$dst/x/pre"
	start "fake_$s" "$B/tests/tools/pipefake" "ipc://$T/fake-$s.sock" "$s"
	CELLA_PIPELINE=ipc://$T/fake-$s.sock expect_exit 1 cella cp -q ":/x" "$dst/"
	grep -qE "refused|leads outside" "$T/last.err" ||
		fail "$s: no refusal in: $(cat "$T/last.err")"
	stop "fake_$s"
	[ -z "$(find "$SHM" -name evil)" ] || fail "$s: the hostile enclave wrote $(find "$SHM" -name evil)"
	[ -z "$(ls -A "$SHM/outside")" ] || fail "$s: something landed outside"
done

# --- the size cap ---
pipe_config 'enclave: {debug: true}' '  max_file_bytes: 1000'
pipe_restart
head -c 2000 /dev/zero >"$H/2k"
expect_exit 1 cella cp "$H/2k" ":$R/2k"
expect_contains "$T/last.err" "over pipeline.max_file_bytes"
[ ! -e "$R/2k" ] || fail "a file over the cap was written"
stop pipeline
