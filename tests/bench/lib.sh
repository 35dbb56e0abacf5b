# tests/bench/lib.sh: what the benchmarks share (POSIX sh: scripts/bench
# runs them with sh). Source it as "$ROOT/tests/bench/lib.sh".
#
#   wait_for SECONDS CMD...  run CMD (output discarded) every 50 ms until it
#                            succeeds; exit 1 naming CMD when it has not
#                            within SECONDS. The one bounded wait: a
#                            benchmark never sleeps to let something happen.
wait_for() {
	_end=$(( $(date +%s) + $1 ))
	shift
	while ! "$@" >/dev/null 2>&1; do
		if [ "$(date +%s)" -ge "$_end" ]; then
			echo "bench: timed out waiting for: $*" >&2
			exit 1
		fi
		sleep 0.05
	done
}
