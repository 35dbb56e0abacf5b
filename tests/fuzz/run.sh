#!/bin/sh
# run.sh: one libFuzzer target, briefly, as the test 'fuzz/NAME' of the
# fuzzing build (-Dfuzzing=true, what scripts/fuzz builds). It replays the
# corpus, then mutates for a fixed number of runs with a fixed seed, so a
# given binary and corpus always run the same inputs. What it finds goes to
# a scratch directory in the build tree, never into tests/fuzz/corpus; a
# crash fails the test and leaves its input there as crash-*.
#
#   run.sh FUZZER NAME RUNS SEEDS...
#
# The ordinary builds replay the corpus with replay.c instead (no clang
# needed); this one proves that the libFuzzer build works and keeps working.
set -eu
[ $# -ge 4 ] || { echo "usage: run.sh FUZZER NAME RUNS SEEDS..." >&2; exit 64; }
fuzzer=$1 name=$2 runs=$3
shift 3
scratch=${CELLA_BUILD_ROOT:?run through meson test}/fuzz-scratch/$name
rm -rf "$scratch"
mkdir -p "$scratch/new"
# -timeout: one input may take 10 s (a hang is a failure, not a wait);
# -max_total_time: a backstop should a slow machine make RUNS take long.
# libFuzzer's own exit code for a crash is 77, which meson counts as a
# skip: every finding must exit 1.
exec "$fuzzer" -seed=1 -runs="$runs" -timeout=10 -max_total_time=60 \
	-rss_limit_mb=1024 -error_exitcode=1 -timeout_exitcode=1 \
	-print_final_stats=1 \
	-artifact_prefix="$scratch/" "$scratch/new" "$@"
