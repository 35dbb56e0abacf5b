#!/bin/sh
# init: cella-init's restart latency (kill -9 -> the new instance ready,
# 0 ms backoff) against a plain fork+exec of the same binary, and the boot
# of 10 trivial services to all ready against 10 plain fork+execs; medians
# of INIT_BENCH_ROUNDS (default 30) in the same run.
set -eu
"$BUILD/tests/bench/init_bench" "$BUILD" "${INIT_BENCH_ROUNDS:-30}"
