#!/bin/bash
# pipeline_cp_atomic: a directory copied out of the enclave appears whole or
# not at all. A tree whose good files come first and whose escaping symlink
# comes later is refused with a clear message and leaves nothing on the
# host: not the tree, not an empty directory, not a staging directory;
# neither under a new name, nor into an existing directory (whose own files
# stay as they were), however wide the tree. A copy stopped by SIGINT or
# SIGTERM half-way removes what it staged. A good tree merges into an existing directory, and a
# directory in the way of a file is refused before anything moves.
. "$CELLA_SOURCE_ROOT/tests/integ/lib.sh"
. "$CELLA_SOURCE_ROOT/tests/integ/pipeline_lib.sh"

H=$SHM/host
mkdir -p "$H"
pipe_config 'enclave: {debug: true}'
pipe_start

# Nothing but what the test put there: no tree, no .cella-* leftovers.
expect_listing() { # dir, expected `ls -A` output (one line per name)
	expect_eq "$(ls -A "$1" | tr '\n' ' ')" "$2" "what is in $1"
}

# --- the real pipeline: many good files, then a symlink out of the tree ---
mkdir -p "$R/tree/sub"
for i in $(seq -w 1 40); do echo "file $i" >"$R/tree/f$i"; done
for i in $(seq -w 1 10); do echo "deep $i" >"$R/tree/sub/g$i"; done
ln -s ../../../.. "$R/tree/sub/zz-escape"

expect_exit 1 cella cp -q ":$R/tree" "$H/"
expect_contains "$T/last.err" "refused"
expect_contains "$T/last.err" "zz-escape"
expect_listing "$H" ""
expect_exit 1 cella cp -q ":$R/tree" "$H/newname"
expect_contains "$T/last.err" "refused"
expect_listing "$H" ""
mkdir -p "$H/existing/tree"
echo mine >"$H/existing/tree/keep"
expect_exit 1 cella cp -q ":$R/tree" "$H/existing/"
expect_contains "$T/last.err" "refused"
expect_listing "$H/existing" "tree "
expect_listing "$H/existing/tree" "keep "
expect_eq "$(cat "$H/existing/tree/keep")" "mine" "a file already there"

# A wide tree, all of it staged, refused only when it is to be merged (a
# directory in the way of one file): the whole staging tree goes.
mkdir -p "$R/wide" "$H/existing/wide/d0550/f"
(cd "$R/wide" && for i in $(seq -w 1 1100); do mkdir "d$i" && echo "$i" >"d$i/f"; done)
expect_exit 73 cella cp -q ":$R/wide" "$H/existing/"
expect_contains "$T/last.err" "wide/d0550/f: a directory is in the way of a regular file"
expect_listing "$H/existing" "tree wide "
expect_listing "$H/existing/wide" "d0550 "
rm -r "$H/existing/wide"

# --- a hostile enclave: the good entries do arrive before the refusal ---
start fake_late "$B/tests/tools/pipefake" "ipc://$T/fake-late.sock" late
CELLA_PIPELINE=ipc://$T/fake-late.sock expect_exit 1 cella cp -q ":/x" "$H/"
expect_contains "$T/last.err" "refused"
expect_listing "$H" "existing "
stop fake_late

# --- stopped half-way: SIGINT and SIGTERM remove what was staged ---
start fake_stall "$B/tests/tools/pipefake" "ipc://$T/fake-stall.sock" stall
for sig in INT TERM; do
	CELLA_PIPELINE=ipc://$T/fake-stall.sock "$CELLA" cp -q ":/x" "$H/" \
		2>"$T/stall.err" &
	cli=$!
	# d/ok1 arrived; d/stall never will: the copy is half-done.
	try_for 10 compgen -G "$H/.cella-cp-*/d/ok1" ||
		fail "the staged file never appeared (SIG$sig)"
	rc=0
	kill -"$sig" $cli
	wait $cli || rc=$?
	want=130
	[ "$sig" = TERM ] && want=143
	expect_eq "$rc" "$want" "exit status after SIG$sig"
	expect_contains "$T/stall.err" "the partial copy was removed"
	expect_listing "$H" "existing "
done
stop fake_stall

# --- a good tree merges into an existing directory ---
rm "$R/tree/sub/zz-escape"
echo old >"$H/existing/tree/f01"
expect_exit 0 cella cp -q ":$R/tree" "$H/existing"
expect_eq "$(cat "$H/existing/tree/f01")" "file 01" "a file replaced by the copy"
expect_eq "$(cat "$H/existing/tree/keep")" "mine" "a file the copy did not name"
diff -r "$R/tree/sub" "$H/existing/tree/sub" ||
	fail "the merged subdirectory differs"
expect_listing "$H/existing" "tree "
expect_exit 0 cella cp -q ":$R/tree" "$H/whole"
diff -r "$R/tree" "$H/whole" || fail "the copied tree differs"
expect_listing "$H" "existing whole "

# --- a directory in the way of a file: refused before anything moves ---
mkdir -p "$H/blocked/tree/f02"
expect_exit 73 cella cp -q ":$R/tree" "$H/blocked/"
expect_contains "$T/last.err" "tree/f02: a directory is in the way of a regular file"
expect_listing "$H/blocked" "tree "
expect_listing "$H/blocked/tree" "f02 "
expect_listing "$H/blocked/tree/f02" ""
# ... and a file where the tree would go, before a byte moves.
echo x >"$H/afile"
expect_exit 73 cella cp -q ":$R/tree" "$H/afile"
expect_contains "$T/last.err" "afile exists and is not a directory"
expect_listing "$H" "afile blocked existing whole "
stop pipeline
