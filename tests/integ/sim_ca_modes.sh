#!/bin/bash
# sim_ca_modes: `cella sim-ca` keeps the CA's keys only in a directory no
# one else controls, like ssh's StrictModes. A --dir owned by another user
# (created here, removed at exit), one that is world-writable (0777), one
# below a directory others can write to (not sticky), and an --out owned
# by another user are refused with the reason (exit 77) and nothing is
# written in them; a directory below a sticky one (like /tmp) is fine.
. "$CELLA_SOURCE_ROOT/tests/integ/lib.sh"

CELLA=$B/services/cella/cella
[ "$(id -u)" -eq 0 ] || skip "needs root to create a user"
command -v useradd >/dev/null || skip "no useradd"
U=sim_ca_modes_$$
useradd --no-create-home --shell /usr/sbin/nologin "$U" ||
	fail "useradd $U"
# userdel's status must not hide the test's own.
trap 'rc=$?; userdel "$U" 2>/dev/null; (exit $rc); lib_cleanup' EXIT
empty() { [ -z "$(ls -A "$1")" ] || fail "$1 is not empty: $(ls -A "$1")"; }

# Another user's directory.
mkdir -m 700 "$T/theirs"
chown "$U" "$T/theirs"
expect_exit 77 "$CELLA" sim-ca init --dir "$T/theirs"
expect_contains "$T/last.err" "refusing $T/theirs: it belongs to $U"
empty "$T/theirs"

# A directory anyone can write to.
mkdir -m 777 "$T/open"
chmod 777 "$T/open"
expect_exit 77 "$CELLA" sim-ca init --dir "$T/open"
expect_contains "$T/last.err" "refusing $T/open: others can write to it (mode 0777)"
empty "$T/open"

# Our own directory below one others can write to: they could swap it.
mkdir -m 777 "$T/pub"
chmod 777 "$T/pub"
expect_exit 77 "$CELLA" sim-ca init --dir "$T/pub/ca"
expect_contains "$T/last.err" "refusing $T/pub: others can write to it"
[ ! -e "$T/pub/ca/root.key" ] || fail "a key was written below $T/pub"
rm -rf "$T/pub/ca"
# ... unless it is sticky, as /tmp is.
chmod 1777 "$T/pub"
expect_exit 0 "$CELLA" sim-ca init --dir "$T/pub/ca"

# issue: the CA directory and the enclave's directory alike.
expect_exit 0 "$CELLA" sim-ca init --dir "$T/ca"
mkdir -m 700 "$T/enc-theirs"
chown "$U" "$T/enc-theirs"
expect_exit 77 "$CELLA" sim-ca issue --dir "$T/ca" --out "$T/enc-theirs"
expect_contains "$T/last.err" "refusing $T/enc-theirs: it belongs to $U"
empty "$T/enc-theirs"
chown "$U" "$T/ca"
expect_exit 77 "$CELLA" sim-ca issue --dir "$T/ca" --out "$T/enc"
expect_contains "$T/last.err" "refusing $T/ca: it belongs to $U"
[ ! -e "$T/enc" ] || fail "issue wrote with a CA directory another user owns"
chown root "$T/ca"
expect_exit 0 "$CELLA" sim-ca issue --dir "$T/ca" --out "$T/enc"
