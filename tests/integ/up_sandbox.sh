#!/usr/bin/env bash
# What a dev enclave started by root must not reach (issue 10): another
# user's operator key and AWS credentials under /home, root's home, the
# shadow files (and their backups); and its project directory is
# read-only unless cella.yaml sets enclave.project_writable, which `cella
# config --keys` documents. Seen from inside, through cella exec.
. "$CELLA_SOURCE_ROOT/tests/integ/up_lib.sh"
up_probe_ns
[ "$(id -u)" -eq 0 ] || skip "needs root (a user to create, a root-started enclave)"
command -v useradd >/dev/null || skip "useradd is needed"

# A user of the host with secrets in its home.
VICTIM=cella-sbx-$$
useradd -m -d "/home/$VICTIM" -s /bin/false "$VICTIM" || fail "useradd"
sbx_cleanup() { userdel -r "$VICTIM" >/dev/null 2>&1; rm -rf "/home/$VICTIM"; }
trap 'rc=$?; sbx_cleanup; up_cleanup; (exit $rc); lib_cleanup' EXIT
VH=/home/$VICTIM
mkdir -p "$VH/.aws" "$VH/.config/cella"
echo "aws_secret_access_key = victim-secret" >"$VH/.aws/credentials"
echo "victim operator key" >"$VH/.config/cella/operator.pem"
chown -R "$VICTIM" "$VH"
chmod 600 "$VH/.aws/credentials" "$VH/.config/cella/operator.pem"

up_app sbx 16
expect_exit 0 in_app sbx cella up -d
APP=$T/sbx

ex() { cella --enclave sbx exec -- "$@"; }

# Reading them fails, and nothing of them comes out.
for f in "$VH/.aws/credentials" "$VH/.config/cella/operator.pem" \
	/etc/shadow /etc/gshadow /etc/shadow- /etc/gshadow-; do
	[ -e "$f" ] || continue
	expect_exit 1 ex cat "$f"
	[ ! -s "$T/last.out" ] || fail "$f was read in the enclave: $(cat "$T/last.out")"
done
# The homes are empty, and stay so.
expect_exit 0 ex sh -c 'ls -A /home | wc -l; ls -A /root | wc -l'
expect_eq "$(tr '\n' ' ' <"$T/last.out")" "0 0 " "entries of /home and /root in the enclave"
[ -n "$(ls -A /root)" ] || fail "the host's /root is empty: nothing was tested"
expect_exit 1 ex touch /home/planted
expect_contains "$T/last.err" "Read-only file system"
# The project directory is there, read-only.
expect_exit 0 ex cat "$APP/cella.yaml"
expect_contains "$T/last.out" "name: sbx"
expect_exit 1 ex touch "$APP/planted"
expect_contains "$T/last.err" "Read-only file system"
[ ! -e "$APP/planted" ] || fail "the enclave wrote the project directory"
up_down sbx

# With the opt-in key, services may write it (and the secrets stay hidden).
sed -i 's/^  cid: 16$/  cid: 16\n  project_writable: true/' "$APP/cella.yaml"
grep -q "project_writable: true" "$APP/cella.yaml" || fail "the key was not added"
expect_exit 0 in_app sbx cella up -d
expect_exit 0 ex sh -c "echo from-enclave >$APP/written"
expect_eq "$(cat "$APP/written")" "from-enclave" "a file the enclave wrote"
expect_exit 1 ex cat "$VH/.aws/credentials"
up_down sbx

expect_exit 0 cella config --keys
expect_contains "$T/last.out" "project_writable"
expect_contains "$T/last.out" "services may write the project directory"
echo "ok"
