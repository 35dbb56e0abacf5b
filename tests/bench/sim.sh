#!/bin/sh
# sim: fresh attestation documents from the sim NSM provider per second
# against raw ES384 signatures per second, same run: burst (leaf pool
# full), sustained (pool drained) and without a pool.
set -eu
"$BUILD/tests/bench/sim_bench" --seconds "${SIM_BENCH_SECONDS:-3}"
