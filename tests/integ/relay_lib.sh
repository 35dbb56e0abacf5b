# relay_lib.sh: shared set-up for the relay tests: an emulated vsock
# directory (this side is CID 16) and the binaries.
. "$CELLA_SOURCE_ROOT/tests/integ/lib.sh"

export CELLA_VSOCK_DIR=$T/vsock CELLA_VSOCK_CID=16
mkdir -p "$CELLA_VSOCK_DIR"
PFP=$B/services/pf-proxy/cella-pf-proxy
ST=$B/tests/tools/streamtool
NT=$B/tests/tools/nngtool

# A free TCP port on 127.0.0.1 (the kernel picks it; we release it at once).
free_port() {
	local p
	for p in $(shuf -i 20000-60000 -n 50); do
		if ! (echo >"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
			echo "$p"
			return 0
		fi
	done
	fail "no free port"
}

# Resident set size of a process in KiB.
rss_kib() {
	awk '/^VmRSS:/ {print $2}' "/proc/$1/status"
}
