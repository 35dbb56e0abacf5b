#!/bin/sh
# verify: attestation documents verified per second (cached chain, fresh
# leaves, no cache) against raw ES384 verifies per second, same run.
set -eu
CELLA_SOURCE_ROOT="$ROOT" "$BUILD/tests/bench/verify_bench" "${VERIFY_BENCH_SECONDS:-2}"
